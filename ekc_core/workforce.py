"""Wire schemas of the workforce part of API v1: staff records, shift templates, absences,
preferences, staffing requirements and rosters.

Shared by the backend (`ekc_server`), the admin CLI and the rostering engine (`ekc_roster`).
Times of day are local to the centre (Asia/Irkutsk) and written `HH:MM`; months `YYYY-MM`.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, EmailStr, Field, model_validator

from ekc_core.enums import Role
from ekc_core.fields import YEAR_MAX, YEAR_MIN, InputDate, Int32, Text
from ekc_core.schemas import NonEmpty, Phone, Wire
from ekc_core.workforce_groups import DEFAULT_MERGE_BELOW_ERLANGS, GroupGap, GroupRequirementPublic

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
#: a month as the API and the CLI take it: `YYYY-MM`, years 2000–2100 (`ekc_core.fields`)
MONTH_PATTERN = r"^(20\d\d|2100)-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)
#: what a refused month is told
MONTH_FORMAT = f"месяц в формате ГГГГ-ММ, например 2026-12 (годы {YEAR_MIN}–{YEAR_MAX})"


def _hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError("время в формате ЧЧ:ММ, например 08:00")
    return value


def _month(value: str) -> str:
    if not _MONTH.match(value):
        raise ValueError(MONTH_FORMAT)
    return value


#: a time of day, `HH:MM` (00:00–23:59)
ClockTime = Annotated[str, AfterValidator(_hhmm)]
#: a calendar month, `YYYY-MM`
Month = Annotated[str, AfterValidator(_month)]
#: a short shift code shown in roster grids (`Д`, `Н`, `Р8`)
TemplateCode = Annotated[Text, Field(min_length=1, max_length=10, pattern=r"^\S+$")]
Username = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")]


def minutes_of(clock: str) -> int:
    """`"08:30"` → 510."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def span_minutes(starts_at: str, ends_at: str) -> int:
    """Length of a shift in minutes; an end at or before the start is on the next day
    (`"20:00"`–`"08:00"` → 720, `"00:00"`–`"00:00"` → a whole day)."""
    return (minutes_of(ends_at) - minutes_of(starts_at)) % (24 * 60) or 24 * 60


def month_bounds(month: str) -> tuple[int, int]:
    """`"2026-12"` → (2026, 12)."""
    year, mon = month.split("-")
    return int(year), int(mon)


# --- staff ------------------------------------------------------------------------------


class StaffFields(Wire):
    """What a shift lead or admin keeps about a person (all optional: used for updates)."""

    full_name: NonEmpty | None = None
    role: Role | None = None
    office_code: Annotated[Text, Field(max_length=60)] | None = None
    skills: list[Annotated[Text, Field(min_length=1, max_length=40)]] | None = None
    """Topic groups the person handles (`svo`, `medicine`, …; see `ekc-admin topics list`)."""
    phone: Phone | None = None
    email: EmailStr | None = None
    employment_rate: Annotated[float, Field(gt=0, le=1.0)] | None = None
    """Share of a full-time post: 1.0, 0.75, 0.5 …"""
    week_hours: Annotated[float, Field(gt=0, le=40)] | None = None
    """Statutory working week in hours: 40, or 36/35/24 for reduced-time categories (ст.92)."""
    night_work: bool | None = None
    """May work nights 22:00–06:00 (ст.96: not pregnant women, not under 18, and others)."""


class StaffCreate(StaffFields):
    username: Username
    full_name: NonEmpty
    role: Role = Role.operator
    password: Annotated[Text, Field(min_length=8, max_length=200)] | None = None
    """Without a password the person cannot sign in until an admin sets one."""


class StaffUpdate(StaffFields):
    password: Annotated[Text, Field(min_length=8, max_length=200)] | None = None
    active: bool | None = None


class StaffRecord(Wire):
    """A staff member as the admin CLI shows it (with contact details)."""

    id: int
    username: str
    full_name: str
    role: Role
    office_code: str | None
    skills: list[str]
    phone: str | None
    email: str | None
    employment_rate: float
    week_hours: float
    night_work: bool
    active: bool
    can_sign_in: bool
    created_at: datetime
    updated_at: datetime


class StaffImportRequest(Wire):
    """A whole file: every row is checked first; nothing is written unless all are valid.

    Rows are matched by `username`: new ones are created, existing ones updated.
    """

    source: Annotated[Text, Field(max_length=300)] = ""
    rows: Annotated[list[StaffCreate], Field(min_length=1, max_length=5000)]


