"""Load on the real backend: `/me`, a citizen's history and a phone lookup at rising
concurrency, with p50/p95/p99, requests per second and the answers counted by status.

The backend is `ekc-server run --workers N` on a loopback port over a database seeded by
`ekc-server db seed --demo`; the load is an asyncio httpx driver in this process (one
keep-alive connection per simulated client), bounded in time and in requests per step.

    python bench/load_bench.py                                   # SQLite in a temp folder
    EKC_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/ekc_bench \\
        python bench/load_bench.py --workers 2                  # PostgreSQL (scratch db)
    python bench/load_bench.py --base-url http://127.0.0.1:8122  # a server already running

`EKC_BENCH_DATABASE_URL` names a scratch database: the bench drops and recreates its
`public` schema unless `--keep-data` finds the demo data already there. Each line also shows
the machine's 1-minute load average when the step started and the CPU the driver itself
used (it shares the machine with the server). Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.localserver import running_server

API = "/api/v1"
LEVELS = (1, 8, 32, 128, 256)
ENDPOINTS = ("me", "history", "lookup")
#: distinct citizens the history and lookup requests rotate over
SAMPLE = 300


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(port: int) -> list[int]:
    """`ekc-server run --port PORT` and the worker processes it started (Linux /proc)."""
    procs: dict[int, tuple[int, bytes]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                procs[int(entry.name)] = (ppid, (entry / "cmdline").read_bytes())
            except (OSError, IndexError, ValueError):
                continue
    wanted = f"--port\0{port}\0".encode()
    found = [pid for pid, (_, cmd) in procs.items() if b"ekc_server" in cmd and wanted in cmd]
    for pid in list(found):
        found += [child for child, (ppid, _) in procs.items() if ppid == pid]
    return found


class CpuMeter:
    """CPU used by the server's processes and by the database's backends serving it."""

    def __init__(self, port: int | None, url: str) -> None:
        self.server = server_pids(port) if port else []
        self.engine = create_engine(url) if url.startswith("postgresql") else None
        self.database = make_url(url).database

    def backends(self) -> list[int]:
        if self.engine is None:
            return []
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = :db "
                        "AND pid <> pg_backend_pid()"
                    ),
                    {"db": self.database},
                ).scalars()
            )

    def sample(self, pids: list[int]) -> dict[int, float]:
        return {pid: _cpu_seconds(pid) for pid in pids}

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


@dataclass
class Step:
    """One endpoint at one concurrency: latencies of the answered requests, statuses."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds used during the step: `driver`, `server`, `database`."""
    load: float = 0.0

    def line(self, label: str, concurrency: int) -> str:
        n = sum(self.statuses.values())
        ordered = sorted(self.latencies) or [0.0]

        def q(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000

        def per_request(kind: str) -> str:
            return f"{self.cpu[kind] / n * 1000:>6.2f}" if kind in self.cpu and n else "     -"

        errors = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()) if k != "200")
        return (
            f"{label:<8}{concurrency:>5}{n / self.elapsed:>8.0f}"
            f"{statistics.median(ordered) * 1000:>8.1f}{q(0.95):>8.1f}{q(0.99):>8.1f}"
            f"{n:>7}  {errors or '-':<14}"
            f"{per_request('server')}{per_request('database')}{per_request('driver')}"
            f"{self.load:>7.2f}"
        )


HEADER = (
    f"{'':<8}{'':>5}{'':>8}{'':>8}{'':>8}{'':>8}{'':>7}  {'':<14}{'CPU ms a request':>18}\n"
    f"{'endpoint':<8}{'conc':>5}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
    f"{'n':>7}  {'not 200':<14}{'server':>6}{'db':>6}{'drv':>6}{'load1':>7}"
)


