"""Roster generation at the centre's size: 60 staff × 31 days, 3 shift kinds, the full rule
set (rest between shifts, weekly rest, monthly norms, nights, absences, wishes, fairness).

Prints the time to the first roster with no coverage gap, the final objective and the check
of the result by the rule checker. `python bench/roster_bench.py [--month 2026-12]
[--staff 60] [--time-limit 10] [--workers 2] [--seed 1]`
"""

from __future__ import annotations

import argparse
import calendar
import random
import time
from datetime import date, timedelta

from ekc_roster.calendar import ProductionCalendar
from ekc_roster.model import Absence, Person, Preference, Problem, template_table
from ekc_roster.solver import generate, impossible_requirement

#: operators per hour on a weekday (00..23), a centre of ~60 staff: the shape of the demo
#: forecast (morning peak, long afternoon, quiet nights)
WEEKDAY = [3, 3, 3, 3, 3, 3, 5, 5, 10, 12, 14, 14, 14, 13, 13, 13, 12, 10, 10, 9, 6, 6, 4, 4]
WEEKEND_SHARE = 0.7


def build(month: str, staff: int, seed: int, load: float = 1.0) -> Problem:
    rng = random.Random(seed)
    year, mon = (int(x) for x in month.split("-"))
    days = calendar.monthrange(year, mon)[1]
    cal = ProductionCalendar.load()
    required: list[int] = []
    for d in range(days):
        day = date(year, mon, d + 1)
        off = day.weekday() >= 5 or cal.is_public_holiday(day)
        share = WEEKEND_SHARE if off else 1.0
        required += [max(2, round(v * share * load)) for v in WEEKDAY]
    people = []
    for i in range(staff):
        rate = 0.5 if i % 10 == 9 else (0.75 if i % 10 == 8 else 1.0)
        people.append(
            Person(
                username=f"op{i + 1:02d}",
                full_name=f"Оператор {i + 1}",
                employment_rate=rate,
                week_hours=36.0 if i % 20 == 7 else 40.0,
                night_work=i % 12 != 5,
            )
        )
    first = date(year, mon, 1)
    absences = []
    for p in rng.sample(people, k=staff // 6):  # ~1/6 on vacation for a part of the month
        start = first + timedelta(days=rng.randrange(days - 7))
        absences.append(Absence(p.username, start, start + timedelta(days=rng.randrange(5, 14))))
    preferences = []
    for p in rng.sample(people, k=staff // 3):
        preferences.append(Preference(p.username, "off", weekday=rng.randrange(7)))
    for p in rng.sample(people, k=staff // 6):
        day = first + timedelta(days=rng.randrange(days))
        preferences.append(Preference(p.username, "off", on_date=day))
    templates = template_table(
        [("Д", "08:00", "20:00", 60), ("Н", "20:00", "08:00", 60), ("Р", "09:00", "18:00", 60)]
    )
    return Problem(
        year=year,
        month=mon,
        people=people,
        templates=templates,
        calendar=cal,
        required=required,
        absences=absences,
        preferences=preferences,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--month", default="2026-12")
    parser.add_argument("--staff", type=int, default=60)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--load", type=float, default=1.0, help="multiplier on the hourly requirement"
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    problem = build(args.month, args.staff, args.seed, args.load)
    blockers = impossible_requirement(problem)
    built = time.perf_counter() - t0
    outcome = generate(problem, time_limit=args.time_limit, workers=args.workers, seed=args.seed)
    r = outcome.result
    hours = [p.hours for p in r.people]
    under = sum(max(0.0, p.norm_hours - p.hours) for p in r.people)
    day_only = sum(
        max(0.0, p.norm_hours - p.hours)
        for p in r.people
        if not problem.person[p.username].night_work
    )
    nights = [p.night_hours for p in r.people if problem.person[p.username].night_work]
    print(
        f"roster bench: {args.staff} staff × {problem.days} days ({args.month}), "
        f"{len(problem.templates)} shift kinds, {sum(problem.required or [])} operator-hours "
        f"required (load ×{args.load:g}), {args.workers} workers, time limit {args.time_limit:g} s"
    )
    print(f"  problem built + pre-check: {built:.2f} s; impossible: {blockers or 'none'}")
    print(f"  phase: {outcome.phase}, status {outcome.status}")
    print(
        f"  first roster: {outcome.first_solution_seconds} s; "
        f"first gap-free roster: {outcome.first_gap_free_seconds} s"
    )
    print(
        f"  final objective: {outcome.objective:.0f} (bound {outcome.best_bound:.0f}), "
        f"wall {outcome.wall_seconds:.2f} s"
    )
    own = [g for g in r.gaps if not g.previous_roster]
    print(
        f"  check: {len(r.violations)} violations, {len(own)} gaps "
        f"({sum(g.short for g in own)} operator-hours short); the night of the 1st, which "
        f"only the previous month's roster (none here) staffs: {len(r.gaps) - len(own)} gaps"
    )
    if outcome.suggested_time_limit:
        print(f"  still improving when stopped: suggests {outcome.suggested_time_limit:g} s")
    print(
        f"  hours per person: min {min(hours):g} max {max(hours):g}; under norm in total "
        f"{under:g} h ({day_only:g} h of it for staff without night work)"
    )
    print(f"  night hours per person allowed nights: min {min(nights):g} max {max(nights):g}")
    for note in outcome.notes:
        print(f"  note: {note}")
    missed = sum(p.preferences_missed for p in r.people)
    print(f"  wishes not granted: {missed}")


if __name__ == "__main__":
    main()
