"""Staffing by operator group in `ekc_roster`: the exact cover (max-flow, where assigning
people one by one fails), group gaps of a roster, and the generator preferring rosters that
cover every group."""

from __future__ import annotations

from datetime import date

import pytest

from ekc_core.workforce import RosterRules
from ekc_roster.calendar import ProductionCalendar
from ekc_roster.checker import check
from ekc_roster.greedy import first_roster
from ekc_roster.groups import served, uncovered
from ekc_roster.model import Assignment, Person, Problem, RosterInputError, template_table
from ekc_roster.solver import generate

CAL = ProductionCalendar.load()
DAY = template_table([("Д", "08:00", "17:00", 60)])
HOURS = 28 * 24  # February 2027


def one_by_one(need: dict[str, int], people: list[frozenset[str]]) -> dict[str, int]:
    """The tempting greedy: each person to the first (alphabetically) of their groups that
    still needs someone."""
    done = dict.fromkeys(need, 0)
    for groups in people:
        for g in sorted(groups):
            if done.get(g, 0) < need.get(g, 0):
                done[g] += 1
                break
    return done


def test_a_person_with_two_groups_serves_the_one_only_they_can() -> None:
    need = {"housing": 1, "svo": 1}
    people = [frozenset({"housing", "svo"}), frozenset({"housing"})]
    # one by one: the two-group person takes housing, the other can only do housing too
    assert one_by_one(need, people) == {"housing": 1, "svo": 0}
    # the flow moves them to svo and both groups are covered
    assert served(need, people) == {"housing": 1, "svo": 1}


def test_cover_is_counted_once_per_person_and_capped_by_the_need() -> None:
    people = [frozenset({"svo", "medicine"})] * 3 + [frozenset({"social"})]
    got = served({"svo": 2, "medicine": 2, "social": 3, "psych": 1}, people)
    assert got["svo"] + got["medicine"] == 3  # three people for four operators of need
    assert got["social"] == 1 and got["psych"] == 0
    assert served({"svo": 0}, people) == {"svo": 0}
    assert served({"svo": 2}, []) == {"svo": 0}


def _hours(days: range, hours: range, value: int = 1) -> list[int]:
    result = [0] * HOURS
    for d in days:
        for h in hours:
            result[d * 24 + h] = value
    return result


def _problem(people: list[Person], groups: dict[str, list[int]], pooled: int = 2) -> Problem:
    return Problem(
        year=2027,
        month=2,
        people=people,
        templates=DAY,
        calendar=CAL,
        rules=RosterRules(rest_factor=0, min_rest_hours=12),
        required=_hours(range(28), range(8, 17), pooled),
        group_required=groups,
        group_names={"svo": "СВО", "medicine": "Здравоохранение"},
    )


def test_the_check_reports_group_hours_the_staff_on_shift_cannot_cover() -> None:
    people = [
        Person("both", groups=frozenset({"svo", "medicine"})),
        Person("svo_only", groups=frozenset({"svo"})),
    ]
    problem = _problem(
        people,
        {"svo": _hours(range(28), range(8, 17)), "medicine": _hours(range(28), range(8, 17))},
        pooled=1,
    )
    # 1 February: both on shift — covered (svo_only → svo, both → medicine);
    # 2 February: only the two-group person — one of the groups is short all day
    roster = [
        Assignment("both", date(2027, 2, 1), "Д"),
        Assignment("svo_only", date(2027, 2, 1), "Д"),
        Assignment("both", date(2027, 2, 2), "Д"),
    ]
    result = check(problem, roster)
    day2 = [g for g in result.group_gaps if g.on_date == date(2027, 2, 2)]
    assert len(day2) == 1
    assert (day2[0].from_hour, day2[0].to_hour, day2[0].short) == (8, 17, 1)
    assert day2[0].able == 1 and day2[0].required == 1
    assert not [g for g in result.group_gaps if g.on_date == date(2027, 2, 1)]
    # 3 February on: nobody, both groups short every hour
    assert {g.group for g in result.group_gaps if g.on_date == date(2027, 2, 3)} == {
        "svo",
        "medicine",
    }
    group_hours, operator_hours = uncovered(result.group_short)
    assert group_hours == 9 + 26 * 2 * 9
    assert operator_hours == group_hours
    assert result.group_gaps[0].group_name in ("СВО", "Здравоохранение")


def test_a_group_requirement_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(RosterInputError, match="группы «svo»"):
        _problem([Person("a")], {"svo": [1] * 10})


