"""Wallboard bench: bytes on the wire per wallboard update and per idle 304, and the
backend's CPU per update, with ~50 operators signed in and a busy queue.

A database is made and filled (reference data; 50 operators with presence, some on a call or
in after-call work, some away; ~40 calls and messages waiting; a day of answered and
abandoned calls; callbacks and appeals), `ekc-server run` serves it on loopback, and a lead's
client keeps the long poll (`GET /wallboard`, `If-None-Match`) while the bench changes the
database between polls (a call joins the queue, an operator takes one, goes away, ...).

Bytes are HTTP bytes (request line and headers, response status line, headers and the
gzip'd body as received); TCP/IP adds ~52 bytes per segment on top. CPU is the server
process's user + system time (from /proc) over the run divided by the updates: it includes
the once-a-second change checks of the waiting poll.

    .venv/bin/python bench/wallboard_bench.py [--updates 40] [--operators 50] [--port 8402]
    EKC_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/ekc_wall \\
        .venv/bin/python bench/wallboard_bench.py      # PostgreSQL (its public schema is reset)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_core.settings import default_reference_dir
from ekc_server import migrate
from ekc_server.db import create_db_engine
from ekc_server.models import ApiToken, Appeal, CallbackTask, Citizen, Contact, Staff, Topic
from ekc_server.models_performance import AgentPresence
from ekc_server.security import SESSION_PREFIX, new_token, token_digest
from ekc_server.services.reference import seed_reference

SURNAMES = ["Иванова", "Петров", "Сидорова", "Кузнецов", "Смирнова", "Попов", "Васильева"]
NAMES = ["Анна", "Сергей", "Елена", "Олег", "Мария", "Игорь", "Татьяна", "Павел"]


def fill(url: str, operators: int, seed: int) -> tuple[str, list[int]]:
    """The bench's database; returns a lead's token and the operators' ids."""
    rnd = random.Random(seed)
    engine = create_db_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        seed_reference(session=session, data_dir=default_reference_dir())
        lead = Staff(username="lead_bench", full_name="Старшая Смены Ивановна", role="shift_lead")
        session.add(lead)
        ids = []
        for i in range(operators):
            staff = Staff(
                username=f"op{i}",
                full_name=f"{rnd.choice(SURNAMES)} {rnd.choice(NAMES)} {rnd.choice(NAMES)}овна",
                role=Role.operator.value,
            )
            session.add(staff)
            session.flush()
            assert staff.id is not None
            ids.append(staff.id)
            state = "away" if i % 7 == 0 else "ready"
            session.add(
                AgentPresence(
                    staff_id=staff.id,
                    state=state,
                    reason="lunch" if state == "away" else None,
                    since=now - timedelta(seconds=rnd.randint(10, 3000)),
                    last_seen_at=now,
                )
            )
        session.flush()
        assert lead.id is not None
        token = new_token(SESSION_PREFIX)
        session.add(
            ApiToken(staff_id=lead.id, kind="session", name="bench", token_hash=token_digest(token))
        )
        # a day of calls (~600), some of the operators on a call or in after-call work now
        for _ in range(600):
            queued = now - timedelta(seconds=rnd.randint(60, 10 * 3600))
            wait = rnd.expovariate(1 / 15)
            abandoned = rnd.random() < 0.07
            session.add(
                Contact(
                    channel="phone",
                    line=rnd.choice(["122", "122", "117"]),
                    direction="in",
                    status="abandoned" if abandoned else "done",
                    abandoned=abandoned,
                    operator_id=None if abandoned else rnd.choice(ids),
                    queued_at=queued,
                    answered_at=None if abandoned else queued + timedelta(seconds=wait),
                    ended_at=queued + timedelta(seconds=wait + 180),
                    wrapup_ended_at=None if abandoned else queued + timedelta(seconds=wait + 240),
                )
            )
        for i, staff_id in enumerate(ids[: operators // 2]):
            status = "active" if i % 3 else "wrapup"
            queued = now - timedelta(seconds=rnd.randint(30, 400))
            session.add(
                Contact(
                    channel="phone",
                    line="122",
                    direction="in",
                    status=status,
                    operator_id=staff_id,
                    queued_at=queued,
                    answered_at=queued + timedelta(seconds=8),
                    ended_at=queued + timedelta(seconds=20) if status == "wrapup" else None,
                )
            )
        for _ in range(30):  # a busy queue: calls and written messages waiting
            channel = rnd.choice(["phone", "phone", "phone", "email", "web_chat", "social"])
            session.add(
                Contact(
                    channel=channel,
                    line=rnd.choice(["122", "117"]) if channel == "phone" else None,
                    direction="in",
                    status="queued",
                    queued_at=now - timedelta(seconds=rnd.randint(1, 900)),
                )
            )
        citizen = Citizen(last_name="Бенчева", first_name="Анна")
        session.add(citizen)
        session.flush()
        assert citizen.id is not None
        for _ in range(60):
            session.add(
                CallbackTask(
                    citizen_id=citizen.id,
                    phone="+79025550101",
                    reason="перезвонить",
                    due_at=now + timedelta(minutes=rnd.randint(-600, 1200)),
                )
            )
        topic = session.exec(select(Topic)).first()
        assert topic is not None and topic.id is not None
        for i in range(200):
            session.add(
                Appeal(
                    number=f"B-{i}",
                    citizen_id=citizen.id,
                    kind="appeal_59fz",
                    topic_id=topic.id,
                    summary="бенч",
                    status="registered",
                    answer_due=now + timedelta(hours=rnd.randint(-48, 24 * 30)),
                )
            )
        session.commit()
    engine.dispose()
    return token, ids


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wire_bytes(response: httpx.Response) -> tuple[int, int]:
    """(request, response) HTTP bytes as sent and received."""
    req = response.request
    up = len(f"{req.method} {req.url.raw_path.decode()} HTTP/1.1\r\n") + 2
    up += sum(len(k) + len(v) + 4 for k, v in req.headers.raw)
    down = len(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n") + 2
    down += sum(len(k) + len(v) + 4 for k, v in response.headers.raw)
    return up, down + response.num_bytes_downloaded


def change(url: str, ids: list[int], n: int, rnd: random.Random) -> str:
    """One thing happens in the centre (what the board must show)."""
    engine = create_db_engine(url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        kind = n % 3
        if kind == 0:
            session.add(
                Contact(channel="phone", line="122", direction="in", status="queued", queued_at=now)
            )
            what = "a call joins the queue"
        elif kind == 1:
            waiting = session.exec(
                select(Contact).where(Contact.status == "queued", Contact.channel == "phone")
            ).first()
            if waiting is not None:
                waiting.status, waiting.answered_at = "active", now
                waiting.operator_id = rnd.choice(ids)
                session.add(waiting)
            what = "an operator takes a call"
        else:
            row = session.get(AgentPresence, rnd.choice(ids))
            assert row is not None
            row.state = "away" if row.state == "ready" else "ready"
            row.reason = "break" if row.state == "away" else None
            row.since, row.version = now, row.version + 1
            session.add(row)
            what = "an operator goes away or comes back"
        session.commit()
    engine.dispose()
    return what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=40)
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--idle", type=int, default=4, help="idle polls (304) to measure")
    parser.add_argument("--idle-wait", type=float, default=25.0)
    parser.add_argument("--port", type=int, default=8402)
    parser.add_argument("--seed", type=int, default=122)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wallboard-bench-"))
    url = os.environ.get("EKC_BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'ekc.db'}"
    token, ids = fill(url, args.operators, args.seed)
    env = {**os.environ, "EKC_DATA_DIR": str(tmp), "EKC_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "ekc_server.cli", "run", "--port", str(args.port), "--no-upgrade"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}/api/v1"
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    rnd = random.Random(args.seed)
    try:
        with httpx.Client(headers=headers, timeout=60) as http:
            for _ in range(100):
                try:
                    http.get(f"http://127.0.0.1:{args.port}/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            first = http.get(f"{base}/wallboard", params={"wait": 0})
            raw = len(first.content)
            version = first.json()["version"]
            print(
                f"database: {url.split('://')[0]}; operators {args.operators}, "
                f"agents on the board {len(first.json()['agents'])}"
            )
            print(f"first board: {raw} B of JSON, {wire_bytes(first)[1]} B down with gzip")
            ups, downs, latencies = [], [], []
            cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
            for n in range(args.updates):
                change(url, ids, n, rnd)
                started = time.monotonic()
                r = http.get(
                    f"{base}/wallboard",
                    params={"wait": 10},
                    headers={"If-None-Match": f'"{version}"'},
                )
                latencies.append(time.monotonic() - started)
                if r.status_code == 200:
                    version = r.json()["version"]
                    up, down = wire_bytes(r)
                    ups.append(up)
                    downs.append(down)
            cpu = cpu_seconds(server.pid) - cpu0
            wall = time.monotonic() - wall0
            print(
                f"updates: {len(downs)} of {args.updates} answered 200; bytes per update: "
                f"up {statistics.median(ups):.0f}, down median {statistics.median(downs):.0f} "
                f"(max {max(downs)}); change → answer median "
                f"{statistics.median(latencies) * 1000:.0f} ms"
            )
            print(
                f"backend CPU per update: {cpu / max(1, len(downs)) * 1000:.1f} ms "
                f"({cpu:.2f} s over {wall:.1f} s, with the waiting poll's checks)"
            )
            idle_up, idle_down = [], []
            cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
            for _ in range(args.idle):
                r = http.get(
                    f"{base}/wallboard",
                    params={"wait": args.idle_wait},
                    headers={"If-None-Match": f'"{version}"'},
                )
                if r.status_code == 304:
                    up, down = wire_bytes(r)
                    idle_up.append(up)
                    idle_down.append(down)
                else:
                    version = r.json()["version"]  # the 30 s refresh found a change
            cpu = cpu_seconds(server.pid) - cpu0
            wall = time.monotonic() - wall0
            if idle_down:
                print(
                    f"idle: {len(idle_down)} of {args.idle} polls were 304 of "
                    f"{args.idle_wait:.0f} s: up {statistics.median(idle_up):.0f} B, down "
                    f"{statistics.median(idle_down):.0f} B each; backend CPU "
                    f"{cpu / wall * 60 * 1000:.0f} ms per idle minute"
                )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
