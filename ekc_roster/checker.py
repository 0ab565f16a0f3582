"""Check any roster against the rule set of `ekc_roster.rules`: name each violation (person,
date, rule, article), find the coverage gaps, and sum up hours per person."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from ekc_core.workforce import CoverageGap, RosterPersonSummary, RosterViolation
from ekc_core.workforce_groups import GroupGap
from ekc_roster import groups as group_cover
from ekc_roster.model import DAY, Assignment, Problem
from ekc_roster.rules import (
    RULES,
    Span,
    absence_overlap,
    in_reach,
    night_forbidden,
    overlaps,
    pair_conflict,
    required_rest_minutes,
    weekly_rest_windows,
)


@dataclass
class CheckResult:
    violations: list[RosterViolation]
    gaps: list[CoverageGap]
    covered: list[int]
    """Operators on shift in each hour of the month."""
    people: list[RosterPersonSummary]
    group_short: dict[str, list[int]] = field(default_factory=dict)
    """Per operator group and hour of the month: operators missing (exact assignment)."""
    group_gaps: list[GroupGap] = field(default_factory=list)

    @property
    def uncovered_group_hours(self) -> tuple[int, int]:
        """(group-hours with anyone missing, operator-hours missing) over all groups."""
        return group_cover.uncovered(self.group_short)

    @property
    def lawful(self) -> bool:
        return not self.violations

    @property
    def short_hours(self) -> int:
        """Operator-hours missing against the requirement."""
        return sum(g.short for g in self.gaps)


def _violation(username: str, day: date, rule: str, message: str) -> RosterViolation:
    return RosterViolation(
        username=username, on_date=day, rule=rule, article=RULES[rule].article, message=message
    )


def _hours(minutes: int) -> str:
    return f"{minutes / 60:g} ч"


def check(problem: Problem, roster: Iterable[Assignment]) -> CheckResult:
    """Every rule for every person; shifts before the month (`problem.before`) count for the
    rest rules but violations are only reported for days of the month."""
    shifts = sorted(set(roster))
    violations: list[RosterViolation] = []
    by_person: dict[str, list[tuple[date, Span]]] = defaultdict(list)
    for a in sorted(set(problem.before)) + shifts:
        in_month = problem.first <= a.on_date <= problem.last
        if a.template_code not in problem.templates:
            if in_month:
                violations.append(
                    _violation(
                        a.username,
                        a.on_date,
                        "unknown_template",
                        f"смена «{a.template_code}»: такого шаблона нет",
                    )
                )
            continue
        if a.username not in problem.person:
            if in_month:
                violations.append(
                    _violation(
                        a.username,
                        a.on_date,
                        "unknown_staff",
                        f"{a.username}: нет среди активных сотрудников",
                    )
                )
            continue
        by_person[a.username].append(
            (a.on_date, Span(problem.day_index(a.on_date), problem.templates[a.template_code]))
        )

    for username, placed in by_person.items():
        violations += _person_violations(problem, username, placed)

    covered = _coverage(problem, by_person)
    gaps = gaps_of(problem, covered)
    people = [_summary(problem, p.username, by_person.get(p.username, [])) for p in problem.people]
    violations.sort(key=lambda v: (v.on_date, v.username, v.rule))
    result = CheckResult(violations=violations, gaps=gaps, covered=covered, people=people)
    if problem.group_required:
        spans = {u: [s for _, s in placed] for u, placed in by_person.items()}
        short, able = group_cover.shortfalls(problem, spans)
        result.group_short = short
        result.group_gaps = group_cover.gaps(problem, short, able)
    return result


def _person_violations(
    problem: Problem, username: str, placed: list[tuple[date, Span]]
) -> list[RosterViolation]:
    rules = problem.rules
    found: list[RosterViolation] = []

    def in_month(day: date) -> bool:
        return problem.first <= day <= problem.last

    placed.sort(key=lambda item: item[1].start)
    for i, (day, span) in enumerate(placed):
        if not in_month(day):
            continue
        if night_forbidden(problem, username, span.template):
            found.append(
                _violation(
                    username,
                    day,
                    "night_work",
                    f"смена «{span.template.code}» захватывает ночь, а ночная работа "
                    "сотруднику не разрешена",
                )
            )
        away = absence_overlap(problem, username, span)
        if away is not None:
            absence = problem.absence_on(username, away)
            kind = absence.kind if absence else ""
            found.append(
                _violation(
                    username,
                    day,
                    "absence",
                    f"смена «{span.template.code}» приходится на "
                    f"{_ABSENCE.get(kind, 'отсутствие')} {away:%d.%m}",
                )
            )
        # every earlier shift close enough to matter (not only the previous one: a long
        # shift may overlap one that started two shifts before)
        for prev_day, prev in placed[:i]:
            rule = pair_conflict(rules, prev, span)
            if rule is None:
                continue
            gap = span.start - prev.end
            if rule == "overlap":
                message = f"накладывается на смену «{prev.template.code}» {prev_day:%d.%m}"
            elif rule == "consecutive_shifts":
                message = f"начинается сразу после смены «{prev.template.code}» {prev_day:%d.%m}"
            else:
                owed = required_rest_minutes(rules, prev.template)
                message = (
                    f"отдых после смены «{prev.template.code}» {prev_day:%d.%m} — "
                    f"{_hours(gap)}, положено не меньше {_hours(owed)}"
                )
            found.append(_violation(username, day, rule, message))

    spans = [span for _, span in placed]
    for monday in problem.weeks():
        windows = weekly_rest_windows(problem, monday)
        if not any(all(not overlaps(s, lo, hi) for s in spans) for lo, hi in windows):
            sunday = monday + timedelta(days=6)
            longest = _longest_rest(problem, monday, spans)
            found.append(
                _violation(
                    username,
                    max(monday, problem.first),
                    "weekly_rest",
                    f"неделя {monday:%d.%m}–{sunday:%d.%m}: самый долгий непрерывный отдых "
                    f"{_hours(longest)}, нужно {rules.weekly_rest_hours:g} ч",
                )
            )

    worked = sum(span.template.work_minutes for day, span in placed if in_month(day))
    norm = problem.norm_minutes(username)
    if worked > norm:
        last_day = max(day for day, _ in placed if in_month(day))
        found.append(
            _violation(
                username,
                last_day,
                "norm_hours",
                f"за месяц {_hours(worked)} при норме {_hours(norm)}: "
                "сверхурочная работа графиком не планируется",
            )
        )
    return found


_ABSENCE = {
    "vacation": "отпуск",
    "sick": "больничный",
    "day_off": "отгул",
    "study": "учебный отпуск",
    "other": "отсутствие",
}


def _longest_rest(problem: Problem, monday: date, spans: list[Span]) -> int:
    lo = problem.day_index(monday) * DAY
    hi = lo + 7 * DAY
    busy = sorted((max(s.start, lo), min(s.end, hi)) for s in spans if overlaps(s, lo, hi))
    longest, cursor = 0, lo
    for start, end in busy:
        longest = max(longest, start - cursor)
        cursor = max(cursor, end)
    return max(longest, hi - cursor)


def _coverage(problem: Problem, by_person: dict[str, list[tuple[date, Span]]]) -> list[int]:
    covered = [0] * (problem.days * 24)
    for placed in by_person.values():
        for _, span in placed:
            for offset in span.template.covered_hours():
                h = problem.hour_of_month(span.day, offset)
                if h is not None:
                    covered[h] += 1
    return covered


def gaps_of(problem: Problem, covered: list[int]) -> list[CoverageGap]:
    """Runs of hours of one day with fewer operators than the stored requirement, every hour
    of the month; a run is split where only the previous month's roster can staff the hours
    (the night of the 1st), and such a gap says so."""
    if problem.required is None:
        return []
    short = [max(0, need - have) for need, have in zip(problem.required, covered, strict=True)]
    return _runs(problem, short, covered)


def opened_gaps(problem: Problem, before: list[int], after: list[int]) -> list[CoverageGap]:
    """The gaps a change of coverage `before` → `after` opens or deepens: runs of hours where
    fewer operators than required are on shift after it than before (`short`: most added)."""
    required = problem.required
    if required is None:
        return []
    added = [
        max(0, need - now) - max(0, need - was)
        for need, was, now in zip(required, before, after, strict=True)
    ]
    return _runs(problem, added, after)


def _runs(problem: Problem, short: list[int], covered: list[int]) -> list[CoverageGap]:
    """Runs of hours of one day with `short` > 0, split where the reach of this month's
    shifts changes; each names its worst hour's requirement and operators on shift."""
    required = problem.required or [0] * len(short)
    reach = in_reach(problem)
    gaps: list[CoverageGap] = []
    for d in range(problem.days):
        day = problem.first + timedelta(days=d)
        run: tuple[int, int, bool] | None = None  # (from hour, worst hour, in reach)
        for hour in range(25):
            h = d * 24 + hour
            lack, ok = (max(0, short[h]), reach[h]) if hour < 24 else (0, True)
            if run is not None and (not lack or ok != run[2]):
                worst = run[1]
                gaps.append(
                    _gap(
                        problem,
                        day,
                        run[0],
                        hour,
                        short[worst],
                        previous=not run[2],
                        need=(required[worst], covered[worst]),
                    )
                )
                run = None
            if lack and run is None:
                run = (hour, h, ok)
            elif lack and run is not None and lack > short[run[1]]:
                run = (run[0], h, ok)
    return gaps


