"""Rostering by operator group on the demo month: uncovered group-hours of the roster the
generator builds without the groups (as before issue 14) and with them, and the generate
time of each.

    EKC_DATA_DIR=/tmp/x/d ekc-server db seed --demo
    EKC_DATA_DIR=/tmp/x/d python bench/roster_groups_bench.py [--month YYYY-MM]
        [--time-limit 20] [--workers 2] [--seed 0]

The month defaults to the demo's next month (the one a shift lead plans now). Its
requirement is computed as `ekc-admin staffing requirements` does (from the demo history,
per group from the contacts' topics and the routing table in force, small groups merged
into their first overflow target's queue by `--merge-below`; every group alone is printed
first for comparison) and stored; each roster
is checked with `ekc_roster.checker` (group cover by max-flow). The database is not changed
otherwise (no roster is saved).
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta

from sqlmodel import Session

from ekc_core.localtime import CENTRE_TZ
from ekc_core.settings import ServerSettings
from ekc_core.workforce import RequirementsRequest, RosterRules
from ekc_roster import groups as group_cover
from ekc_roster.solver import generate
from ekc_server.db import create_db_engine
from ekc_server.services import staffing
from ekc_server.services.roster_problem import load_problem


def _next_month() -> str:
    today = datetime.now(CENTRE_TZ).date()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return f"{first:%Y-%m}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--month", default=_next_month())
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--merge-below",
        type=float,
        default=None,
        help="RequirementsRequest.merge_below_erlangs (default: the request's; 0: every group "
        "its own queue)",
    )
    parser.add_argument(
        "--both",
        action="store_true",
        help="also the objective that counts a person in each of their groups",
    )
    args = parser.parse_args()
    settings = ServerSettings()
    engine = create_db_engine(settings.effective_database_url())
    calendar = staffing.load_calendar()
    with Session(engine) as session:
        for below in (0.0, args.merge_below):  # every group alone first, for comparison
            request = RequirementsRequest(month=args.month)
            if below is not None:
                request = request.model_copy(update={"merge_below_erlangs": below})
            req = staffing.requirements(
                session=session, request=request, created_by_id=None, calendar=calendar
            )
            split = sum(g.operator_hours for g in req.groups)
            own = {
                g.code: sum(1 for t in g.merged_into if not t) if g.merged_into else len(g.hourly)
                for g in req.groups
            }
            print(
                f"{args.month}, merge below {request.merge_below_erlangs:g} Erlang: pooled "
                f"requirement {req.operator_hours} operator-hours, sum of the "
                f"{len(req.groups)} groups' {split} "
                f"({(split - req.operator_hours) / req.operator_hours:+.0%}); hours with an own "
                f"queue: {', '.join(f'{c} {n}' for c, n in own.items())}"
            )
        problem, _ = load_problem(
            session=session,
            calendar=calendar,
            month=args.month,
            rules=RosterRules(),
            need_requirement=True,
        )
    norms = sum(problem.norm_minutes(p.username) for p in problem.people) / 60
    print(
        f"staff {len(problem.people)} (norms {norms:.0f} h in all), days {problem.days}, "
        f"templates {len(problem.templates)}"
    )
    variants = [("without groups", False, False)]
    if args.both:
        variants.append(("groups, per hour", True, False))
    variants.append(("with groups", True, True))
    for label, groups, whole_shift in variants:
        group_cover.WHOLE_SHIFT = whole_shift
        started = time.perf_counter()
        outcome = generate(
            problem,
            time_limit=args.time_limit,
            workers=args.workers,
            seed=args.seed,
            groups=groups,
        )
        wall = time.perf_counter() - started
        hours, missing = outcome.result.uncovered_group_hours
        print(
            f"{label:<16}: uncovered group-hours {hours}, group operator-hours short {missing}, "
            f"pooled operator-hours short {outcome.result.short_hours}, "
            f"violations {len(outcome.result.violations)}, phase {outcome.phase}, "
            f"status {outcome.status}, generate {wall:.1f} s"
        )


if __name__ == "__main__":
    main()
