"""The CP-SAT generator on small months: a gap-free lawful roster when one exists, a roster
with every gap reported when none does."""

from __future__ import annotations

from datetime import date

from ekc_core.workforce import RosterPersonSummary
from ekc_roster.calendar import ProductionCalendar
from ekc_roster.checker import CheckResult, check
from ekc_roster.model import Absence, Assignment, Person, Preference, Problem, template_table
from ekc_roster.rules import required_in_reach
from ekc_roster.solver import Outcome, _judge_search, generate, impossible_requirement

CAL = ProductionCalendar.load()
TEMPLATES = template_table([("Д", "08:00", "20:00", 60), ("Н", "20:00", "08:00", 60)])


def around_the_clock(operators: int) -> list[int]:
    """`operators` on duty every hour of February 2027 (28 days)."""
    return [operators] * (28 * 24)


def test_a_feasible_month_gets_a_gap_free_lawful_roster() -> None:
    people = [Person(f"op{i}") for i in range(7)]
    people.append(Person("day_only", night_work=False))
    problem = Problem(
        year=2027,
        month=2,
        people=people,
        templates=TEMPLATES,
        calendar=CAL,
        required=around_the_clock(1),
        absences=[Absence("op0", date(2027, 2, 8), date(2027, 2, 14))],
        preferences=[Preference("op1", "off", weekday=6)],  # no Sundays
        # January's last night shift staffs 1 February 00–08
        before=[Assignment("op2", date(2027, 1, 31), "Н")],
    )
    outcome = generate(problem, time_limit=5, workers=2)

    assert outcome.phase == "hard"
    assert outcome.first_gap_free_seconds is not None
    assert outcome.result.gaps == []
    # the checker, run independently, agrees
    again = check(problem, outcome.assignments)
    assert again.violations == [] and again.gaps == []
    mine: dict[str, list[Assignment]] = {a.username: [] for a in outcome.assignments}
    for a in outcome.assignments:
        mine[a.username].append(a)
    assert not [a for a in mine.get("day_only", []) if a.template_code == "Н"]
    assert not [
        a for a in mine.get("op0", []) if date(2027, 2, 8) <= a.on_date <= date(2027, 2, 14)
    ]
    assert not [a for a in mine.get("op1", []) if a.on_date.weekday() == 6]
    summary = {p.username: p for p in outcome.result.people}
    assert all(p.hours <= p.norm_hours for p in summary.values())
    assert outcome.report()["short_operator_hours"] == 0


def test_too_few_people_give_a_roster_with_every_gap_reported() -> None:
    problem = Problem(
        year=2027,
        month=2,
        people=[Person("a"), Person("b")],
        templates=TEMPLATES,
        calendar=CAL,
        required=around_the_clock(1),
    )
    blockers = impossible_requirement(problem)
    assert len(blockers) == 1 and "операторо-часов больше суммы норм" in blockers[0]

    outcome = generate(problem, time_limit=2, workers=2)
    assert outcome.phase == "soft"
    assert outcome.first_gap_free_seconds is None
    assert outcome.notes and "с нехваткой" in outcome.notes[-1]
    result = outcome.result
    assert result.violations == []
    assert result.gaps, "two people cannot staff 672 hours"
    # every short hour of the month is in exactly one reported gap, 1 February 00–08 too
    # (January's night shift staffs it, and January has no roster here)
    assert required_in_reach(problem) == [0] * 8 + (problem.required or [])[8:]
    required = problem.required or []
    assert next(g.previous_roster for g in result.gaps if g.on_date.day == 1)
    short_hours = sum(1 for need, have in zip(required, result.covered, strict=True) if have < need)
    assert sum(g.to_hour - g.from_hour for g in result.gaps) == short_hours
    # both still work their norm (the roster does as much as the law allows)
    for person in result.people:
        assert person.norm_hours - person.hours < 11


def test_an_hour_needing_more_people_than_allowed_at_night_is_impossible() -> None:
    required = [1] * (28 * 24)
    required[23] = 3  # 1 February 23:00
    problem = Problem(
        year=2027,
        month=2,
        people=[Person("a"), Person("b"), Person("c", night_work=False)],
        templates=TEMPLATES,
        calendar=CAL,
        required=required,
    )
    lines = impossible_requirement(problem)
    assert lines[0] == (
        "1 ночн. ч требуют больше операторов, чем допущено к ночной работе (2); "
        "первый — 01.02 23:00, нужно 3"
    )
    assert len(lines) == 2 and "больше суммы норм" in lines[1]  # 3 people, 673 hours


def _outcome(objective: float, bound: float, under_hours: float) -> Outcome:
    """An outcome of one person `under_hours` under a 160-hour norm."""
    person = RosterPersonSummary(
        username="a",
        full_name="",
        shifts=0,
        hours=160 - under_hours,
        norm_hours=160,
        night_hours=0,
        weekend_shifts=0,
        holiday_shifts=0,
        preferences_missed=0,
    )
    return Outcome(
        assignments=[],
        result=CheckResult(violations=[], gaps=[], covered=[], people=[person]),
        phase="hard",
        status="FEASIBLE",
        objective=objective,
        best_bound=bound,
        wall_seconds=20,
        first_solution_seconds=0.2,
        first_gap_free_seconds=0.2,
        workers=2,
    )


def test_a_search_stopped_while_improving_far_from_its_bound_suggests_more_time() -> None:
    """20 s left 266 operator-hours under the norms where 60 s left 203: the lead is told."""
    still_improving = [(1.0, 30_000.0), (9.0, 21_000.0), (18.5, 16_000.0)]
    outcome = _outcome(16_000, 9_000, under_hours=266)
    _judge_search(outcome, still_improving, seconds=19.5, time_limit=20)
    assert outcome.suggested_time_limit == 60
    assert "--time-limit 60" in outcome.notes[-1] and "ниже норм 266 ч" in outcome.notes[-1]
    assert outcome.report()["suggested_time_limit"] == 60
    assert outcome.report()["gap"] == round(7_000 / 16_000, 4)

    stalled = [(1.0, 30_000.0), (2.0, 16_050.0), (3.0, 16_000.0)]  # nothing new in 16 s
    quiet = _outcome(16_000, 9_000, under_hours=266)
    _judge_search(quiet, stalled, seconds=19.5, time_limit=20)
    assert quiet.suggested_time_limit is None and quiet.notes == []

    close = _outcome(16_000, 15_800, under_hours=266)  # 1 % from the proven bound
    _judge_search(close, still_improving, seconds=19.5, time_limit=20)
    assert close.suggested_time_limit is None

    longest = _outcome(16_000, 9_000, under_hours=266)  # already the longest search allowed
    _judge_search(longest, [(1.0, 30_000.0), (590.0, 16_000.0)], seconds=599, time_limit=600)
    assert longest.suggested_time_limit is None


def test_a_late_first_roster_suggests_more_time_and_a_trickle_does_not() -> None:
    young = _outcome(18_000, 9_000, under_hours=266)  # nothing by half time, then improving
    _judge_search(young, [(15.0, 20_000.0), (18.0, 18_000.0)], seconds=19.5, time_limit=20)
    assert young.suggested_time_limit == 60

    trickle = _outcome(16_000, 9_000, under_hours=266)  # late, but 0.3 % over the second half
    _judge_search(trickle, [(2.0, 16_050.0), (19.0, 16_000.0)], seconds=19.5, time_limit=20)
    assert trickle.suggested_time_limit is None