def _gap(
    problem: Problem,
    day: date,
    from_hour: int,
    to_hour: int,
    short: int,
    *,
    previous: bool,
    need: tuple[int, int],
) -> CoverageGap:
    note = ""
    if previous:
        eve = problem.first - timedelta(days=1)
        month = f"{eve.year:04d}-{eve.month:02d}"
        # the kinds of shift starting on the eve that staff these hours (the night shift)
        codes = [t.code for t in problem.templates.values() if 24 + from_hour in t.covered_hours()]
        code = codes[0] if codes else "<смена>"
        note = f"эти часы закрывает ночная смена {eve:%d.%m} по графику на {month}" + (
            f": его нет в системе — ekc-admin roster generate --month {month}"
            if not (problem.before or problem.previous_known)
            else f": добавьте её там — ekc-admin roster assign <логин> {eve:%Y-%m-%d} {code}"
        )
    return CoverageGap(
        on_date=day,
        from_hour=from_hour,
        to_hour=to_hour,
        short=short,
        required=need[0],
        rostered=need[1],
        previous_roster=previous,
        note=note,
    )


def _summary(
    problem: Problem, username: str, placed: list[tuple[date, Span]]
) -> RosterPersonSummary:
    person = problem.person[username]
    mine = [(day, span) for day, span in placed if problem.first <= day <= problem.last]
    missed = 0
    for wish in problem.preferences_of(username):
        for day in problem.month_dates:
            if not wish.applies(day):
                continue
            codes = [span.template.code for d, span in mine if d == day]
            missed += int(preference_missed(wish.kind, wish.template_code, codes))
    return RosterPersonSummary(
        username=username,
        full_name=person.full_name,
        shifts=len(mine),
        hours=sum(span.template.work_minutes for _, span in mine) / 60,
        norm_hours=problem.norm_minutes(username) / 60,
        night_hours=sum(span.template.night_minutes(problem.rules) for _, span in mine) / 60,
        weekend_shifts=sum(1 for day, _ in mine if problem.is_weekend(day)),
        holiday_shifts=sum(1 for day, _ in mine if problem.is_holiday(day)),
        preferences_missed=missed,
    )


def preference_missed(kind: str, template_code: str | None, worked_codes: list[str]) -> bool:
    """Whether a day's shifts go against a wish: `off` (that shift, or any) is missed by
    working it; `work` (that shift, or any) is missed by not working it."""
    hits = [c for c in worked_codes if template_code is None or c == template_code]
    return bool(hits) if kind == "off" else not hits