class RawHttp:
    """One keep-alive HTTP/1.1 connection on asyncio streams: a light client, so that on a
    shared 2-core machine the driver does not eat the CPU it measures (httpx costs ~2 ms of
    CPU a request at high concurrency, more than the backend's own work)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
        self.head += f"Host: {host}:{port}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def get(self, path: str) -> tuple[int, int]:
        """(status, body bytes); the body is read whole (fixed length or chunked)."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.head + b"\r\n")
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        size = 0
        if b"transfer-encoding: chunked" in lower:
            while True:
                chunk = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(chunk + 2)
                size += chunk
                if chunk == 0:
                    break
        else:
            at = lower.find(b"content-length:")
            if at >= 0:
                size = int(lower[at + 15 : lower.index(b"\r\n", at)])
                await self.reader.readexactly(size)
        if b"connection: close" in lower:
            await self.close()
        return status, size


async def run_step(
    base: str,
    headers: dict[str, str],
    paths: Callable[[], str],
    concurrency: int,
    duration: float,
    max_requests: int,
    driver: str,
    meter: CpuMeter | None,
) -> Step:
    """`concurrency` clients, each sending its next request when the previous answers."""
    step = Step(load=os.getloadavg()[0])
    parsed = httpx.URL(base)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(60.0, connect=10.0)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=timeout
    ) as http:
        raws = [RawHttp(parsed.host, parsed.port or 80, headers) for _ in range(concurrency)]
        if driver == "raw":  # open the connections first: a handshake is not what is measured
            await asyncio.gather(*(r.open() for r in raws))
        else:
            await asyncio.gather(*(http.get("/health") for _ in range(concurrency)))
        pids = (meter.server + meter.backends()) if meter else []
        before = meter.sample(pids) if meter else {}
        sent = 0
        started = time.perf_counter()
        cpu_started = time.process_time()
        deadline = started + duration

        async def send(raw: RawHttp) -> int:
            if driver == "raw":
                return (await raw.get(paths()))[0]
            response = await http.get(paths())
            await response.aread()
            return response.status_code

        async def client(raw: RawHttp) -> None:
            nonlocal sent
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                t0 = time.perf_counter()
                try:
                    status = await send(raw)
                except (httpx.HTTPError, OSError, asyncio.IncompleteReadError) as exc:
                    step.statuses[type(exc).__name__] += 1
                    await raw.close()
                    continue
                step.latencies.append(time.perf_counter() - t0)
                step.statuses[str(status)] += 1

        await asyncio.gather(*(client(r) for r in raws))
        step.elapsed = time.perf_counter() - started
        step.cpu["driver"] = time.process_time() - cpu_started
        if meter:
            # backends opened during the step count from zero
            pids = list(dict.fromkeys(pids + meter.backends()))
            after = meter.sample(pids)
            server = set(meter.server)
            used = {p: max(0.0, after[p] - before.get(p, 0.0)) for p in pids}
            step.cpu["server"] = sum(v for p, v in used.items() if p in server)
            if meter.engine is not None:
                step.cpu["database"] = sum(v for p, v in used.items() if p not in server)
        await asyncio.gather(*(r.close() for r in raws))
    return step


