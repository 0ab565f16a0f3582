"""Plan against fact, per hour of a day or of a month: required operators (the stored
staffing requirement), rostered operators (the published roster), operators signed in and
working (their ready / away / offline log), offered calls and the service level achieved.

"Working" = signed in and in state `ready` (free, on a contact or in after-call work: those
follow from the contacts, the state stays ready); `away` is signed in but not working;
`offline` or no state at all is neither. Both are mean operators over the hour (seconds in
the state / 3600), so half an hour of one operator is 0.5. Operators who handled calls
without ever setting a state (an old console) show in `handled_by`: distinct operators who
answered a contact in the hour.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ekc_core.enums import AgentState
from ekc_core.kpi import KpiParams, KpiSums, compute
from ekc_core.localtime import CENTRE_TZ
from ekc_core.reports import Better, Cell, ColumnKind, Report, ReportColumn
from ekc_roster.model import Template
from ekc_server.errors import InvalidFieldError
from ekc_server.models import Contact, Roster, RosterShift, ShiftTemplate, StaffingRequirement
from ekc_server.models_performance import AgentStateEvent
from ekc_server.services.kpi import Dimension, local_day_window, raw_sums
from ekc_server.services.kpi_sql import hour_start, local_midnight, utc_hour
from ekc_server.services.report_common import month_bounds

HOUR = timedelta(hours=1)


@dataclass
class HourFact:
    """One local hour of one day."""

    required: int | None = None
    rostered: int = 0
    signed_in_seconds: float = 0.0
    working_seconds: float = 0.0
    handled_by: int = 0
    sums: KpiSums = field(default_factory=KpiSums)


def _columns(month_mode: bool, params: KpiParams) -> list[ReportColumn]:
    mean = " (среднее по дням)" if month_mode else ""
    return [
        ReportColumn(key="hour", title="Час", kind=ColumnKind.text),
        ReportColumn(
            key="required",
            title="Нужно операторов" + mean,
            kind=ColumnKind.float,
            description="Сохранённая потребность (ekc-admin staffing requirements).",
        ),
        ReportColumn(
            key="rostered",
            title="По графику" + mean,
            kind=ColumnKind.float,
            description="Смены опубликованного графика, покрывающие час (≥ 30 мин часа).",
        ),
        ReportColumn(
            key="signed_in",
            title="В системе" + mean,
            kind=ColumnKind.float,
            description="Операторы в состоянии «готов» или «отошёл», среднее за час.",
        ),
        ReportColumn(
            key="working",
            title="Работали" + mean,
            kind=ColumnKind.float,
            description="Операторы в состоянии «готов» (свободен, на контакте, обработка), "
            "среднее за час.",
        ),
        ReportColumn(
            key="handled_by",
            title="Принимали контакты" + mean,
            kind=ColumnKind.float,
            description="Разные операторы, принявшие контакт в этот час.",
        ),
        ReportColumn(key="offered", title="Поступило звонков", kind=ColumnKind.int),
        ReportColumn(key="answered", title="Принято звонков", kind=ColumnKind.int),
        ReportColumn(
            key="service_level",
            title=f"Уровень сервиса {round(params.sl_target * 100)}/{params.sl_threshold_seconds}",
            kind=ColumnKind.percent,
            target=params.sl_target,
            better=Better.more,
        ),
        ReportColumn(
            key="short_roster",
            title="Часов: график меньше нужного",
            kind=ColumnKind.int,
            target=0.0,
            better=Better.less,
        ),
        ReportColumn(
            key="short_working",
            title="Часов: работали меньше нужного",
            kind=ColumnKind.int,
            target=0.0,
            better=Better.less,
        ),
    ]


def _requirements(
    session: Session, first: date, last: date, facts: dict[datetime, HourFact]
) -> bool:
    months = {f"{d.year:04d}-{d.month:02d}" for d in (first, last)}
    found = False
    for row in session.exec(
        select(StaffingRequirement).where(col(StaffingRequirement.month).in_(months))
    ).all():
        found = True
        year, month = (int(p) for p in row.month.split("-"))
        for index, value in enumerate(row.hourly):
            day = date(year, month, 1) + timedelta(days=index // 24)
            moment = local_midnight(day) + timedelta(hours=index % 24)
            if moment in facts:
                facts[moment].required = int(value)
    return found


def _roster(session: Session, first: date, last: date, facts: dict[datetime, HourFact]) -> bool:
    templates = {
        t.code: Template.of(t.code, t.starts_at, t.ends_at, t.break_minutes)
        for t in session.exec(select(ShiftTemplate)).all()
    }
    rows = session.exec(
        select(RosterShift)
        .join(Roster, col(Roster.id) == col(RosterShift.roster_id))
        .where(
            Roster.status == "published",
            col(RosterShift.on_date) >= first - timedelta(days=1),
            col(RosterShift.on_date) <= last,
        )
    ).all()
    for shift in rows:
        template = templates.get(shift.template_code)
        if template is None:
            continue
        midnight = local_midnight(shift.on_date)
        for offset in template.covered_hours():
            moment = midnight + timedelta(hours=offset)
            if moment in facts:
                facts[moment].rostered += 1
    months = {f"{d.year:04d}-{d.month:02d}" for d in (first, last)}
    published = session.exec(
        select(Roster).where(col(Roster.month).in_(months), Roster.status == "published")
    ).first()
    return published is not None


def _presence(
    session: Session, start: datetime, end: datetime, facts: dict[datetime, HourFact]
) -> None:
    """Seconds in ready / away per hour from the state log (the state before the window from
    the last change before it)."""
    last_before = (
        sa_select(col(AgentStateEvent.staff_id), func.max(col(AgentStateEvent.at)))
        .where(col(AgentStateEvent.at) < start)
        .group_by(col(AgentStateEvent.staff_id))
    )
    events: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for staff_id, at in session.execute(last_before):
        state = session.exec(
            select(AgentStateEvent.state).where(
                AgentStateEvent.staff_id == staff_id, AgentStateEvent.at == at
            )
        ).first()
        if state is not None:
            events[int(staff_id)].append((start, state))
    for event in session.exec(
        select(AgentStateEvent)
        .where(col(AgentStateEvent.at) >= start, col(AgentStateEvent.at) < end)
        .order_by(col(AgentStateEvent.at), col(AgentStateEvent.id))
    ).all():
        events[event.staff_id].append((event.at, event.state))
    for changes in events.values():
        for (since, state), (until, _next) in zip(changes, [*changes[1:], (end, "")], strict=True):
            if state == AgentState.offline.value:
                continue
            _spread(since, until, facts, working=state == AgentState.ready.value)


def _spread(
    since: datetime, until: datetime, facts: dict[datetime, HourFact], *, working: bool
) -> None:
    moment = since
    while moment < until:
        hour = moment.replace(minute=0, second=0, microsecond=0)
        stop = min(until, hour + HOUR)
        fact = facts.get(hour)
        if fact is not None:
            seconds = (stop - moment).total_seconds()
            fact.signed_in_seconds += seconds
            if working:
                fact.working_seconds += seconds
        moment = stop


def _handled_by(
    session: Session, start: datetime, end: datetime, facts: dict[datetime, HourFact]
) -> None:
    hour = utc_hour(col(Contact.answered_at))
    query = (
        sa_select(hour, func.count(func.distinct(col(Contact.operator_id))))
        .where(
            col(Contact.answered_at) >= start,
            col(Contact.answered_at) < end,
            col(Contact.operator_id).is_not(None),
        )
        .group_by(hour)
    )
    for index, n in session.execute(query):
        fact = facts.get(hour_start(index))
        if fact is not None:
            fact.handled_by = int(n)


def plan_vs_fact_report(
    *,
    session: Session,
    day: date | None,
    month: str | None,
    params: KpiParams,
    now: datetime | None = None,
) -> Report:
    if (day is None) == (month is None):
        raise InvalidFieldError(
            "укажите либо дату (date), либо месяц (month)", field="date", location="query"
        )
    first, last = (day, day) if day is not None else month_bounds(month or "")
    clock = now or datetime.now(UTC)
    start, end = local_day_window(first, last)
    facts: dict[datetime, HourFact] = {}
    moment = start
    while moment < end:
        facts[moment] = HourFact()
        moment += HOUR
    has_requirement = _requirements(session, first, last, facts)
    has_roster = _roster(session, first, last, facts)
    _presence(session, start, min(end, clock), facts)
    _handled_by(session, start, end, facts)
    for index, sums in raw_sums(
        session=session, start=start, end=end, params=params, now=clock, by=Dimension.hour
    ).items():
        assert isinstance(index, int)
        fact = facts.get(hour_start(index))
        if fact is not None:
            fact.sums = fact.sums + sums
    rows = _rows(facts)
    total = _total(facts)
    notes = [
        "«Работали» — в состоянии «готов» (свободен, на контакте или в обработке); "
        "«В системе» — «готов» или «отошёл»; среднее число операторов за час.",
    ]
    if not has_requirement:
        notes.append("Потребность на этот месяц не сохранена: ekc-admin staffing requirements.")
    if not has_roster:
        notes.append("Опубликованного графика на этот месяц нет.")
    return Report(
        kind="plan_vs_fact",
        title="План и факт по часам" + (f" за {month}" if month else f" на {first:%d.%m.%Y}"),
        period_from=first,
        period_to=last,
        group_by="hour",
        columns=_columns(month is not None, params),
        rows=rows,
        total=total,
        notes=notes,
    )


def _rows(facts: dict[datetime, HourFact]) -> list[dict[str, Cell]]:
    by_hour: dict[int, list[HourFact]] = defaultdict(list)
    for moment, fact in facts.items():
        by_hour[moment.astimezone(CENTRE_TZ).hour].append(fact)
    rows: list[dict[str, Cell]] = []
    for hour in sorted(by_hour):
        items = by_hour[hour]
        n = len(items)
        required = [f.required for f in items if f.required is not None]
        sums = sum((f.sums for f in items), KpiSums())
        values = compute(sums)
        rows.append(
            {
                "hour": f"{hour:02d}:00",
                "required": round(sum(required) / len(required), 2) if required else None,
                "rostered": round(sum(f.rostered for f in items) / n, 2),
                "signed_in": round(sum(f.signed_in_seconds for f in items) / 3600 / n, 2),
                "working": round(sum(f.working_seconds for f in items) / 3600 / n, 2),
                "handled_by": round(sum(f.handled_by for f in items) / n, 2),
                "offered": sums.offered,
                "answered": sums.answered,
                "service_level": values["service_level"],
                "short_roster": sum(
                    1 for f in items if f.required is not None and f.rostered < f.required
                ),
                "short_working": sum(
                    1
                    for f in items
                    if f.required is not None and f.working_seconds / 3600 < f.required
                ),
            }
        )
    return rows


def _total(facts: dict[datetime, HourFact]) -> dict[str, Cell]:
    items = list(facts.values())
    required = [f.required for f in items if f.required is not None]
    sums = sum((f.sums for f in items), KpiSums())
    return {
        "hour": "Итого, опер.-часов",
        "required": float(sum(required)) if required else None,
        "rostered": float(sum(f.rostered for f in items)),
        "signed_in": round(sum(f.signed_in_seconds for f in items) / 3600, 2),
        "working": round(sum(f.working_seconds for f in items) / 3600, 2),
        "handled_by": float(sum(f.handled_by for f in items)),
        "offered": sums.offered,
        "answered": sums.answered,
        "service_level": compute(sums)["service_level"],
        "short_roster": sum(1 for f in items if f.required is not None and f.rostered < f.required),
        "short_working": sum(
            1 for f in items if f.required is not None and f.working_seconds / 3600 < f.required
        ),
    }
