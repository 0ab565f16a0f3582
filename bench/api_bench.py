"""Backend numbers on the demo database: seed time, request latency, payload sizes.

Run: `make bench` (SQLite in a temp folder) or
`EKC_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/ekc_bench make bench`.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import gzip
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import text

from ekc_core.client import EkcClient, new_idempotency_key
from ekc_core.enums import AppealKind, Role
from ekc_core.schemas import AppealCreate
from ekc_core.settings import default_reference_dir
from ekc_server import migrate
from ekc_server.db import create_db_engine, session_scope
from ekc_server.demo import DEMO_PASSWORDS, seed_demo
from ekc_server.services.reference import seed_reference
from tests.localserver import running_server

ROUNDS = 200
LINK_KBIT = 128  # a satellite-class link of a remote MFC office
LINK_RTT = 0.6


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {statistics.median(ordered) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms"


def timed(fn: Callable[[], object], rounds: int = ROUNDS) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ekc-bench-"))
    url = os.environ.get("EKC_BENCH_DATABASE_URL") or f"sqlite:///{data_dir / 'ekc.db'}"
    engine = create_db_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    start = time.perf_counter()
    migrate.upgrade(url)
    migrated = time.perf_counter() - start
    start = time.perf_counter()
    with session_scope(engine) as session:
        seed_reference(session=session, data_dir=default_reference_dir())
        counts = seed_demo(session=session, data_dir=default_reference_dir())
    seeded = time.perf_counter() - start
    with engine.connect() as conn:
        busiest = conn.execute(
            text(
                "SELECT citizen_id, COUNT(*) FROM contact WHERE citizen_id IS NOT NULL "
                "GROUP BY citizen_id ORDER BY COUNT(*) DESC LIMIT 1"
            )
        ).one()
        phone = (
            conn.execute(
                text("SELECT e164 FROM citizen_phone WHERE citizen_id = :c ORDER BY position"),
                {"c": busiest[0]},
            )
            .scalars()
            .first()
        )
    engine.dispose()

    print(f"database: {engine.dialect.name}")
    print(f"migrate empty database            {migrated:6.2f} s")
    print(
        f"seed reference + demo             {seeded:6.2f} s  "
        f"({counts.citizens} citizens, {counts.contacts} contacts, {counts.appeals} appeals)"
    )

    with running_server(url, data_dir) as base, EkcClient(base) as client:
        start = time.perf_counter()
        client.login("operator1", DEMO_PASSWORDS[Role.operator])
        print(f"login (argon2id verify)           {(time.perf_counter() - start) * 1000:6.1f} ms")
        written = "8 " + phone[2:5] + " " + phone[5:]
        body = AppealCreate(
            citizen_id=busiest[0],
            kind=AppealKind.appeal_59fz,
            topic_code="housing.tko",
            summary="Не вывозят мусор",
        )
        cases: list[tuple[str, Callable[[], object], int]] = [
            (f"lookup by phone ({written})", lambda: client.find_citizens(phone=written), ROUNDS),
            ("lookup by name prefix", lambda: client.find_citizens(name="иван"), ROUNDS),
            (
                f"history, 30 items ({busiest[1]} contacts)",
                lambda: client.history(busiest[0]),
                ROUNDS,
            ),
            ("appeals overdue=true", lambda: client.appeals(overdue=True, limit=50), ROUNDS),
            ("topics with If-None-Match (304)", client.topics, ROUNDS),
            (
                "create appeal (idempotent)",
                lambda: client.create_appeal(body, idempotency_key=new_idempotency_key()),
                100,
            ),
        ]
        for label, fn, rounds in cases:
            print(f"{label:<34}{percentiles(timed(fn, rounds))}")

        headers = {"Authorization": f"Bearer {client.token}"}
        path = base + f"/api/v1/citizens/{busiest[0]}/history"
        raw = httpx.get(path, headers={**headers, "Accept-Encoding": "identity"}).content
        wire = httpx.get(path, headers={**headers, "Accept-Encoding": "gzip"})
        on_wire = int(wire.headers.get("content-length", len(raw)))
        transfer = LINK_RTT + on_wire * 8 / (LINK_KBIT * 1000)
        print(
            f"history payload                   {len(raw)} B raw, {on_wire} B gzip "
            f"(level-9 would be {len(gzip.compress(raw, compresslevel=9))} B)"
        )
        print(
            f"history over {LINK_KBIT} kbit/s, {LINK_RTT * 1000:.0f} ms RTT  "
            f"~{transfer:.2f} s (one round trip + transfer)"
        )


if __name__ == "__main__":
    main()
