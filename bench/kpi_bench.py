"""The KPI report over a year of contacts: 120,000 (the centre's year) and 1,000,000, on
SQLite and PostgreSQL. Prints the time (wall and this process's CPU) of the monthly report
(a month by day) and the yearly one (a year by month), and of the wallboard's window.

    python bench/kpi_bench.py [--sizes 120000,1000000] [--backends sqlite,postgresql]
        [--repeat 3] [--reuse] [--seed 1]

PostgreSQL: `EKC_BENCH_DATABASE_URL` (default
`postgresql+psycopg://postgres@127.0.0.1:5432/ekc_kpi_bench`, created when missing; one
database per size, `<name>_<size>`). SQLite files go to `--dir` (default a temp folder).
`--reuse` keeps a database that already holds the size's contacts (no regeneration).
Targets: ≤ 1 s for a month and ≤ 3 s for a year at 1,000,000 on PostgreSQL.

The contacts: a year ending yesterday (Irkutsk), arrivals by the centre's hour-of-day and
weekday profile, 45 % inbound calls (7 % abandoned, 1 % short abandons, waits exponential
with mean 9 s, talk ~ 3 min, after-call work ~ 40 s), 36 % outbound calls, 17 % written
(reaction ~ 5 min), 2 % video; 8 % of answered calls surveyed, 1 % quality-reviewed, 5 %
of contacts with an appeal.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session, select

from ekc_core.kpi import KpiParams
from ekc_core.localtime import CENTRE_TZ
from ekc_core.settings import default_reference_dir
from ekc_server import migrate
from ekc_server.db import create_db_engine
from ekc_server.models import Citizen, Office, Staff, Topic
from ekc_server.models_performance import QualityForm
from ekc_server.services.kpi import Dimension, kpi_window
from ekc_server.services.kpi_sql import local_midnight
from ekc_server.services.reference import seed_reference
from ekc_server.services.report_kpi import kpi_report

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/ekc_kpi_bench"
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 11, 11, 10, 10, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
CONTACT_COLUMNS = [
    "channel",
    "line",
    "direction",
    "status",
    "queued_at",
    "answered_at",
    "ended_at",
    "wrapup_ended_at",
    "operator_id",
    "office_id",
    "topic_id",
    "outcome",
    "abandoned",
]
WRITTEN = ["social", "pos", "governor_chat", "web_chat", "email"]
OUTCOMES = ["consultation"] * 8 + ["appeal_registered", "forwarded", "callback_needed"]


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def contacts(
    n: int, seed: int, first: date, days: int, refs: dict[str, list[int]]
) -> Iterator[tuple[Any, ...]]:
    """`n` contact rows in queue order, as tuples of CONTACT_COLUMNS (times as UTC text)."""
    rng = random.Random(seed)
    day_weights = [0.8 if (first + timedelta(days=d)).weekday() >= 5 else 1.0 for d in range(days)]
    day_picks = rng.choices(range(days), weights=day_weights, k=n)
    hour_picks = rng.choices(range(24), weights=HOUR_WEIGHTS, k=n)
    starts = sorted(
        local_midnight(first + timedelta(days=d)) + timedelta(hours=h, seconds=rng.random() * 3600)
        for d, h in zip(day_picks, hour_picks, strict=True)
    )
    operators, offices, topics = refs["operators"], refs["offices"], refs["topics"]
    for queued in starts:
        kind = rng.random()
        operator: int | None = rng.choice(operators)
        topic: int | None = rng.choice(topics)
        answered = ended = wrapped = None
        outcome: str | None = rng.choice(OUTCOMES)
        status, abandoned, line = "done", False, None
        office = None
        if kind < 0.45:
            channel, direction, line = "phone", "in", "122" if rng.random() < 0.9 else "117"
            fate = rng.random()
            if fate < 0.08:
                status, abandoned, operator, topic, outcome = "abandoned", True, None, None, None
                waited = 2.0 if fate < 0.01 else 10 + rng.expovariate(1 / 40)
                ended = queued + timedelta(seconds=waited)
            else:
                answered = queued + timedelta(seconds=rng.expovariate(1 / 9))
        elif kind < 0.81:
            channel, direction = "phone", "out"
            answered = queued
        elif kind < 0.98:
            channel, direction = rng.choice(WRITTEN), "in"
            answered = queued + timedelta(seconds=rng.expovariate(1 / 300))
        else:
            channel, direction, office = "video", "in", rng.choice(offices)
            answered = queued + timedelta(seconds=rng.expovariate(1 / 30))
        if answered is not None:
            ended = answered + timedelta(seconds=60 + rng.expovariate(1 / 120))
            wrapped = ended + timedelta(seconds=rng.expovariate(1 / 40))
        yield (
            channel,
            line,
            direction,
            status,
            _ts(queued),
            _ts(answered),
            _ts(ended),
            _ts(wrapped),
            operator,
            office,
            topic,
            outcome,
            abandoned,
        )


def _references(engine: Engine) -> dict[str, list[int]]:
    with Session(engine) as session:
        seed_reference(session=session, data_dir=default_reference_dir())
        staff = list(session.exec(select(Staff).where(Staff.role == "operator")).all())
        for i in range(len(staff), 50):
            session.add(Staff(username=f"bench{i}", full_name=f"Оператор {i}", role="operator"))
        session.add(Citizen(last_name="Бенчмарков"))
        session.add(QualityForm(code="bench", name="bench", items=[]))
        session.commit()
        return {
            "operators": [
                s.id for s in session.exec(select(Staff).where(Staff.role == "operator")) if s.id
            ],
            "offices": [o.id for o in session.exec(select(Office)) if o.id],
            "topics": [t.id for t in session.exec(select(Topic)) if t.id],
        }


def _copy_rows(
    engine: Engine, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]
) -> None:
    """Bulk insert: COPY on PostgreSQL, executemany in one transaction on SQLite."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= 50_000:
                    cursor.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch
                    )
                    batch.clear()
            if batch:
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch
                )
        raw.commit()
    finally:
        raw.close()


