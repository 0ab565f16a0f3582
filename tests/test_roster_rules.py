"""The labour-code rule set, rule by rule, on small hand-made rosters (December 2026)."""

from __future__ import annotations

from datetime import date

import pytest

from ekc_core.workforce import RosterRules
from ekc_roster.calendar import ProductionCalendar
from ekc_roster.checker import check
from ekc_roster.model import (
    Absence,
    Assignment,
    Person,
    Preference,
    Problem,
    RosterInputError,
    Template,
    template_table,
)
from ekc_roster.rules import Span, occupied, pair_conflict

CAL = ProductionCalendar.load()
TEMPLATES = template_table(
    [
        ("Д", "08:00", "20:00", 60),
        ("Н", "20:00", "08:00", 60),
        ("Р", "09:00", "18:00", 60),
        ("У", "07:00", "15:00", 0),
    ]
)


def problem(*people: Person, **kwargs) -> Problem:
    return Problem(
        year=2026,
        month=12,
        people=list(people) or [Person("ivanov")],
        templates=TEMPLATES,
        calendar=CAL,
        **kwargs,
    )


def dec(day: int) -> date:
    return date(2026, 12, day)


def shifts(username: str, *pairs: tuple[int, str]) -> list[Assignment]:
    return [Assignment(username, dec(d), code) for d, code in pairs]


def rules_of(result) -> list[tuple[str, date, str]]:
    return [(v.username, v.on_date, v.rule) for v in result.violations]


def test_night_minutes_of_any_span() -> None:
    def night(start: str, end: str, rules: RosterRules | None = None) -> int:
        return Template.of("X", start, end).night_minutes(rules or RosterRules())

    assert night("08:00", "20:00") == 0
    assert night("20:00", "08:00") == 8 * 60
    assert night("18:00", "23:30") == 90
    assert night("04:00", "10:00") == 120
    assert night("00:00", "00:00") == 8 * 60  # a whole day holds one full night
    narrow = RosterRules(night_from="23:00", night_to="05:00")
    assert night("22:00", "06:00", narrow) == 6 * 60
    assert Template.of("Н", "20:00", "08:00", 60).work_minutes == 11 * 60


def test_a_lawful_rotation_has_no_violations() -> None:
    # day, night, rest, rest: the classic 24/7 rotation, 8 cycles
    roster = []
    for start in range(1, 30, 4):
        roster += shifts("ivanov", (start, "Д"), (start + 1, "Н"))
    result = check(problem(), roster)
    assert result.violations == []
    assert result.lawful
    summary = result.people[0]
    assert (summary.shifts, summary.hours, summary.night_hours) == (16, 176.0, 64.0)
    assert summary.norm_hours == 176.0  # December 2026: 22 working days × 8 h


def test_overlapping_shifts_are_named() -> None:
    result = check(problem(), shifts("ivanov", (1, "Н"), (2, "У")))  # 20:00–08:00, then 07:00
    violation = result.violations[0]
    assert (violation.rule, violation.on_date, violation.article) == (
        "overlap",
        dec(2),
        "ст.103 ТК РФ",
    )
    assert "«Н» 01.12" in violation.message


def test_two_shifts_in_a_row_are_forbidden() -> None:
    result = check(problem(), shifts("ivanov", (1, "Н"), (2, "Д")))  # ends 08:00, starts 08:00
    assert rules_of(result) == [("ivanov", dec(2), "consecutive_shifts")]


def test_rest_between_shifts_is_twice_the_shift_by_default_and_configurable() -> None:
    roster = shifts("ivanov", (1, "Д"), (2, "Д"))  # 12 h of rest after 11 h of work
    result = check(problem(), roster)
    assert rules_of(result) == [("ivanov", dec(2), "min_rest")]
    assert "12 ч, положено не меньше 22 ч" in result.violations[0].message
    assert result.violations[0].article == "ст.107 ТК РФ"

    relaxed = RosterRules(rest_factor=0, min_rest_hours=12)
    assert check(problem(rules=relaxed), roster).violations == []
    stricter = RosterRules(rest_factor=0, min_rest_hours=13)
    assert rules_of(check(problem(rules=stricter), roster)) == [("ivanov", dec(2), "min_rest")]


def test_weekly_rest_of_42_hours_in_every_calendar_week() -> None:
    # Mon 7 … Sun 13 December: a day shift every other day leaves 36 h at most
    every_other_day = shifts("ivanov", (7, "Д"), (9, "Д"), (11, "Д"), (13, "Д"))
    result = check(problem(), every_other_day)
    assert rules_of(result) == [("ivanov", dec(7), "weekly_rest")]
    assert result.violations[0].article == "ст.110 ТК РФ"
    assert "07.12–13.12" in result.violations[0].message
    assert "36 ч, нужно 42 ч" in result.violations[0].message
    # without Sunday's shift, Friday 20:00 → Monday 00:00 is 52 h of rest
    assert check(problem(), every_other_day[:3]).violations == []


def test_hours_above_the_norm_are_planned_overtime() -> None:
    half = Person("petrova", employment_rate=0.5)  # 88 h in December 2026
    nine_days = shifts("petrova", *[(d, "Д") for d in range(1, 28, 3)])
    result = check(problem(half), nine_days)
    assert rules_of(result) == [("petrova", dec(25), "norm_hours")]
    assert "99 ч при норме 88 ч" in result.violations[0].message
    assert check(problem(half), nine_days[:8]).violations == []


def test_the_norm_follows_the_week_and_leaves_out_absences() -> None:
    p = problem(
        Person("a"),
        Person("b", week_hours=36),
        Person("c", employment_rate=0.75),
        absences=[Absence("a", dec(14), dec(20))],  # five working days of vacation
    )
    assert p.norm_minutes("a") == (176 - 40) * 60
    assert p.norm_minutes("b") == round(176 * 36 / 40 * 60)
    assert p.norm_minutes("c") == 132 * 60


