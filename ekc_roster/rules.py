"""The labour-code rule set of a roster, in one place.

The CP-SAT generator (`ekc_roster.solver`) turns these functions into constraints and the
checker (`ekc_roster.checker`) applies the very same functions to any roster, generated or
edited by hand. A rule changed here changes both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ekc_core.workforce import RosterRules
from ekc_roster.model import DAY, Problem, Template


@dataclass(frozen=True)
class Rule:
    id: str
    article: str
    title: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("overlap", "ст.103 ТК РФ", "смены накладываются друг на друга"),
        Rule("consecutive_shifts", "ст.103 ТК РФ", "две смены подряд"),
        Rule("min_rest", "ст.107 ТК РФ", "междусменный отдых короче положенного"),
        Rule("weekly_rest", "ст.110 ТК РФ", "нет непрерывного еженедельного отдыха"),
        Rule("norm_hours", "ст.91, 99, 104 ТК РФ", "часы сверх нормы учётного периода"),
        Rule("night_work", "ст.96 ТК РФ", "ночная работа сотруднику, которому она запрещена"),
        Rule("absence", "ст.106, 114, 183 ТК РФ", "смена в отпуск, больничный или отгул"),
        Rule("unknown_template", "—", "нет такого шаблона смены"),
        Rule("unknown_staff", "—", "нет такого активного сотрудника"),
    )
}


@dataclass(frozen=True)
class Span:
    """One shift placed on the horizon: [start, end) in minutes."""

    day: int
    template: Template

    @property
    def start(self) -> int:
        return self.day * DAY + self.template.start_min

    @property
    def end(self) -> int:
        return self.start + self.template.span_min


def required_rest_minutes(rules: RosterRules, template: Template) -> int:
    """Rest owed after a shift: the configured minimum, and at least `rest_factor` times the
    shift's working time (default: twice the shift)."""
    by_factor = rules.rest_factor * template.work_minutes
    return round(max(rules.min_rest_hours * 60, by_factor))


def pair_conflict(rules: RosterRules, first: Span, second: Span) -> str | None:
    """The rule broken by working `first` and then `second` (which starts no earlier), or
    None. Used for every pair of shifts of one person."""
    if second.start < first.end:
        return "overlap"
    if second.start == first.end:
        return "consecutive_shifts"
    if second.start - first.end < required_rest_minutes(rules, first.template):
        return "min_rest"
    return None


def occupied(rules: RosterRules, span: Span) -> tuple[int, int]:
    """The stretch a shift keeps its person from starting another: the shift and the rest
    owed after it (at least a minute, so that two shifts in a row always clash).

    `pair_conflict(a, b)` is not None exactly when the occupied stretches of `a` and `b`
    intersect, so the shifts of one person that cover any moment form a clique: the solver
    states "at most one of them" per moment instead of one clause per pair.
    """
    return span.start, span.end + max(1, required_rest_minutes(rules, span.template))


def max_conflict_days(rules: RosterRules, templates: dict[str, Template]) -> int:
    """How many days apart two shift starts can be and still conflict."""
    longest = max(t.start_min + t.span_min for t in templates.values())
    rest = max(required_rest_minutes(rules, t) for t in templates.values())
    return (longest + rest) // DAY + 1


def weekly_rest_windows(problem: Problem, monday: date) -> list[tuple[int, int]]:
    """Candidate windows [start, start + weekly rest) inside the week starting `monday`.

    A week has its uninterrupted weekly rest (ст.110) exactly when one of these windows holds
    no work: any long enough free stretch begins at the week's start or at the end of a
    shift, and those are the candidates.
    """
    need = round(problem.rules.weekly_rest_hours * 60)
    week_start = problem.day_index(monday) * DAY
    week_end = week_start + 7 * DAY
    starts = {week_start}
    first_day = problem.day_index(monday)
    for day in range(first_day - 2, first_day + 7):
        for t in problem.templates.values():
            end = Span(day, t).end
            if week_start < end < week_end:
                starts.add(end)
    return sorted((s, s + need) for s in starts if s + need <= week_end)


def overlaps(span: Span, lo: int, hi: int) -> bool:
    return span.start < hi and lo < span.end


def absence_overlap(problem: Problem, username: str, span: Span) -> date | None:
    """The first absence day the shift runs into, if any."""
    for offset in range(span.start // DAY, (span.end - 1) // DAY + 1):
        day = problem.horizon_start + timedelta(days=offset)
        if problem.absence_on(username, day) is not None:
            return day
    return None


def night_forbidden(problem: Problem, username: str, template: Template) -> bool:
    return not problem.person[username].night_work and template.night_minutes(problem.rules) > 0


def in_reach(problem: Problem) -> list[bool]:
    """For every hour of the month: whether a shift starting in the month can staff it. The
    first hours of the 1st (under the night shift of the previous month's last day) cannot:
    only the previous month's roster staffs them."""
    reach = [False] * (problem.days * 24)
    for day in range(problem.day_index(problem.first), problem.day_index(problem.last) + 1):
        for t in problem.templates.values():
            for offset in t.covered_hours():
                h = problem.hour_of_month(day, offset)
                if h is not None:
                    reach[h] = True
    return reach


def required_in_reach(problem: Problem) -> list[int] | None:
    """The part of the requirement this month's shifts can answer for (the generator's
    goal): every hour except those only the previous month's night shift can staff.

    Coverage is never *checked* against this: the checker holds every hour of the month to
    the stored requirement (`problem.required`), so an unstaffed first night is a gap."""
    if problem.required is None:
        return None
    return [need if ok else 0 for need, ok in zip(problem.required, in_reach(problem), strict=True)]


def impossible_requirement(problem: Problem) -> list[str]:
    """Requirements no roster can meet, found before solving (Russian, one line each):
    an hour needing more operators than there are people who may work it, or more
    operator-hours in the month than the staff's norms hold."""
    problems: list[str] = []
    if problem.required is None:
        return problems
    rules = problem.rules
    night_from = int(rules.night_from[:2])
    night_to = int(rules.night_to[:2])
    everyone = len(problem.people)
    night_ok = sum(1 for p in problem.people if p.night_work)
    over: dict[bool, list[tuple[int, int]]] = {True: [], False: []}  # night? → (hour, need)
    for h, need in enumerate(problem.required):
        hour = h % 24
        night = hour >= night_from or hour < night_to
        if need > (night_ok if night else everyone):
            over[night].append((h, need))
    for night, hours in over.items():
        if not hours:
            continue
        h, need = hours[0]
        first = f"{problem.first + timedelta(days=h // 24):%d.%m} {h % 24:02d}:00"
        if night:
            problems.append(
                f"{len(hours)} ночн. ч требуют больше операторов, чем допущено к ночной "
                f"работе ({night_ok}); первый — {first}, нужно {need}"
            )
        else:
            problems.append(
                f"{len(hours)} дневн. ч требуют больше операторов, чем всего сотрудников "
                f"({everyone}); первый — {first}, нужно {need}"
            )
    need_hours = sum(problem.required)
    # a shift staffs its whole span, breaks included, but only its working time counts
    # towards the norm
    stretch = max(t.span_min / t.work_minutes for t in problem.templates.values())
    capacity = sum(problem.norm_minutes(p.username) for p in problem.people) / 60 * stretch
    if need_hours > capacity:
        problems.append(
            f"потребность {need_hours} операторо-часов больше суммы норм сотрудников "
            f"(не больше {capacity:.0f} ч на сменах) — без сверхурочных не покрыть"
        )
    return problems