def generate(engine: Engine, n: int, seed: int, last: date) -> None:
    refs = _references(engine)
    first = last - timedelta(days=364)
    _copy_rows(engine, "contact", CONTACT_COLUMNS, contacts(n, seed, first, 365, refs))
    rng = random.Random(seed + 1)
    with engine.connect() as conn:
        answered = conn.execute(
            text(
                "SELECT id, queued_at, topic_id FROM contact WHERE channel = 'phone' "
                "AND direction = 'in' AND answered_at IS NOT NULL"
            )
        ).all()
        citizen = conn.execute(text("SELECT min(id) FROM citizen")).scalar_one()
        form = conn.execute(text("SELECT min(id) FROM quality_form")).scalar_one()
    surveyed = rng.sample(answered, k=int(len(answered) * 0.08))
    _copy_rows(
        engine,
        "contact_survey",
        ["contact_id", "csat", "recommend", "answered_at", "recorded_at"],
        (
            (
                cid,
                rng.choices([5, 4, 3, 2, 1], weights=[80, 12, 4, 2, 2])[0],
                rng.choices([10, 9, 8, 7, 5, 2], weights=[80, 12, 4, 2, 1, 1])[0],
                at,
                at,
            )
            for cid, at, _t in surveyed
        ),
    )
    reviewed = rng.sample(answered, k=int(len(answered) * 0.01))
    _copy_rows(
        engine,
        "quality_review",
        ["contact_id", "form_id", "answers", "score", "comment", "reviewed_at", "recorded_at"],
        (
            (cid, form, "{}", rng.choice([1.0, 0.9, 0.8, 1.0]), "", at, at)
            for cid, at, _t in reviewed
        ),
    )
    with_appeal = rng.sample(answered, k=int(n * 0.05))
    kinds = ["appeal_59fz"] * 20 + ["pos_message"] * 5 + ["complaint"]

    def appeals() -> Iterator[tuple[Any, ...]]:
        for i, (cid, at, topic) in enumerate(with_appeal):
            registered = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
            yield (
                f"B-{i:08d}",
                citizen,
                cid,
                rng.choice(kinds),
                topic or 1,
                "bench",
                "",
                "closed" if rng.random() < 0.97 else "registered",
                False,
                _ts(registered),
                _ts(registered),
                _ts(registered + timedelta(days=7)),
                _ts(registered + timedelta(days=30)),
                0,
                1,
                _ts(registered),
            )

    _copy_rows(
        engine,
        "appeal",
        [
            "number",
            "citizen_id",
            "contact_id",
            "kind",
            "topic_id",
            "summary",
            "description",
            "status",
            "complex",
            "received_at",
            "registered_at",
            "forward_due",
            "answer_due",
            "extension_days",
            "version",
            "updated_at",
        ],
        appeals(),
    )
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM contact")).scalar_one())


