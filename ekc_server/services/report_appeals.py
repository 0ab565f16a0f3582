"""Appeals by agency on a day: open, due this week, overdue (the 59-FZ rule of
`ekc_core.deadlines.is_overdue`, in SQL as `services.appeals.overdue_clause`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ekc_core.enums import OPEN_APPEAL_STATUSES
from ekc_core.reports import Better, Cell, ColumnKind, Report, ReportColumn
from ekc_server.models import Agency, Appeal
from ekc_server.services.appeals import overdue_clause
from ekc_server.services.kpi_sql import local_midnight
from ekc_server.services.report_common import today_local

COLUMNS = [
    ReportColumn(key="agency", title="Ведомство", kind=ColumnKind.text),
    ReportColumn(key="code", title="Код", kind=ColumnKind.text),
    ReportColumn(
        key="open",
        title="Открыто",
        kind=ColumnKind.int,
        description="Зарегистрированы не позже дня отчёта и не решены, не закрыты, не отменены.",
    ),
    ReportColumn(
        key="complex_open",
        title="Из них сложных",
        kind=ColumnKind.int,
    ),
    ReportColumn(
        key="due_this_week",
        title="Срок на этой неделе",
        kind=ColumnKind.int,
        description="Открытые, ещё не просроченные, срок ответа до конца недели "
        "(понедельник–воскресенье, время Иркутска).",
    ),
    ReportColumn(
        key="overdue",
        title="Просрочено",
        kind=ColumnKind.int,
        target=0.0,
        better=Better.less,
        description="Открыты и прошёл срок ответа, или не направлены в ведомство после срока "
        "направления (59-ФЗ).",
    ),
]


def appeals_report(
    *, session: Session, on: date | None = None, now: datetime | None = None
) -> Report:
    """The state of the appeals at the end of the local day `on` (default today; for today
    and later days: now, the statuses being today's)."""
    clock = now or datetime.now(UTC)
    day = on or today_local(clock)
    day_end = local_midnight(day + timedelta(days=1))
    at = min(clock, day_end)
    monday = day - timedelta(days=day.weekday())
    week_end = local_midnight(monday + timedelta(days=7))

    is_open = col(Appeal.status).in_([s.value for s in OPEN_APPEAL_STATUSES])
    overdue = overdue_clause(at)
    due_soon = and_(
        is_open,
        ~overdue,
        or_(
            and_(col(Appeal.answer_due) >= at, col(Appeal.answer_due) < week_end),
            and_(
                col(Appeal.forwarded_at).is_(None),
                col(Appeal.forward_due) >= at,
                col(Appeal.forward_due) < week_end,
            ),
        ),
    )

    def count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    query = (
        sa_select(
            col(Appeal.agency_id),
            count(is_open),
            count(and_(is_open, col(Appeal.complex).is_(True))),
            count(due_soon),
            count(overdue),
        )
        .where(col(Appeal.registered_at) < day_end)
        .group_by(col(Appeal.agency_id))
    )
    agencies = {a.id: a for a in session.exec(select(Agency)).all()}
    rows: list[dict[str, Cell]] = []
    for agency_id, n_open, n_complex, n_due, n_overdue in session.execute(query):
        if not (n_open or n_overdue):
            continue
        agency = agencies.get(agency_id)
        rows.append(
            {
                "agency": agency.short_name if agency else "ведомство не указано",
                "code": agency.code if agency else None,
                "open": int(n_open or 0),
                "complex_open": int(n_complex or 0),
                "due_this_week": int(n_due or 0),
                "overdue": int(n_overdue or 0),
            }
        )
    rows.sort(key=lambda r: (-int(r["overdue"] or 0), -int(r["open"] or 0), str(r["agency"])))
    total: dict[str, Cell] = {"agency": "Итого", "code": None}
    for key in ("open", "complex_open", "due_this_week", "overdue"):
        total[key] = sum(int(r[key] or 0) for r in rows)
    return Report(
        kind="appeals",
        title=f"Обращения на {day:%d.%m.%Y}",
        period_from=day,
        period_to=day,
        group_by=None,
        columns=COLUMNS,
        rows=rows,
        total=total,
        notes=[
            f"Неделя: {monday:%d.%m.%Y}–{monday + timedelta(days=6):%d.%m.%Y}.",
            "Статусы обращений — текущие; просрочка считается на конец дня отчёта "
            "(для сегодняшнего дня — на момент построения).",
        ],
    )
