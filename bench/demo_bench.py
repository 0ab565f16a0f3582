"""The demo generator's numbers: time to seed a year (`seed_demo` on a fresh SQLite file) and
the indicators it lands on per local month, computed by SQL from the rows with the KPI
rules (SL 80/20 over offered calls, short abandons under 5 s left out; answer rate; missed;
AHT = talk + after-call work; written channels answered within 10 minutes).

    .venv/bin/python bench/demo_bench.py [--contacts 128000] [--days 365] [--seed 122]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

from ekc_core.settings import default_reference_dir
from ekc_server import migrate
from ekc_server.db import create_db_engine
from ekc_server.demo import seed_demo
from ekc_server.services.reference import seed_reference

MONTHLY = """
WITH c AS (
  SELECT strftime('%Y-%m', queued_at, '+8 hours') AS m, channel, direction, answered_at, office_id,
    (julianday(answered_at) - julianday(queued_at)) * 86400 AS wait,
    (julianday(ended_at) - julianday(queued_at)) * 86400 AS gone,
    (julianday(wrapup_ended_at) - julianday(answered_at)) * 86400 AS handle,
    channel = 'phone' AND direction = 'in' AS call,
    channel IN ('social', 'pos', 'governor_chat', 'web_chat', 'email') AS written
  FROM contact)
SELECT m,
  SUM(call AND (answered_at IS NOT NULL OR gone >= 5)),
  SUM(call AND answered_at IS NOT NULL AND wait <= 20),
  SUM(call AND answered_at IS NOT NULL),
  SUM(call AND answered_at IS NULL AND gone >= 5),
  SUM(CASE WHEN call AND answered_at IS NOT NULL THEN handle ELSE 0 END),
  SUM(channel = 'phone' AND direction = 'out'),
  SUM(written), SUM(written AND answered_at IS NOT NULL AND wait <= 600),
  SUM(channel = 'video'), COUNT(DISTINCT CASE WHEN channel = 'video' THEN office_id END)
FROM c GROUP BY m ORDER BY m
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=128000)
    ap.add_argument("--citizens", type=int, default=12000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=122)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "demo.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        engine = create_db_engine(url)
        with Session(engine) as session:
            seed_reference(session=session, data_dir=default_reference_dir())
            session.commit()
        started = time.perf_counter()
        with Session(engine) as session:
            counts = seed_demo(
                session=session,
                data_dir=default_reference_dir(),
                citizens=args.citizens,
                contacts=args.contacts,
                days=args.days,
                seed=args.seed,
            )
            generated = time.perf_counter()
            session.commit()
        done = time.perf_counter()
        engine.dispose()
        print(
            f"seed_demo: {generated - started:.1f} s to generate and insert, "
            f"{done - generated:.1f} s to commit; {counts.contacts} contacts, "
            f"{counts.appeals} appeals, {counts.rosters} rosters ({counts.shifts} shifts), "
            f"{counts.presence_events} presence events, {counts.surveys} surveys"
        )
        print(
            f"{'month':8} {'offered':>7} {'SL':>6} {'answer':>7} {'missed':>7} {'AHT s':>6} "
            f"{'out':>6} {'written':>7} {'≤10min':>7} {'video':>6} {'MFCs':>5}"
        )
        db = sqlite3.connect(path)
        for m, off, within, ans, lost, handle, out, wr, wr_in, video, mfcs in db.execute(MONTHLY):
            if not off:
                continue
            print(
                f"{m:8} {off:7} {within / off:6.1%} {ans / off:7.1%} {lost / off:7.1%} "
                f"{handle / max(1, ans):6.0f} {out:6} {wr:7} {wr_in / max(1, wr):7.1%} "
                f"{video:6} {mfcs:5}"
            )
        db.close()


if __name__ == "__main__":
    main()