def _pg_url(base: str, n: int) -> str:
    url = make_url(base)
    name = f"{url.database}_{n}"
    admin = create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as conn:
        if (
            conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            is None
        ):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _fresh(url: str) -> None:
    engine = create_db_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    migrate.upgrade(url)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `repeat` runs (after one warm-up run)."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def run(url: str, n: int, args: argparse.Namespace) -> None:
    last = datetime.now(UTC).astimezone(CENTRE_TZ).date() - timedelta(days=1)
    engine = create_db_engine(url)
    if not (args.reuse and _count(engine) == n):
        engine.dispose()
        _fresh(url)
        engine = create_db_engine(url)
        start = time.perf_counter()
        generate(engine, n, args.seed, last)
        print(f"  generated {n:,} contacts in {time.perf_counter() - start:.1f} s")
    params = KpiParams()
    month_from = last.replace(day=1) - timedelta(days=1)
    month_from = month_from.replace(day=1)
    month_to = last.replace(day=1) - timedelta(days=1)
    year_from = last - timedelta(days=364)
    now = datetime.now(UTC)

    with Session(engine) as session:
        cases: list[tuple[str, Callable[[], object]]] = [
            (
                f"month by day ({month_from:%Y-%m})",
                lambda: kpi_report(
                    session=session,
                    date_from=month_from,
                    date_to=month_to,
                    by=Dimension.day,
                    params=params,
                ),
            ),
            (
                "year by month",
                lambda: kpi_report(
                    session=session,
                    date_from=year_from,
                    date_to=last,
                    by=Dimension.month,
                    params=params,
                ),
            ),
            (
                "year by operator",
                lambda: kpi_report(
                    session=session,
                    date_from=year_from,
                    date_to=last,
                    by=Dimension.operator,
                    params=params,
                ),
            ),
            (
                "wallboard: last 24 h window",
                lambda: kpi_window(
                    session=session, start=now - timedelta(hours=24), end=now, params=params
                ),
            ),
        ]
        for name, fn in cases:
            wall, cpu = timed(fn, args.repeat)
            print(f"  {name:<34} wall {wall * 1000:8.0f} ms   cpu {cpu * 1000:8.0f} ms")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="120000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.gettempdir()) / "ekc-kpi-bench"
    folder.mkdir(parents=True, exist_ok=True)
    pg = os.environ.get("EKC_BENCH_DATABASE_URL", PG_DEFAULT)
    for n in (int(s) for s in args.sizes.split(",")):
        for backend in args.backends.split(","):
            url = f"sqlite:///{folder / f'kpi-{n}.db'}" if backend == "sqlite" else _pg_url(pg, n)
            print(f"{backend}, {n:,} contacts:")
            run(url, n, args)


if __name__ == "__main__":
    main()
