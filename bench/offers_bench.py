"""What one check of the offers long poll costs (issue 14: offers by group).

A waiting poll looks at the queue every 0.4 s: one indexed query of the light columns of
at most 1000 waiting contacts, then the ranking for the caller in Python. This fills a
temporary SQLite database (or `EKC_BENCH_DATABASE_URL`: its contacts are deleted!) with N waiting
contacts of the shipped groups and prints the median time of one check and of one full
answer for an operator and for a lead. Prints numbers; asserts nothing.

Run: `.venv/bin/python -m bench.offers_bench [N ...]` (default 20 200 1000).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func
from sqlmodel import Session, select

from ekc_core.routing import RoutingTable
from ekc_core.settings import default_reference_dir
from ekc_server import migrate
from ekc_server.db import create_db_engine, session_scope
from ekc_server.models import Contact, Topic
from ekc_server.services import offers
from ekc_server.services.contact_routing import Viewer
from ekc_server.services.reference import seed_reference
from ekc_server.services.routing import table_in_force

GROUPS = ["svo"] * 9 + ["medicine", "social", "housing", "housing", "transport", "general"] * 2


def median_ms(run: Callable[[], object], times: int = 30) -> float:
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def fill(session: Session, n: int, now: datetime) -> None:
    rng = random.Random(n)
    session.execute(delete(Contact))
    for i in range(n):
        session.add(
            Contact(
                channel="phone",
                line="117" if rng.random() < 0.1 else "122",
                direction="in",
                status="queued",
                group_code=rng.choice(GROUPS),
                route_source="handoff",
                queued_at=now - timedelta(seconds=rng.uniform(0, 300)),
                caller_number=f"+7902555{i:04d}",
            )
        )
    session.commit()


def main(sizes: list[int]) -> None:
    url = os.environ.get("EKC_BENCH_DATABASE_URL")
    folder = tempfile.mkdtemp(prefix="ekc-offers-bench-")
    url = url or f"sqlite:///{Path(folder) / 'ekc.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        if session.exec(select(func.count()).select_from(Topic)).one() == 0:
            seed_reference(session=session, data_dir=default_reference_dir())
    now = datetime.now(UTC)
    with Session(engine) as session:
        table: RoutingTable = table_in_force(session)
    operator = Viewer(table.member_groups(["housing", "transport"]))
    lead = Viewer(None)
    print(f"database: {engine.dialect.name}")
    print("waiting | check, operator | check, lead | answer (20), operator | offered to operator")
    for n in sizes:
        with Session(engine) as session:
            fill(session, n, now)
        with Session(engine) as session:

            def check(viewer: Viewer, session: Session = session) -> offers.OfferState:
                return offers.offer_state(
                    session=session, table=table, viewer=viewer, now=now, limit=500
                )

            def answer(session: Session = session) -> object:
                return offers.offers(
                    session=session, table=table, viewer=operator, now=now, limit=20
                )

            seen = len(check(operator).offered)
            print(
                f"{n:7d} | {median_ms(lambda: check(operator)):12.2f} ms"
                f" | {median_ms(lambda: check(lead)):8.2f} ms"
                f" | {median_ms(answer):17.2f} ms | {seen}"
            )
    engine.dispose()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [20, 200, 1000])