class StaffImportResult(Wire):
    created: int
    updated: int
    unchanged: int


# --- shift templates --------------------------------------------------------------------


class ShiftTemplateCreate(Wire):
    code: TemplateCode
    name: NonEmpty
    starts_at: ClockTime
    ends_at: ClockTime
    """At or before `starts_at` means the next day (20:00–08:00)."""
    break_minutes: Annotated[int, Field(ge=0, le=240)] = 0
    """Meal break, not working time (ст.108)."""

    @model_validator(mode="after")
    def _sane(self) -> ShiftTemplateCreate:
        span = span_minutes(self.starts_at, self.ends_at)
        if span > 24 * 60 - 60:
            raise ValueError("смена длиннее 23 часов")
        if self.break_minutes >= span:
            raise ValueError("перерыв не короче самой смены")
        return self


class ShiftTemplateUpdate(Wire):
    """A change of a template (its code stays); the result is checked as a whole."""

    name: NonEmpty | None = None
    starts_at: ClockTime | None = None
    ends_at: ClockTime | None = None
    break_minutes: Annotated[int, Field(ge=0, le=240)] | None = None
    active: bool | None = None


class ShiftTemplatePublic(ShiftTemplateCreate):
    id: int
    active: bool
    work_hours: float
    """Paid working time: the span minus the break."""
    night_hours: float
    """Hours of the span within 22:00–06:00 (ст.96)."""


# --- absences and preferences -------------------------------------------------------------


class AbsenceKind(StrEnum):
    vacation = "vacation"
    sick = "sick"
    day_off = "day_off"
    study = "study"
    other = "other"


class AbsenceCreate(Wire):
    kind: AbsenceKind
    start_date: InputDate
    end_date: InputDate
    note: Annotated[Text, Field(max_length=300)] = ""

    @model_validator(mode="after")
    def _ordered(self) -> AbsenceCreate:
        if self.end_date < self.start_date:
            raise ValueError("дата окончания раньше даты начала")
        if (self.end_date - self.start_date).days > 366:
            raise ValueError("период длиннее года")
        return self


class AbsencePublic(AbsenceCreate):
    id: int
    username: str


class PreferenceKind(StrEnum):
    off = "off"
    """Would rather not work (that date or weekday; that shift only if a code is given)."""
    work = "work"
    """Would like to work (that shift if a code is given)."""


class PreferenceCreate(Wire):
    kind: PreferenceKind
    on_date: InputDate | None = None
    weekday: Annotated[int, Field(ge=0, le=6)] | None = None
    """0 = Monday … 6 = Sunday; every such day."""
    template_code: TemplateCode | None = None
    note: Annotated[Text, Field(max_length=300)] = ""

    @model_validator(mode="after")
    def _one_day(self) -> PreferenceCreate:
        if (self.on_date is None) == (self.weekday is None):
            raise ValueError("укажите либо дату, либо день недели")
        return self


class PreferencePublic(PreferenceCreate):
    id: int
    username: str


# --- staffing: forecast and requirements ---------------------------------------------------


class QueueModel(StrEnum):
    erlang_c = "erlang_c"
    erlang_a = "erlang_a"


class ForecastProfile(Wire):
    """Calls per hour by weekday × hour, from the inbound phone contacts of past weeks."""

    from_date: date
    to_date: date
    weeks: int
    calls: list[list[float]]
    """7 × 24: mean offered calls per hour, Monday first, local time."""
    holiday_calls: list[float]
    """24: mean per hour on public holidays (the Sunday profile when history has none)."""
    holiday_dates: list[date] = Field(default_factory=list)
    """The public holidays `holiday_calls` is the mean of: every one of the year before
    `to_date` that the history covers; empty: the Sunday profile stands in."""
    inbound_calls: int
    answered_calls: int
    abandoned_calls: int
    aht_seconds: float
    """Mean talk plus after-call work of answered inbound calls."""
    patience_seconds: float | None
    """Mean caller patience (time waited by all callers / calls abandoned), for Erlang A."""
    outbound_per_day: float
    outbound_aht_seconds: float
    written_per_day: float
    written_aht_seconds: float
    """Written channels (e-mail, chats, social networks, ПОС) worked outside the queue."""


