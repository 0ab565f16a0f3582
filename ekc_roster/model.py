"""The rostering problem as plain data: people, shift kinds, absences, wishes, the hourly
requirement and the shifts already worked before the month.

Time is counted in minutes from the horizon's first midnight (local time of the centre). The
horizon starts `LOOKBACK_DAYS` before the month so that rest rules see the end of the
previous month's roster.
"""

from __future__ import annotations

import calendar as _stdcal
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from ekc_core.workforce import RosterRules, minutes_of, span_minutes
from ekc_roster.calendar import ProductionCalendar

DAY = 24 * 60
#: days before the month that the rules look at (a whole calendar week and then some)
LOOKBACK_DAYS = 7


class RosterInputError(ValueError):
    """The problem cannot be rostered as given (empty staff, unknown template …); Russian text."""


class RosterInfeasibleError(ValueError):
    """Not even the soft model has a roster (e.g. the fixed shifts already break a rule)."""


@dataclass(frozen=True)
class Template:
    """A kind of shift; a shift ending at or before its start time ends the next day."""

    code: str
    start_min: int
    span_min: int
    break_min: int = 0

    @classmethod
    def of(cls, code: str, starts_at: str, ends_at: str, break_minutes: int = 0) -> Template:
        return cls(
            code=code,
            start_min=minutes_of(starts_at),
            span_min=span_minutes(starts_at, ends_at),
            break_min=break_minutes,
        )

    @property
    def work_minutes(self) -> int:
        return self.span_min - self.break_min

    def night_minutes(self, rules: RosterRules) -> int:
        """Minutes of the span within the night window (22:00–06:00 by default, ст.96)."""
        night_from, night_to = minutes_of(rules.night_from), minutes_of(rules.night_to)
        total = 0
        start, end = self.start_min, self.start_min + self.span_min
        for day in (-1, 0, 1):  # night windows touching the span
            lo = day * DAY + night_from
            hi = day * DAY + night_to + (DAY if night_to <= night_from else 0)
            total += max(0, min(end, hi) - max(start, lo))
        return min(total, self.work_minutes)

    def covered_hours(self) -> list[int]:
        """Hour offsets from the start day's midnight that the shift staffs (≥ 30 min of the
        hour on shift): 08:00–20:00 → 8 … 19; 20:00–08:00 → 20 … 31."""
        start, end = self.start_min, self.start_min + self.span_min
        return [
            h
            for h in range(start // 60, (end + 59) // 60)
            if min(end, h * 60 + 60) - max(start, h * 60) >= 30
        ]


@dataclass(frozen=True)
class Person:
    username: str
    full_name: str = ""
    employment_rate: float = 1.0
    week_hours: float = 40.0
    night_work: bool = True
    groups: frozenset[str] = frozenset()
    """Operator groups the person takes contacts of (`RoutingTable.member_groups`)."""


@dataclass(frozen=True)
class Absence:
    username: str
    start: date
    end: date
    """Inclusive."""
    kind: str = "vacation"


@dataclass(frozen=True)
class Preference:
    username: str
    kind: str  # off | work
    on_date: date | None = None
    weekday: int | None = None
    template_code: str | None = None

    def applies(self, day: date) -> bool:
        return self.on_date == day if self.on_date is not None else self.weekday == day.weekday()


@dataclass(frozen=True, order=True)
class Assignment:
    username: str
    on_date: date
    template_code: str


@dataclass
class Problem:
    year: int
    month: int
    people: list[Person]
    templates: dict[str, Template]
    calendar: ProductionCalendar
    rules: RosterRules = field(default_factory=RosterRules)
    required: list[int] | None = None
    """Operators needed in each hour of the month (days × 24); None: no coverage goal."""
    absences: list[Absence] = field(default_factory=list)
    preferences: list[Preference] = field(default_factory=list)
    before: list[Assignment] = field(default_factory=list)
    """Shifts of the days before the month (the previous roster), fixed."""
    previous_known: bool = False
    """The previous month's roster is in the system (even if `before` is empty)."""
    group_required: dict[str, list[int]] | None = None
    """Each operator group's own requirement per hour of the month; None: no group goal."""
    group_names: dict[str, str] = field(default_factory=dict)
    group_merged: dict[str, list[str]] = field(default_factory=dict)
    """Per group and hour of the month: the group whose queue takes its calls ("" its own;
    `ekc_roster.group_merge`). Staff of a merged group count for that queue then."""

    def __post_init__(self) -> None:
        if not self.people:
            raise RosterInputError("нет ни одного активного сотрудника: график не из кого строить")
        if not self.templates:
            raise RosterInputError(
                "нет ни одного шаблона смены: добавьте ekc-admin shifts templates add"
            )
        if self.required is not None and len(self.required) != self.days * 24:
            raise RosterInputError(
                f"потребность должна быть на каждый час месяца: {self.days * 24} значений, "
                f"а получено {len(self.required)}"
            )
        for code, hourly in (self.group_required or {}).items():
            if len(hourly) != self.days * 24:
                raise RosterInputError(
                    f"потребность группы «{code}» должна быть на каждый час месяца: "
                    f"{self.days * 24} значений, а получено {len(hourly)}"
                )
        names = [p.username for p in self.people]
        if len(set(names)) != len(names):
            raise RosterInputError("сотрудник указан дважды")

    def queues(self, groups: frozenset[str], hour: int) -> frozenset[str]:
        """The queues a person of `groups` serves in an hour of the month: each group's own,
        or the one its calls are merged into."""
        if not self.group_merged:
            return groups
        return frozenset(
            (self.group_merged[g][hour] or g) if g in self.group_merged else g for g in groups
        )

    # --- the calendar of the problem -----------------------------------------------------

    @cached_property
    def days(self) -> int:
        return _stdcal.monthrange(self.year, self.month)[1]

    @cached_property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @cached_property
    def last(self) -> date:
        return date(self.year, self.month, self.days)

    @cached_property
    def horizon_start(self) -> date:
        return self.first - timedelta(days=LOOKBACK_DAYS)

    @property
    def month_dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def day_index(self, day: date) -> int:
        """Index of `day` in the horizon (0 = `horizon_start`)."""
        return (day - self.horizon_start).days

    def hour_of_month(self, day_index: int, hour_offset: int) -> int | None:
        """Index into `required` for an hour of a shift starting on horizon day `day_index`."""
        h = (day_index - LOOKBACK_DAYS) * 24 + hour_offset
        return h if 0 <= h < self.days * 24 else None

    def weeks(self) -> list[date]:
        """Mondays of the calendar weeks the weekly-rest rule checks for this month: every
        week that has a day in the month and ends (Sunday) within it; the last, unfinished
        week is checked with the next month's roster."""
        monday = self.first - timedelta(days=self.first.weekday())
        result = []
        while monday + timedelta(days=6) <= self.last:
            result.append(monday)
            monday += timedelta(days=7)
        return result

    # --- people ----------------------------------------------------------------------------

    @cached_property
    def person(self) -> dict[str, Person]:
        return {p.username: p for p in self.people}

    def absent_days(self, username: str) -> set[date]:
        result: set[date] = set()
        for a in self.absences:
            if a.username != username:
                continue
            d = a.start
            while d <= a.end:
                result.add(d)
                d += timedelta(days=1)
        return result

    def absence_on(self, username: str, day: date) -> Absence | None:
        for a in self.absences:
            if a.username == username and a.start <= day <= a.end:
                return a
        return None

    def norm_minutes(self, username: str) -> int:
        """The person's norm for the month (ст.104): the production-calendar norm for their
        working week, less the days they are absent, times their employment rate."""
        p = self.person[username]
        full = self.calendar.norm_hours(self.first, self.last, p.week_hours)
        away = sum(
            self.calendar.norm_hours(d, d, p.week_hours)
            for d in self.absent_days(username)
            if self.first <= d <= self.last
        )
        return round((full - away) * p.employment_rate * 60)

    def preferences_of(self, username: str) -> list[Preference]:
        return [w for w in self.preferences if w.username == username]

    def is_weekend(self, day: date) -> bool:
        """A day off of the production calendar other than a public holiday: Saturdays and
        Sundays, and days off moved by the decree (31 December 2026)."""
        return not self.calendar.is_working_day(day) and not self.is_holiday(day)

    def is_holiday(self, day: date) -> bool:
        return self.calendar.is_public_holiday(day)


def template_table(rows: Iterable[tuple[str, str, str, int]]) -> dict[str, Template]:
    """`[(code, starts_at, ends_at, break_minutes)]` → templates by code."""
    return {code: Template.of(code, start, end, brk) for code, start, end, brk in rows}
