"""Bytes, round trips and time per console step over an emulated satellite link.

The link is /work/shared/tools/satlink (two network namespaces joined by a userspace wire,
the kernels' own TCP on both ends): 64 kbit up, 256 kbit down, 600 ms RTT, 2 % loss. The
backend runs in `sat-srv` on a copy of a demo database; the console's headless core
(`ekc_tui.desk.Desk`, the same code the UI's workers call) runs in `sat-cli`. Before each
step the wire's counters are reset; after it they are read: IP bytes each way and
application round trips (how often data changed direction), as the wire counts them.

    flock /tmp/satlink.lock .venv/bin/python bench/satlink_bench.py --label after
    flock /tmp/satlink.lock .venv/bin/python bench/satlink_bench.py --code /work/main \\
        --label before      # the same steps against another tree's code (client + server)

Needs root (namespaces). One satlink can exist per machine: always run it under the flock
above (another user of the wire waits for the lock). Contacts and the admin's token are
made from the server's side of the wire, so they are not counted. The steps use only what
the headless core has had since before the link work, so one script measures both trees.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SATLINK = Path("/work/shared/tools/satlink")
SERVER_IP = "198.18.0.2"
IDLE_SECONDS = 60.0
#: how long an offline citizen open or a link-loss wait may take before the step gives up
STEP_LIMIT = 90.0


# --- the orchestrator (host side) ------------------------------------------------------


def _python(code: Path) -> str:
    venv = code / ".venv" / "bin" / "python"
    return str(venv if venv.exists() else ROOT / ".venv" / "bin" / "python")


def _seed(db: Path, code: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(code), "EKC_DATA_DIR": str(db.parent)}
    subprocess.run(
        [
            _python(code),
            "-m",
            "ekc_server.cli",
            "db",
            "seed",
            "--demo",
            "--citizens",
            "300",
            "--contacts",
            "3000",
            "--days",
            "30",
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def orchestrate(args: argparse.Namespace) -> None:
    code = Path(args.code).resolve()
    work = Path(tempfile.mkdtemp(prefix="link-satbench-"))
    pristine = Path(args.db) if args.db else work / "seed" / "ekc.db"
    if not pristine.exists():
        pristine.parent.mkdir(parents=True, exist_ok=True)
        _seed(pristine, code)
    data = work / "server"
    data.mkdir()
    shutil.copy(pristine, data / "ekc.db")
    sock = str(work / "satlink.sock")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        link = subprocess.Popen(
            [
                sys.executable,
                str(SATLINK / "satlink.py"),
                "run",
                "--up-kbit",
                "64",
                "--down-kbit",
                "256",
                "--rtt-ms",
                "600",
                "--loss",
                "2",
                "--qlimit-kb",
                "64",
                "--cc",
                "cubic",
                "--seed",
                str(args.seed),
                "--ctl",
                sock,
            ],
            stdout=subprocess.PIPE,
        )
        procs.append(link)
        assert link.stdout is not None
        link.stdout.readline()  # "satlink up: ..."
        env = {
            **os.environ,
            "PYTHONPATH": str(code),
            "EKC_DATA_DIR": str(data),
            "EKC_REFERENCE_DIR": str(code / "data"),
        }
        server = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                "sat-srv",
                _python(code),
                "-m",
                "ekc_server.cli",
                "run",
                "--host",
                SERVER_IP,
                "--port",
                str(args.port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "server.log").open("w"),
        )
        procs.append(server)
        client = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                "sat-cli",
                _python(code),
                __file__,
                "--client",
                "--server",
                f"http://{SERVER_IP}:{args.port}",
                "--ctl",
                sock,
                "--console",
                str(work / "console"),
                "--label",
                args.label,
            ],
            env={**os.environ, "PYTHONPATH": str(code)},
            capture_output=True,
            text=True,
            timeout=15 * 60,
        )
        sys.stderr.write(client.stderr[-3000:])
        result = json.loads(client.stdout.strip().splitlines()[-1])
        if args.out:
            Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1))
        print_table(result)
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['label']}: {result['code']}")
    print(f"{'step':<34} {'up B':>8} {'down B':>8} {'RTs':>5} {'time s':>7}  note")
    for row in result["steps"]:
        print(
            f"{row['step']:<34} {row['up']:>8} {row['down']:>8} {row['round_trips']:>5} "
            f"{row['seconds']:>7.1f}  {row.get('note', '')}"
        )


# --- the client (inside sat-cli) ---------------------------------------------------------


class Wire:
    def __init__(self, sock: str) -> None:
        sys.path.insert(0, str(SATLINK))
        import satlink  # type: ignore[import-not-found]

        self._ctl = satlink.ctl
        self.sock = sock

    def __call__(self, *words: str) -> dict[str, Any]:
        result: dict[str, Any] = self._ctl(self.sock, list(words))
        return result


def client(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(SATLINK))
    import httpx
    from netns import netns  # type: ignore[import-not-found]

    from ekc_tui.cards import Card
    from ekc_tui.desk import Desk
    from ekc_tui.settings import ConsoleSettings

    wire = Wire(args.ctl)
    steps: list[dict[str, Any]] = []
    console = Path(args.console)

    def settings() -> ConsoleSettings:
        return ConsoleSettings(
            server_url=args.server,
            console_dir=console / "store",
            config_dir=console / "config",
            workstation="bench",
        )

    def measure(name: str, fn: Any, note: Any = "") -> Any:
        wire("reset")
        started = time.monotonic()
        value = fn()
        seconds = time.monotonic() - started
        stats = wire("stats")
        row = {
            "step": name,
            "up": stats["up"]["bytes"],
            "down": stats["down"]["bytes"],
            "round_trips": stats["round_trips"],
            "seconds": round(seconds, 2),
            "note": note(value) if callable(note) else note,
        }
        steps.append(row)
        print(json.dumps(row, ensure_ascii=False), file=sys.stderr, flush=True)
        return value

    # the gateway's side: from inside sat-srv, so none of it crosses the wire
    def server_side(method: str, path: str, **kw: Any) -> Any:
        with netns("sat-srv"), httpx.Client(base_url=args.server + "/api/v1") as http:
            response = http.request(method, path, **kw)
            response.raise_for_status()
            return response.json()

    for _ in range(60):
        try:
            admin = server_side(
                "POST", "/auth/token", json={"username": "admin", "password": "admin122"}
            )["access_token"]
            break
        except (httpx.TransportError, httpx.HTTPStatusError):
            time.sleep(1)
    gw = {"Authorization": f"Bearer {admin}"}

    def post_contact(i: int) -> dict[str, Any]:
        body = {"channel": "email", "sender": f"bench{i}@example.org", "text": "Вопрос " + str(i)}
        if i % 2:
            body = {"channel": "phone", "line": "122", "caller_number": f"+7914{i:07d}"}
        return dict(server_side("POST", "/contacts", json=body, headers=gw))

    # a known citizen for the call card (a phone on file: the take brings the history)
    phone = "+79140001122"
    server_side(
        "POST",
        "/citizens",
        json={"last_name": "Стендова", "first_name": "Анна", "phones": [phone]},
        headers=gw,
    )

    desk = Desk(settings())
    desk.sign_in(args.server, "operator1", "oper122")  # warm-up: imports, the first connect
    desk.close()
    shutil.rmtree(console, ignore_errors=True)

    desk = Desk(settings())
    measure("sign-in", lambda: desk.sign_in(args.server, "operator1", "oper122"))
    measure("reference data, first start", desk.reference)
    desk.close()
    desk = Desk(settings())
    creds = desk.saved_login()
    assert creds is not None
    desk.resume(creds)
    measure("reference data, next start", desk.reference)
    measure(
        "first KB sync",
        desk.sync_kb,
        lambda r: f"{r.upserted} articles",
    )

    # the console's idle loops: the long poll, and the app's heartbeat every 15 s
    stop = threading.Event()
    version: dict[str, str | None] = {"v": None}
    polls = {"n": 0}

    def offers_loop() -> None:
        while not stop.is_set():
            try:
                offers = desk.offers(version["v"])
            except Exception:
                time.sleep(1)
                continue
            version["v"] = offers.version
            polls["n"] += 1

    def heartbeat_loop() -> None:
        while not stop.wait(15.0):
            desk.heartbeat()

    # 34 waiting (the count): how many the console's queue gets
    for i in range(34):
        post_contact(i)
    offers = desk.offers(None)
    loops = [threading.Thread(target=offers_loop), threading.Thread(target=heartbeat_loop)]
    for t in loops:
        t.start()
    time.sleep(2)
    measure(
        f"idle {IDLE_SECONDS:.0f} s, 34 waiting (long poll + heartbeat)",
        lambda: time.sleep(IDLE_SECONDS),
        lambda _: f"{polls['n']} polls",
    )
    steps.append(
        {
            "step": "queue of 34 waiting",
            "up": 0,
            "down": 0,
            "round_trips": 0,
            "seconds": 0.0,
            "note": f"{len(offers.contacts)} listed",
        }
    )

    # take -> card for a caller on file, then save -> acknowledged
    contact = server_side(
        "POST",
        "/contacts",
        json={"channel": "phone", "line": "122", "caller_number": phone},
        headers=gw,
    )
    time.sleep(3)
    from ekc_core.schemas import ContactPublic

    offered = ContactPublic.model_validate(contact)
    taken, _history = measure(
        "take -> card", lambda: desk.take(offered), lambda th: f"history {th[1] is not None}"
    )
    card = Card.offered(taken)
    card.citizen_id = taken.citizen_id
    card.topic_code = "housing.tko"
    from ekc_core.enums import ContactOutcome

    card.outcome = ContactOutcome.consultation
    card.summary = "Проконсультирован"
    card.end_now()

    def save() -> Any:
        desk.enqueue(card.key, card.title(), card.save_steps(), card.dump())
        return desk.flush()

    measure("save -> acknowledged", save, lambda r: f"sent {r.sent}, failed {r.failed}")

    # link loss -> known, with the long poll waiting and the heartbeat going
    time.sleep(3)
    wire("down")
    lost = time.monotonic()
    while desk.online and time.monotonic() - lost < STEP_LIMIT:
        time.sleep(0.1)
    steps.append(
        {
            "step": "link loss -> shown",
            "up": 0,
            "down": 0,
            "round_trips": 0,
            "seconds": round(time.monotonic() - lost, 1),
            "note": f"online={desk.online}",
        }
    )
    cid = taken.citizen_id
    if cid is not None:
        started = time.monotonic()
        note = "from the local copy"
        try:
            _, _, cached = desk.open_citizen(cid)
            note = f"cached={cached}"
        except Exception as exc:
            note = f"failed: {exc}"
        steps.append(
            {
                "step": "offline citizen open",
                "up": 0,
                "down": 0,
                "round_trips": 0,
                "seconds": round(time.monotonic() - started, 2),
                "note": note,
            }
        )
    wire("up")
    stop.set()
    desk.interrupt()
    for t in loops:
        t.join(timeout=40)
    print(
        json.dumps(
            {"label": args.label, "code": os.environ.get("PYTHONPATH", ""), "steps": steps},
            ensure_ascii=False,
        )
    )
    os._exit(0)  # threads of a closed client may still be unwinding


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--server", default="")
    ap.add_argument("--ctl", default="")
    ap.add_argument("--console", default="")
    ap.add_argument("--code", default=str(ROOT), help="tree whose client and server to run")
    ap.add_argument("--label", default="this tree")
    ap.add_argument("--db", default="", help="a seeded demo SQLite file to copy (default: seed)")
    ap.add_argument("--port", type=int, default=8340)
    ap.add_argument("--seed", type=int, default=122, help="the wire's loss pattern")
    ap.add_argument("--out", default="", help="also write the result as JSON here")
    args = ap.parse_args()
    if args.client:
        client(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
