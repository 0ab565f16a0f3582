"""Per operator: contacts handled, handle time, after-call share, outcomes, callbacks kept."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from sqlalchemy import and_, case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ekc_core import kpi
from ekc_core.enums import CallbackStatus, Channel, ContactOutcome, Direction
from ekc_core.kpi import KpiParams, KpiSums
from ekc_core.reports import Better, Cell, ColumnKind, Report, ReportColumn
from ekc_server.models import CallbackTask, Contact, Staff
from ekc_server.services.kpi import Dimension, local_day_window, raw_sums
from ekc_server.services.report_common import check_period

OUTCOME_RU: dict[ContactOutcome, str] = {
    ContactOutcome.consultation: "Консультация",
    ContactOutcome.appeal_registered: "Обращение зарегистрировано",
    ContactOutcome.forwarded: "Передано в ведомство",
    ContactOutcome.transferred: "Переведено в ведомство",
    ContactOutcome.callback_needed: "Нужен перезвон",
    ContactOutcome.no_answer: "Нет ответа",
}


def _columns(params: KpiParams) -> list[ReportColumn]:
    indicator = {c.key: c for c in kpi.columns(params)}
    return [
        ReportColumn(key="operator", title="Оператор", kind=ColumnKind.text),
        ReportColumn(key="login", title="Логин", kind=ColumnKind.text),
        ReportColumn(
            key="contacts",
            title="Контактов",
            kind=ColumnKind.int,
            description="Контакты любого канала, принятые оператором (входящие и исходящие).",
        ),
        ReportColumn(key="calls_in", title="Входящих звонков", kind=ColumnKind.int),
        ReportColumn(key="calls_out", title="Исходящих звонков", kind=ColumnKind.int),
        ReportColumn(key="written", title="Письменных", kind=ColumnKind.int),
        indicator["aht"],
        ReportColumn(
            key="acw_share",
            title="Доля обработки после звонка",
            kind=ColumnKind.percent,
            description="Обработка после звонка / (разговор + обработка) по входящим звонкам.",
        ),
        *(
            ReportColumn(key=f"outcome_{o.value}", title=title, kind=ColumnKind.int)
            for o, title in OUTCOME_RU.items()
        ),
        ReportColumn(
            key="callbacks_due",
            title="Перезвонов к сроку",
            kind=ColumnKind.int,
            description="Задачи перезвона оператора со сроком в периоде.",
        ),
        ReportColumn(
            key="callbacks_kept",
            title="Перезвонов в срок",
            kind=ColumnKind.int,
            description="Из них выполненные не позже срока (completed_at ≤ due_at).",
        ),
        ReportColumn(
            key="callbacks_kept_share",
            title="Доля перезвонов в срок",
            kind=ColumnKind.percent,
            target=0.9,
            better=Better.more,
        ),
        indicator["csat"],
        indicator["quality"],
    ]


def _counts(session: Session, start: datetime, end: datetime) -> dict[int, dict[str, int]]:
    """operator id → contacts, calls in/out, written and outcome counts."""
    written = [c.value for c in kpi.WRITTEN_CHANNELS]
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    query = (
        sa_select(
            col(Contact.operator_id),
            col(Contact.channel),
            col(Contact.direction),
            col(Contact.outcome),
            func.count(),
        )
        .where(
            col(Contact.queued_at) >= start,
            col(Contact.queued_at) < end,
            col(Contact.operator_id).is_not(None),
            col(Contact.answered_at).is_not(None),
        )
        .group_by(
            col(Contact.operator_id),
            col(Contact.channel),
            col(Contact.direction),
            col(Contact.outcome),
        )
    )
    for operator_id, channel, direction, outcome, n in session.execute(query):
        row = counts[int(operator_id)]
        row["contacts"] += n
        if channel == Channel.phone.value:
            row["calls_in" if direction == Direction.inbound.value else "calls_out"] += n
        elif channel in written:
            row["written"] += n
        if outcome:
            row[f"outcome_{outcome}"] += n
    return counts


def _callbacks(session: Session, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    kept = and_(
        col(CallbackTask.status) == CallbackStatus.done.value,
        col(CallbackTask.completed_at).is_not(None),
        col(CallbackTask.completed_at) <= col(CallbackTask.due_at),
    )
    query = (
        sa_select(
            col(CallbackTask.assignee_id),
            func.count(),
            func.sum(case((kept, 1), else_=0)),
        )
        .where(
            col(CallbackTask.due_at) >= start,
            col(CallbackTask.due_at) < end,
            col(CallbackTask.status) != CallbackStatus.cancelled.value,
            col(CallbackTask.assignee_id).is_not(None),
        )
        .group_by(col(CallbackTask.assignee_id))
    )
    return {int(a): (int(n), int(k or 0)) for a, n, k in session.execute(query)}


def operators_report(
    *,
    session: Session,
    date_from: date,
    date_to: date,
    params: KpiParams,
    now: datetime | None = None,
) -> Report:
    check_period(date_from, date_to)
    start, end = local_day_window(date_from, date_to)
    sums = raw_sums(
        session=session,
        start=start,
        end=end,
        params=params,
        now=now or datetime.now(UTC),
        by=Dimension.operator,
    )
    counts = _counts(session, start, end)
    callbacks = _callbacks(session, start, end)
    # operators with contacts or callbacks in the period (not staff who only registered an
    # appeal: the appeal sums of `sums` are not columns of this report)
    ids = set(counts) | set(callbacks)
    staff = {s.id: s for s in session.exec(select(Staff).where(col(Staff.id).in_(ids))).all()}
    rows: list[dict[str, Cell]] = []
    for staff_id in sorted(ids, key=lambda i: (staff[i].full_name, staff[i].username)):
        person = staff[staff_id]
        s = sums.get(staff_id, KpiSums())
        due, kept = callbacks.get(staff_id, (0, 0))
        handle = s.talk_seconds + s.acw_seconds
        values = kpi.compute(s)
        row: dict[str, Cell] = {
            "operator": person.full_name,
            "login": person.username,
            "contacts": 0,
            "calls_in": 0,
            "calls_out": 0,
            "written": 0,
            **{f"outcome_{o.value}": 0 for o in ContactOutcome},
            **counts.get(staff_id, {}),
            "aht": values["aht"],
            "acw_share": s.acw_seconds / handle if handle else None,
            "callbacks_due": due,
            "callbacks_kept": kept,
            "callbacks_kept_share": kept / due if due else None,
            "csat": values["csat"],
            "quality": values["quality"],
        }
        rows.append(row)
    total_counts: dict[str, Cell] = {}
    for key in ("contacts", "calls_in", "calls_out", "written", "callbacks_due", "callbacks_kept"):
        total_counts[key] = sum(int(r[key] or 0) for r in rows)
    for o in ContactOutcome:
        key = f"outcome_{o.value}"
        total_counts[key] = sum(int(r.get(key) or 0) for r in rows)
    everyone = sum((v for k, v in sums.items() if isinstance(k, int)), KpiSums())
    handle = everyone.talk_seconds + everyone.acw_seconds
    due, kept = int(total_counts["callbacks_due"] or 0), int(total_counts["callbacks_kept"] or 0)
    everyone_values = kpi.compute(everyone)
    total: dict[str, Cell] = {
        "operator": "Все операторы",
        "login": None,
        **total_counts,
        "aht": everyone_values["aht"],
        "acw_share": everyone.acw_seconds / handle if handle else None,
        "callbacks_kept_share": kept / due if due else None,
        "csat": everyone_values["csat"],
        "quality": everyone_values["quality"],
    }
    return Report(
        kind="operators",
        title="Работа операторов",
        period_from=date_from,
        period_to=date_to,
        group_by="operator",
        columns=_columns(params),
        rows=rows,
        total=total,
        notes=[
            "Время обслуживания и доля обработки — по входящим звонкам с законченной "
            "обработкой; контакты считаются в периоде их поступления.",
            "Перезвоны: задачи, назначенные оператору, со сроком в периоде (кроме "
            "отменённых); в срок — выполненные не позже срока.",
        ],
    )
