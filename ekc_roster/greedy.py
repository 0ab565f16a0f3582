"""A quick lawful first roster, built day by day; CP-SAT starts from it (solution hint).

Every placement is checked with the functions of `ekc_roster.rules` against the person's
shifts so far, so the result breaks no rule; it covers as much of the requirement as such a
one-pass construction can, then tops people up towards their norm where the cover is thinnest.
With operator groups (`Problem.group_required`) it prefers, for each shift, a person whose
groups are short in its hours, and tops people up where their groups are short.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from ekc_roster.model import LOOKBACK_DAYS, Assignment, Problem, Template
from ekc_roster.rules import (
    Span,
    absence_overlap,
    max_conflict_days,
    night_forbidden,
    overlaps,
    pair_conflict,
    weekly_rest_windows,
)


class _State:
    def __init__(self, problem: Problem, groups: bool = True) -> None:
        self.problem = problem
        self.group_need = (problem.group_required or {}) if groups else {}
        # skill holders on shift per group and hour (a person counts for each of their
        # groups here: a quick guide, the check assigns exactly)
        self.group_cover = {g: [0] * (problem.days * 24) for g in self.group_need}
        self.spans: dict[str, list[Span]] = defaultdict(list)
        self.worked: dict[str, int] = defaultdict(int)
        self.norm = {p.username: problem.norm_minutes(p.username) for p in problem.people}
        self.covered = [0] * (problem.days * 24)
        self.assignments: list[Assignment] = []
        self.reach = max_conflict_days(problem.rules, problem.templates)
        self.week_of: dict[int, list[tuple[int, list[tuple[int, int]]]]] = {}
        for monday in problem.weeks():
            first = problem.day_index(monday)
            windows = weekly_rest_windows(problem, monday)
            for d in range(first - 1, first + 7):
                self.week_of.setdefault(d, []).append((first, windows))
        for a in problem.before:
            if a.template_code in problem.templates and a.username in problem.person:
                span = Span(problem.day_index(a.on_date), problem.templates[a.template_code])
                self.spans[a.username].append(span)
                self._cover(span, a.username)

    def _cover(self, span: Span, username: str) -> None:
        person = self.problem.person[username]
        for offset in span.template.covered_hours():
            h = self.problem.hour_of_month(span.day, offset)
            if h is not None:
                self.covered[h] += 1
                for g in self.problem.queues(person.groups, h):
                    if g in self.group_cover:
                        self.group_cover[g][h] += 1

    def group_gain(self, username: str, span: Span) -> int:
        """Hours of the shift in which one of the person's groups is short."""
        person = self.problem.person[username]
        if not self.group_need or not person.groups:
            return 0
        total = 0
        for offset in span.template.covered_hours():
            h = self.problem.hour_of_month(span.day, offset)
            if h is not None and any(
                self.group_cover[g][h] < self.group_need[g][h]
                for g in self.problem.queues(person.groups, h)
                if g in self.group_need
            ):
                total += 1
        return total

    def can_take(self, username: str, span: Span) -> bool:
        p = self.problem
        if self.worked[username] + span.template.work_minutes > self.norm[username]:
            return False
        if night_forbidden(p, username, span.template) or absence_overlap(p, username, span):
            return False
        mine = self.spans[username]
        for other in mine:
            if abs(other.day - span.day) > self.reach:
                continue
            first, second = (other, span) if other.start <= span.start else (span, other)
            if pair_conflict(p.rules, first, second):
                return False
        trial = [*mine, span]
        for _, windows in self.week_of.get(span.day, []):
            if not any(all(not overlaps(s, lo, hi) for s in trial) for lo, hi in windows):
                return False
        return True

    def take(self, username: str, span: Span, code: str) -> None:
        self.spans[username].append(span)
        self.worked[username] += span.template.work_minutes
        self._cover(span, username)
        day = self.problem.horizon_start + timedelta(days=span.day)
        self.assignments.append(Assignment(username, day, code))

    def gain(self, span: Span) -> int:
        """Operators still missing in the hours this shift would staff."""
        required = self.problem.required
        if required is None:
            return 0
        total = 0
        for offset in span.template.covered_hours():
            h = self.problem.hour_of_month(span.day, offset)
            if h is not None and required[h] > self.covered[h]:
                total += 1
        return total

    def slack(self, span: Span) -> int:
        """How thin the cover is in the hours of the shift (smaller: more useful)."""
        required = self.problem.required or [0] * (self.problem.days * 24)
        values = [
            self.covered[h] - required[h]
            for offset in span.template.covered_hours()
            if (h := self.problem.hour_of_month(span.day, offset)) is not None
        ]
        return min(values) if values else 10**6


def first_roster(problem: Problem, *, groups: bool = True) -> list[Assignment]:
    state = _State(problem, groups)
    wishes_off: dict[tuple[str, int], set[str | None]] = defaultdict(set)
    for wish in problem.preferences:
        if wish.kind != "off":
            continue
        for day in problem.month_dates:
            if wish.applies(day):
                wishes_off[(wish.username, problem.day_index(day))].add(wish.template_code)

    def pick(span: Span, code: str) -> str | None:
        """The person furthest below their norm who may lawfully take the shift (and has
        not asked for that day off)."""

        def order(u: str) -> tuple[int, int, float]:
            wished = wishes_off.get((u, span.day), set())
            against = None in wished or code in wished
            return (
                int(against),
                -state.group_gain(u, span),
                state.worked[u] / max(1, state.norm[u]),
            )

        for u in sorted(state.norm, key=order):
            if state.can_take(u, span):
                return u
        return None

    days = range(LOOKBACK_DAYS, LOOKBACK_DAYS + problem.days)
    templates: list[tuple[str, Template]] = list(problem.templates.items())
    # 1. cover the requirement, day by day, the most useful shift first
    for d in days:
        while True:
            options = [(state.gain(Span(d, t)), code, t) for code, t in templates]
            options = [o for o in options if o[0] > 0]
            if not options:
                break
            placed = False
            for _, code, t in sorted(options, key=lambda o: -o[0]):
                span = Span(d, t)
                who = pick(span, code)
                if who is not None:
                    state.take(who, span, code)
                    placed = True
                    break
            if not placed:
                break
    # 2. top people up towards their norm where the cover is thinnest
    for person in sorted(problem.people, key=lambda p: state.worked[p.username]):
        u = person.username
        spare = [
            (-state.group_gain(u, Span(d, t)), state.slack(Span(d, t)), d, code, Span(d, t))
            for d in days
            for code, t in templates
            if (u, d) not in wishes_off
        ]
        for *_, code, span in sorted(spare, key=lambda o: o[:3]):
            if state.can_take(u, span):
                state.take(u, span, code)
    return sorted(state.assignments)