def sample_targets(url: str) -> tuple[list[int], list[str]]:
    """Citizens with the most contacts, and one phone of each written as people write it."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.citizen_id, MIN(p.e164) FROM contact c "
                "JOIN citizen_phone p ON p.citizen_id = c.citizen_id "
                "GROUP BY c.citizen_id ORDER BY COUNT(*) DESC, c.citizen_id LIMIT :n"
            ),
            {"n": SAMPLE},
        ).all()
    engine.dispose()
    ids = [int(r[0]) for r in rows]
    phones = [f"8 {e[2:5]} {e[5:8]}-{e[8:10]}-{e[10:]}" for _, e in rows]
    return ids, phones


def seed(url: str, data_dir: Path, *, keep: bool) -> None:
    """A fresh demo database through the project's own CLI (`ekc-server db seed --demo`)."""
    if url.startswith("postgresql") and not keep:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    env = {**os.environ, "EKC_DATABASE_URL": url, "EKC_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "ekc_server.cli", "db", "seed", "--demo"]
    if keep:
        command.append("--if-empty")
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    # planner statistics, as autovacuum would gather them after a bulk load (a database
    # fresh from a seed has none, and PostgreSQL then plans the lookup as a full scan)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"seeded with `ekc-server db seed --demo` in {time.perf_counter() - started:.1f} s")


@contextmanager
def backend(args: argparse.Namespace, data_dir: Path) -> Iterator[tuple[str, str]]:
    """(base URL, database URL) of the server under load."""
    if args.base_url:
        yield args.base_url.rstrip("/"), args.database_url
        return
    url = args.database_url or f"sqlite:///{data_dir / 'ekc.db'}"
    seed(url, data_dir, keep=args.keep_data)
    with running_server(url, data_dir, workers=args.workers) as base:
        yield base, url


def check_answers(base: str, headers: dict[str, str], ids: list[int], phones: list[str]) -> None:
    """Each endpoint answers what it should before it is loaded (a bench of 401s is no bench)."""
    with httpx.Client(base_url=base + API, headers=headers) as http:
        me = http.get("/me")
        history = http.get(f"/citizens/{ids[0]}/history")
        found = http.get("/citizens", params={"phone": phones[0]})
    for response in (me, history, found):
        response.raise_for_status()
    assert history.json()["citizen"]["id"] == ids[0], history.text[:200]
    assert ids[0] in [c["id"] for c in found.json()], found.text[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("EKC_BENCH_DATABASE_URL"))
    parser.add_argument(
        "--base-url",
        help="load a server already running (give --database-url too: the citizens are "
        "picked from it)",
    )
    parser.add_argument(
        "--server-port", type=int, help="with --base-url: measure the CPU of the server there"
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--concurrency", default=",".join(map(str, LEVELS)))
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per step")
    parser.add_argument("--max-requests", type=int, default=20_000, help="requests per step")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each endpoint")
    parser.add_argument(
        "--driver", choices=("raw", "httpx"), default="raw", help="HTTP client of the load"
    )
    parser.add_argument("--keep-data", action="store_true", help="reuse seeded demo data")
    parser.add_argument("--user", default="operator1")
    parser.add_argument("--password", default="oper122")
    args = parser.parse_args()
    if args.base_url and not args.database_url:
        parser.error("--base-url needs --database-url (or EKC_BENCH_DATABASE_URL)")
    levels = [int(c) for c in args.concurrency.split(",")]
    endpoints = args.endpoints.split(",")

    with (
        tempfile.TemporaryDirectory(prefix="ekc-load-") as tmp,
        backend(args, Path(tmp)) as (base, url),
    ):
        ids, phones = sample_targets(url)
        login = httpx.post(
            base + API + "/auth/token", json={"username": args.user, "password": args.password}
        )
        login.raise_for_status()
        headers = {
            "Authorization": f"Bearer {login.json()['access_token']}",
            "X-Workstation": "load-bench",
            "Accept-Encoding": "gzip",  # as the console sends it
        }
        check_answers(base, headers, ids, phones)
        targets = {
            "health": cycle(["/health"]),  # the floor: no sign-in, one SELECT 1
            "me": cycle([API + "/me"]),
            "history": cycle([f"{API}/citizens/{i}/history" for i in ids]),
            "lookup": cycle([f"{API}/citizens?phone={quote(p)}" for p in phones]),
        }
        port = args.server_port or (None if args.base_url else httpx.URL(base).port)
        meter = CpuMeter(port, url)
        database = make_url(url).get_backend_name()
        workers = "?" if args.base_url else args.workers
        print(
            f"database {database}, {workers} worker(s), {os.cpu_count()} cores, driver "
            f"{args.driver}; {len(ids)} citizens; {args.duration:g} s or "
            f"{args.max_requests} requests a step; load1 = 1-minute load average"
        )
        print(HEADER)
        try:
            for name in endpoints:
                it = targets[name]

                def path(it: Iterator[str] = it) -> str:
                    return next(it)

                if args.warmup > 0:
                    asyncio.run(
                        run_step(base, headers, path, 8, args.warmup, 10**6, args.driver, None)
                    )
                for concurrency in levels:
                    step = asyncio.run(
                        run_step(
                            base,
                            headers,
                            path,
                            concurrency,
                            args.duration,
                            args.max_requests,
                            args.driver,
                            meter,
                        )
                    )
                    print(step.line(name, concurrency), flush=True)
        finally:
            meter.close()


if __name__ == "__main__":
    main()