def test_night_shifts_only_for_those_allowed_night_work() -> None:
    p = problem(Person("ivanov", night_work=False))
    assert rules_of(check(p, shifts("ivanov", (3, "Н")))) == [("ivanov", dec(3), "night_work")]
    assert check(p, shifts("ivanov", (3, "Д"), (6, "Р"))).violations == []


def test_no_shift_runs_into_a_vacation_or_sick_leave() -> None:
    p = problem(absences=[Absence("ivanov", dec(14), dec(20), "sick")])
    result = check(p, shifts("ivanov", (13, "Н"), (16, "Д")))
    assert rules_of(result) == [("ivanov", dec(13), "absence"), ("ivanov", dec(16), "absence")]
    assert "больничный 14.12" in result.violations[0].message


def test_unknown_templates_and_people_are_reported() -> None:
    result = check(problem(), [Assignment("ivanov", dec(3), "Z"), Assignment("ghost", dec(4), "Д")])
    assert rules_of(result) == [
        ("ivanov", dec(3), "unknown_template"),
        ("ghost", dec(4), "unknown_staff"),
    ]


def test_the_previous_months_last_shift_counts_for_rest() -> None:
    before = [Assignment("ivanov", date(2026, 11, 30), "Н")]
    result = check(problem(before=before), shifts("ivanov", (1, "Д")))
    assert rules_of(result) == [("ivanov", dec(1), "consecutive_shifts")]


def test_coverage_gaps_are_runs_of_short_hours() -> None:
    required = [0] * (31 * 24)
    for hour in range(8, 20):
        required[hour] = 2  # two operators on 1 December 08–20
    required[24 + 10] = 1  # one on 2 December at 10
    result = check(problem(required=required), shifts("ivanov", (1, "Д")))
    assert [
        (g.on_date, g.from_hour, g.to_hour, g.short, g.required, g.rostered) for g in result.gaps
    ] == [
        (dec(1), 8, 20, 1, 2, 1),
        (dec(2), 10, 11, 1, 1, 0),
    ]
    assert result.short_hours == 2
    assert result.covered[8:20] == [1] * 12


def test_the_night_of_the_first_is_a_gap_of_the_previous_roster() -> None:
    required = [0] * (31 * 24)
    required[2] = 1  # 1 December 02:00: only a shift of 30 November can staff it
    unknown = check(problem(required=required), []).gaps
    assert [(g.on_date, g.from_hour, g.to_hour, g.previous_roster) for g in unknown] == [
        (dec(1), 2, 3, True)
    ]
    assert "ночная смена 30.11 по графику на 2026-11: его нет в системе" in unknown[0].note
    required[8] = 1  # 08:00 is this month's: a run is split where the reach changes
    split = check(problem(required=required), []).gaps
    assert [(g.from_hour, g.to_hour, g.previous_roster, g.note) for g in split][1] == (
        8,
        9,
        False,
        "",
    )
    required[8] = 0
    known = problem(
        Person("ivanov"),
        Person("petrov"),
        required=required,
        before=[Assignment("petrov", date(2026, 11, 29), "Д")],
    )
    assert [(g.on_date, g.from_hour) for g in check(known, []).gaps] == [(dec(1), 2)]
    covered = problem(
        Person("ivanov"),
        Person("petrov"),
        required=required,
        before=[Assignment("petrov", date(2026, 11, 30), "Н")],
    )
    assert check(covered, []).gaps == []


def test_fair_share_counters_and_wishes() -> None:
    p = problem(
        preferences=[
            Preference("ivanov", "off", weekday=5),  # Saturdays off
            Preference("ivanov", "work", on_date=dec(16), template_code="Р"),
        ]
    )
    result = check(p, shifts("ivanov", (5, "Д"), (12, "Н"), (16, "Р")))  # Sat 5, Sat 12
    summary = result.people[0]
    assert (summary.weekend_shifts, summary.night_hours, summary.preferences_missed) == (2, 8.0, 2)


def test_holiday_shifts_are_counted() -> None:
    p = Problem(year=2026, month=1, people=[Person("ivanov")], templates=TEMPLATES, calendar=CAL)
    result = check(p, [Assignment("ivanov", date(2026, 1, 7), "Д")])  # Christmas
    assert result.people[0].holiday_shifts == 1


@pytest.mark.parametrize("rules", [RosterRules(), RosterRules(rest_factor=0, min_rest_hours=0)])
def test_solver_cliques_and_checker_pairs_agree(rules: RosterRules) -> None:
    """The generator forbids shifts whose occupied stretches meet; the checker names the pair
    conflict. Both must say the same for every pair of shift kinds and day offsets."""
    for a in TEMPLATES.values():
        for b in TEMPLATES.values():
            for offset in range(0, 4):
                first, second = Span(10, a), Span(10 + offset, b)
                if second.start < first.start:
                    first, second = second, first
                lo1, hi1 = occupied(rules, first)
                lo2, hi2 = occupied(rules, second)
                clash = lo1 < hi2 and lo2 < hi1
                assert clash == (pair_conflict(rules, first, second) is not None), (a, b, offset)


def test_bad_problems_are_refused_in_russian() -> None:
    with pytest.raises(RosterInputError, match="нет ни одного активного сотрудника"):
        Problem(year=2026, month=12, people=[], templates=TEMPLATES, calendar=CAL)
    with pytest.raises(RosterInputError, match="744 значений"):
        problem(required=[1] * 10)
    with pytest.raises(RosterInputError, match="шаблона смены"):
        Problem(year=2026, month=12, people=[Person("a")], templates={}, calendar=CAL)