def test_the_generator_prefers_a_roster_that_covers_every_group() -> None:
    # three people per group; every day one operator of each group is needed 08–17
    people = [Person(f"svo{i}", groups=frozenset({"svo"})) for i in range(3)]
    people += [Person(f"med{i}", groups=frozenset({"medicine"})) for i in range(3)]
    groups = {"svo": _hours(range(28), range(8, 17)), "medicine": _hours(range(28), range(8, 17))}
    problem = _problem(people, groups)
    # without looking at the groups the quick construction leaves groups short …
    blind = check(problem, first_roster(problem, groups=False))
    assert blind.gaps == [] and uncovered(blind.group_short)[0] > 0
    # … the generator with the groups in its objective covers every group-hour, lawfully
    outcome = generate(problem, time_limit=5, workers=2)
    assert outcome.result.violations == []
    assert outcome.result.gaps == []
    assert outcome.result.group_gaps == []
    report = outcome.report()
    assert report["uncovered_group_hours"] == 0
    assert report["group_short_operator_hours"] == 0


def test_the_quick_construction_looks_at_the_groups_too() -> None:
    people = [Person(f"svo{i}", groups=frozenset({"svo"})) for i in range(3)]
    people += [Person(f"med{i}", groups=frozenset({"medicine"})) for i in range(3)]
    groups = {"svo": _hours(range(28), range(8, 17)), "medicine": _hours(range(28), range(8, 17))}
    problem = _problem(people, groups)
    blind = check(problem, first_roster(problem, groups=False))
    seeing = check(problem, first_roster(problem))
    assert seeing.violations == [] and seeing.gaps == []
    assert uncovered(seeing.group_short)[1] < uncovered(blind.group_short)[1]


def test_a_multi_skilled_shift_serves_one_group_in_the_objective() -> None:
    # one operator a day would meet the pooled need; counted for both of their groups at
    # once they would seem to cover both — the generator puts two on every day instead
    people = [
        Person(f"both{i}", employment_rate=0.75, groups=frozenset({"svo", "medicine"}))
        for i in range(4)
    ]
    groups = {"svo": _hours(range(28), range(8, 17)), "medicine": _hours(range(28), range(8, 17))}
    problem = _problem(people, groups, pooled=1)
    outcome = generate(problem, time_limit=5, workers=2)
    assert outcome.result.violations == [] and outcome.result.gaps == []
    assert outcome.result.group_gaps == []
    per_day: dict[date, int] = {}
    for a in outcome.assignments:
        per_day[a.on_date] = per_day.get(a.on_date, 0) + 1
    assert min(per_day.values()) >= 2 and len(per_day) == 28


def test_without_groups_the_report_says_nothing_of_them() -> None:
    problem = _problem([Person(f"op{i}") for i in range(3)], {}, pooled=1)
    problem.group_required = None
    outcome = generate(problem, time_limit=1, workers=1)
    assert outcome.result.group_gaps == [] and outcome.result.group_short == {}
    assert "uncovered_group_hours" not in outcome.report()


def test_staff_of_a_merged_group_serve_the_queue_its_calls_are_in() -> None:
    # SVO is small all month: its calls are in the general group's queue (need 1, 08–17);
    # only SVO staff work here
    people = [Person(f"svo{i}", groups=frozenset({"svo"})) for i in range(3)]
    groups = {"svo": [0] * HOURS, "general": _hours(range(28), range(8, 17))}
    problem = _problem(people, groups, pooled=1)
    roster = first_roster(problem)
    # without the rule's mapping nobody on shift can take the general group's calls …
    assert uncovered(check(problem, roster).group_short) == (28 * 9, 28 * 9)
    # … with it, the SVO staff count for the general queue, where SVO's calls are
    problem.group_merged = {"svo": ["general"] * HOURS}
    assert check(problem, roster).group_gaps == []
    # where the map says "" SVO keeps its own queue (1 Feb: SVO needs 1 08–17): its staff
    # serve it, and nobody is left for the general group's own calls that day
    problem.group_merged = {"svo": ["" if h < 24 else "general" for h in range(HOURS)]}
    problem.group_required = {**groups, "svo": _hours(range(1), range(8, 17))}
    outcome = generate(problem, time_limit=5, workers=2)
    assert outcome.result.violations == [] and outcome.result.gaps == []
    assert [(g.group, g.on_date.day, g.from_hour, g.to_hour, g.able) for g in
            outcome.result.group_gaps] == [("general", 1, 8, 17, 0)]  # fmt: skip
