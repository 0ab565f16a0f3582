"""Knowledge-base import numbers on synthetic corpora (5,000 and 50,000 articles by default).

For each size, through a real backend (`ekc-server run` in a subprocess, SQLite or
`EKC_BENCH_DATABASE_URL`) and the client calls `ekc-admin kb import` makes:

- check: the client's `KbArticleIn` models of the whole corpus;
- stage: the articles sent in chunks of `ekc_admin.kb.CHUNK` to a staged batch;
- dry run: the difference the CLI shows before it asks;
- commit: one transaction publishing them all;
- index: the backend's own index catching up in its background thread (the commit answers
  at once), timed until a search answers from the caught-up index; a search sent meanwhile
  is timed too (it waits for the catch-up).

Wall time next to CPU time: the client's (this process) and the server's (its process and
the index builder's worker processes, from /proc), since the machine may be shared.

    python bench/kb_import.py [SIZE ...]        # make bench runs it
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ekc_admin.kb import CHUNK
from ekc_core.client import EkcClient
from ekc_core.schemas import KbArticleIn
from ekc_core.settings import ClientSettings, default_reference_dir
from ekc_server import migrate
from ekc_server.db import create_db_engine, session_scope
from ekc_server.models import Staff
from ekc_server.security import hash_password
from ekc_server.services.reference import seed_reference
from kb_index import Article
from tests.localserver import running_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_corpus import make_corpus

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _server_pid() -> int | None:
    """The `ekc-server run` child of this process (Linux /proc), or None."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            return int(entry.name)
    return None


def _cpu_of(pid: int | None) -> float:
    """CPU seconds of `pid` and of its children it has waited for, plus its live children
    (the index builder's worker processes)."""
    if pid is None:
        return float("nan")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif int(fields[1]) == pid:
            total += sum(int(f) for f in fields[11:13])
    return total / _TICKS


def _memory_of(pid: int | None) -> tuple[float, float]:
    """(resident, peak resident) MB of `pid`: VmRSS and VmHWM from /proc."""
    if pid is None:
        return float("nan"), float("nan")
    found = {"VmRSS": float("nan"), "VmHWM": float("nan")}
    for row in (Path("/proc") / str(pid) / "status").read_text().splitlines():
        key, _, value = row.partition(":")
        if key in found:
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


@dataclass
class Phase:
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    server_rss: float = 0.0
    """the backend's resident MB after the phase"""
    server_peak: float = 0.0
    """its peak resident MB (VmHWM) so far"""

    def line(self, label: str) -> str:
        return (
            f"{label:34} wall {self.wall:7.1f} s  client CPU {self.client_cpu:6.1f} s  "
            f"server CPU {self.server_cpu:6.1f} s  server RSS {self.server_rss:5.0f} MB"
            f" (peak {self.server_peak:.0f})"
        )


@contextmanager
def phase(into: Phase, pid: int | None) -> Iterator[None]:
    wall, cpu, server = time.perf_counter(), time.process_time(), _cpu_of(pid)
    try:
        yield
    finally:
        into.wall += time.perf_counter() - wall
        into.client_cpu += time.process_time() - cpu
        into.server_cpu += _cpu_of(pid) - server
        time.sleep(1.0)  # the backend releases memory just after it answers: read it after
        into.server_rss, into.server_peak = _memory_of(pid)


def _database(work: Path) -> str:
    url = os.environ.get("EKC_BENCH_DATABASE_URL") or f"sqlite:///{work / 'ekc.db'}"
    engine = create_db_engine(url)
    if engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(url)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        seed_reference(session=session, data_dir=default_reference_dir())
        session.add(
            Staff(
                username="bench",
                full_name="Bench",
                role="admin",
                skills=[],
                password_hash=hash_password("bench-password"),
            )
        )
    engine.dispose()
    return url


def import_and_index(articles: list[Article], work: Path) -> None:
    url = _database(work)
    with running_server(url, work) as base:
        pid = _server_pid()
        settings = ClientSettings(read_timeout=900.0)
        with EkcClient(base, settings=settings) as client:
            client.login("bench", "bench-password")
            client.kb_search("пенсия")  # the start-up index is ready (empty)
            rss, peak = _memory_of(pid)
            print(f"{'backend at start':34} server RSS {rss:.0f} MB (peak {peak:.0f})")
            check, stage, dry, commit, index = Phase(), Phase(), Phase(), Phase(), Phase()
            with phase(check, pid):
                wire = [
                    KbArticleIn(**{**a.to_dict(), "topic": a.topic, "agency": a.agency})
                    for a in articles
                ]
            with phase(stage, pid):
                batch_id = client.kb_stage_open("bench").batch_id
                staged = 0
                for start in range(0, len(wire), CHUNK):
                    staged = client.kb_stage_append(
                        batch_id, staged, wire[start : start + CHUNK]
                    ).staged
            with phase(dry, pid):
                client.kb_stage_commit(batch_id, dry_run=True)
            with phase(commit, pid):
                result = client.kb_stage_commit(batch_id)
            assert len(result.diff.added) == len(articles), result.diff
            meanwhile: list[float] = []

            def search_meanwhile() -> None:
                with EkcClient(base, settings=settings, token=client.token) as other:
                    t = time.perf_counter()
                    other.kb_search("мусор")
                    meanwhile.append(time.perf_counter() - t)

            with phase(index, pid):
                probe = threading.Thread(target=search_meanwhile)
                probe.start()
                while not client.kb_search("мусор", limit=1):  # answers once caught up
                    time.sleep(0.2)
                probe.join()
    print(check.line("check (client models)"))
    print(stage.line(f"stage in chunks of {CHUNK}"))
    print(dry.line("dry run (the diff shown)"))
    print(commit.line("commit (one transaction)"))
    print(index.line("backend index catch-up"))
    total = stage.wall + dry.wall + commit.wall + index.wall
    print(f"{'import + index, wall':34} {total:7.1f} s")
    print(f"{'a search during the catch-up':34} {meanwhile[0]:7.1f} s")


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [5000, 50000]
    for size in sizes:
        print(f"--- import of {size} articles")
        started = time.perf_counter()
        articles = make_corpus(size)
        print(f"{'generate corpus':34} {time.perf_counter() - started:7.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            import_and_index(articles, Path(tmp))


if __name__ == "__main__":
    main()