class RequirementsRequest(Wire):
    month: Month
    weeks: Annotated[int, Field(ge=1, le=52)] = 8
    """How many past weeks of history the forecast uses."""
    model: QueueModel = QueueModel.erlang_c
    target_service_level: Annotated[float, Field(gt=0, lt=1)] = 0.8
    answer_within_seconds: Annotated[int, Field(ge=1, le=600)] = 20
    patience_seconds: Annotated[float, Field(gt=0, le=3600)] | None = None
    """Erlang A: mean caller patience; from the history when not given."""
    aht_seconds: Annotated[float, Field(gt=0, le=7200)] | None = None
    """Handle time; from the history when not given."""
    shrinkage: Annotated[float, Field(ge=0, lt=0.9)] = 0.3
    """Share of paid time not on the phones (breaks, training, meetings)."""
    min_per_hour: Annotated[int, Field(ge=0, le=500)] = 2
    growth: Annotated[float, Field(gt=0, le=10)] = 1.0
    """Multiplier on the forecast volume (campaigns, seasonal peaks)."""
    back_office_from: Annotated[int, Field(ge=0, le=23)] = 8
    back_office_to: Annotated[int, Field(ge=1, le=24)] = 20
    """Hours in which outgoing calls and written channels are worked off."""
    merge_below_erlangs: Annotated[float, Field(ge=0, le=100)] = DEFAULT_MERGE_BELOW_ERLANGS
    """By operator group: in an hour, a group whose own load (calls × AHT / 3600) is below
    this joins its first overflow target's queue and has no own requirement (0: every group
    its own queue; see `ekc_roster.group_merge`)."""

    def hour_need(self, *, hour: int, phone_agents: int, back_office_hours_per_day: float) -> int:
        """Operators to roster for one hour: the agents the queue model asks for the calls,
        plus the hour's share of the back-office work (outgoing calls, written channels)
        inside the back-office hours, grossed up by the shrinkage, never below the floor."""
        span = self.back_office_to - self.back_office_from
        extra = (
            back_office_hours_per_day / span
            if span > 0 and self.back_office_from <= hour < self.back_office_to
            else 0.0
        )
        need = math.ceil((phone_agents + extra) / (1 - self.shrinkage) - 1e-9)
        return max(self.min_per_hour, need)


class RequirementsPublic(Wire):
    month: str
    hourly: list[int]
    """Required operators for every hour of the month (days × 24), local time."""
    calls: list[float]
    """Forecast offered calls for every hour of the month."""
    params: dict[str, Any]
    created_at: datetime
    operator_hours: int
    """Sum of `hourly`: operator-hours the roster has to cover."""
    groups: list[GroupRequirementPublic] = Field(default_factory=list)
    """Each operator group's own requirement (a group is its own queue: their sum is more
    than the pooled `hourly`); empty for a requirement computed before groups existed."""


# --- rosters ------------------------------------------------------------------------------


class RosterRules(Wire):
    """Parameters of the labour-code rule set; the generator and the checker share them."""

    min_rest_hours: Annotated[float, Field(ge=0, le=48)] = 12.0
    """Minimum rest between two shifts, whatever their length."""
    rest_factor: Annotated[float, Field(ge=0, le=4)] = 2.0
    """Rest after a shift is at least this many times its working hours."""
    weekly_rest_hours: Annotated[float, Field(ge=0, le=96)] = 42.0
    """Uninterrupted weekly rest in every calendar week (ст.110)."""
    night_from: ClockTime = "22:00"
    night_to: ClockTime = "06:00"


class RosterGenerateRequest(Wire):
    rules: RosterRules = RosterRules()
    time_limit_seconds: Annotated[float, Field(gt=0, le=600)] = 20.0
    seed: Int32 = 0
    replace: bool = False
    """Overwrite an existing draft (a published roster is never overwritten)."""


class RosterShiftPublic(Wire):
    """One shift; also what a hand-made roster is imported as (hence the input types)."""

    username: Text
    on_date: InputDate
    template_code: Text


class RosterViolation(Wire):
    username: str
    on_date: date
    rule: str
    """Rule id: `consecutive_shifts`, `min_rest`, `weekly_rest`, `norm_hours`, `night_work`,
    `absence`, `overlap`, `unknown_template`, `inactive_staff`."""
    article: str
    """The labour-code article, e.g. `ст.110 ТК РФ`."""
    message: str


