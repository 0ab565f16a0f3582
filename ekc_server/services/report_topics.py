"""What people call about: inbound calls, written contacts, transfers onward to an agency
and appeals per top-level topic, with the share of the contract-service topic (`svo`) said
apart."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ekc_core.enums import AppealKind, Channel, ContactOutcome, Direction
from ekc_core.kpi import WRITTEN_CHANNELS
from ekc_core.reports import Cell, ColumnKind, Report, ReportColumn
from ekc_server.models import Appeal, Contact
from ekc_server.services.kpi import local_day_window, top_level_topics
from ekc_server.services.report_common import check_period

HIGHLIGHTED_TOPIC = "svo"
"""The contract-service topic that drives ~45 % of inbound calls: its share is in the notes."""

COLUMNS = [
    ReportColumn(key="topic", title="Тематика", kind=ColumnKind.text),
    ReportColumn(key="code", title="Код", kind=ColumnKind.text),
    ReportColumn(
        key="calls_in",
        title="Входящих звонков",
        kind=ColumnKind.int,
        description="Принятые входящие звонки, которым оператор указал тематику (или её подтему).",
    ),
    ReportColumn(
        key="calls_share",
        title="Доля звонков",
        kind=ColumnKind.percent,
        description="Звонки тематики / все входящие звонки с указанной тематикой.",
    ),
    ReportColumn(key="written", title="Письменных", kind=ColumnKind.int),
    ReportColumn(
        key="transferred",
        title="Переведено в ведомство",
        kind=ColumnKind.int,
        description=(
            "Контакты тематики с результатом «переведено в ведомство» (перевод на линию "
            "ведомства из карточки или отмеченный в итоге)."
        ),
    ),
    ReportColumn(key="appeals", title="Обращений", kind=ColumnKind.int),
    ReportColumn(key="complaints", title="Жалоб", kind=ColumnKind.int),
]


def topics_report(*, session: Session, date_from: date, date_to: date) -> Report:
    check_period(date_from, date_to)
    start, end = local_day_window(date_from, date_to)
    roots = top_level_topics(session)
    kind = case(
        (
            (col(Contact.channel) == Channel.phone.value)
            & (col(Contact.direction) == Direction.inbound.value)
            & col(Contact.answered_at).is_not(None),
            "calls_in",
        ),
        (
            col(Contact.channel).in_([c.value for c in WRITTEN_CHANNELS])
            & (col(Contact.direction) == Direction.inbound.value),
            "written",
        ),
        else_="other",
    )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    names: dict[str, str] = {}
    unknown = 0
    # a transfer (services.transfers) sets the outcome, which the wrap-up keeps: counted by
    # the outcome, like the operators report, so that both say the same
    transferred = case((col(Contact.outcome) == ContactOutcome.transferred.value, 1), else_=0)
    for topic_id, what, n, moved in session.execute(
        sa_select(col(Contact.topic_id), kind, func.count(), func.sum(transferred))
        .where(col(Contact.queued_at) >= start, col(Contact.queued_at) < end)
        .group_by(col(Contact.topic_id), kind)
    ):
        if topic_id is None or topic_id not in roots:
            unknown += n if what == "calls_in" else 0
            continue
        code, name = roots[topic_id]
        names[code] = name
        counts[code][str(what)] += n
        counts[code]["transferred"] += int(moved or 0)
    complaint = case((col(Appeal.kind) == AppealKind.complaint.value, 1), else_=0)
    for topic_id, n, complaints in session.execute(
        sa_select(col(Appeal.topic_id), func.count(), func.sum(complaint))
        .where(col(Appeal.registered_at) >= start, col(Appeal.registered_at) < end)
        .group_by(col(Appeal.topic_id))
    ):
        if topic_id not in roots:
            continue
        code, name = roots[topic_id]
        names[code] = name
        counts[code]["appeals"] += n
        counts[code]["complaints"] += int(complaints or 0)

    calls_total = sum(c["calls_in"] for c in counts.values())
    rows: list[dict[str, Cell]] = []
    for code in sorted(counts, key=lambda c: (-counts[c]["calls_in"], names[c])):
        c = counts[code]
        rows.append(
            {
                "topic": names[code],
                "code": code,
                "calls_in": c["calls_in"],
                "calls_share": c["calls_in"] / calls_total if calls_total else None,
                "written": c["written"],
                "transferred": c["transferred"],
                "appeals": c["appeals"],
                "complaints": c["complaints"],
            }
        )
    total: dict[str, Cell] = {
        "topic": "Итого",
        "code": None,
        "calls_in": calls_total,
        "calls_share": 1.0 if calls_total else None,
        "written": sum(c["written"] for c in counts.values()),
        "transferred": sum(c["transferred"] for c in counts.values()),
        "appeals": sum(c["appeals"] for c in counts.values()),
        "complaints": sum(c["complaints"] for c in counts.values()),
    }
    notes = []
    highlighted = counts.get(HIGHLIGHTED_TOPIC)
    if highlighted is not None and calls_total:
        share = highlighted["calls_in"] / calls_total
        notes.append(
            f"«{names[HIGHLIGHTED_TOPIC]}»: {share * 100:.1f} % входящих звонков "
            f"({highlighted['calls_in']} из {calls_total})."
        )
    if unknown:
        notes.append(f"Принятых входящих звонков без тематики: {unknown} (в доли не входят).")
    return Report(
        kind="topics",
        title="Тематики обращений",
        period_from=date_from,
        period_to=date_to,
        group_by="topic",
        columns=COLUMNS,
        rows=rows,
        total=total,
        notes=notes,
    )