class CoverageGap(Wire):
    on_date: date
    from_hour: int
    to_hour: int
    """Exclusive; 24 = midnight."""
    short: int
    """Most operators missing in any hour of the gap."""
    required: int = 0
    """Operators required in the gap's worst hour (the one `short` is of)."""
    rostered: int = 0
    """Operators on shift in that hour."""
    previous_roster: bool = False
    """Only the previous month's roster can close it (the night shift of its last day staffs
    the first hours of the 1st)."""
    note: str = ""
    """Why the gap is there and where to close it, when that is not this roster (Russian)."""

    def text(self) -> str:
        """One line for a shift lead: `01.01.2027 00–08 ч: не хватает 3 (…)`."""
        line = (
            f"{self.on_date:%d.%m.%Y} {self.from_hour:02d}–{self.to_hour:02d} ч: "
            f"не хватает {self.short} (нужно {self.required}, на смене {self.rostered})"
        )
        return f"{line} — {self.note}" if self.note else line


class RosterPersonSummary(Wire):
    username: str
    full_name: str
    shifts: int
    hours: float
    norm_hours: float
    night_hours: float
    weekend_shifts: int
    holiday_shifts: int
    preferences_missed: int


class RosterCheck(Wire):
    violations: list[RosterViolation]
    gaps: list[CoverageGap]
    group_gaps: list[GroupGap] = Field(default_factory=list)


class RosterPublic(Wire):
    id: int
    month: str
    status: str
    version: int
    rules: RosterRules
    solver: dict[str, Any]
    shifts: list[RosterShiftPublic]
    templates: list[ShiftTemplatePublic]
    people: list[RosterPersonSummary]
    required: list[int]
    """Required operators per hour (days × 24); zeros when no requirement was computed."""
    covered: list[int]
    """Operators on shift per hour (days × 24)."""
    violations: list[RosterViolation]
    gaps: list[CoverageGap]
    group_gaps: list[GroupGap] = Field(default_factory=list)
    """Hours each operator group's requirement is not met (see `ekc_roster.groups`)."""
    warnings: list[str] = Field(default_factory=list)
    opened_gaps: list[CoverageGap] = Field(default_factory=list)
    """After an edit (assign, swap): the gaps it opened or deepened (`short`: how many
    more are missing than before the edit)."""
    days_off: list[date] = Field(default_factory=list)
    """Days of the month that are not working days by the production calendar."""
    holidays: list[date] = Field(default_factory=list)
    """Public holidays of the month (ст.112), a subset of `days_off`."""
    updated_at: datetime
    published_at: datetime | None


class RosterSwapRequest(Wire):
    first: Username
    second: Username
    on_date: InputDate
    version: Int32 | None = None
    """The roster version the change was made against (409 when it moved on)."""
    force: bool = False
    """Save even when the change breaks a rule (the violations are returned)."""


class RosterAssignRequest(Wire):
    username: Username
    on_date: InputDate
    template_code: TemplateCode | None
    """None: a day off."""
    version: Int32 | None = None
    force: bool = False


class RosterPublishRequest(Wire):
    force: bool = False
    """Publish despite rule violations or coverage gaps (they are reported)."""


class RosterImport(Wire):
    """A roster written by hand (e.g. edited in a spreadsheet): saved as the draft."""

    shifts: list[RosterShiftPublic]
    rules: RosterRules = RosterRules()
    force: bool = False


class AbsenceCreated(AbsencePublic):
    """A new absence and what it does to the rosters already made for its days."""

    warnings: list[str] = Field(default_factory=list)
    """Per roster: the shifts it falls on, the gaps taking them off would open (Russian)."""
    shifts: list[RosterShiftPublic] = Field(default_factory=list)
    """Shifts of the person's rosters (draft or published) that run into the absence."""
    opened_gaps: list[CoverageGap] = Field(default_factory=list)
    """Gaps that taking those shifts off would open."""


def holiday_profile_source(dates: list[date]) -> str:
    """Where the holiday profile came from, for a shift lead (Russian)."""
    if not dates:
        return (
            "праздничных дней в истории звонков за год нет: праздники считаются по профилю "
            "воскресений"
        )
    days = ", ".join(f"{d:%d.%m.%Y}" for d in dates)
    count = f"{len(dates)} праздничн{'ому дню' if len(dates) == 1 else 'ым дням'}"
    return f"профиль праздников — среднее по {count} истории за год: {days}"
