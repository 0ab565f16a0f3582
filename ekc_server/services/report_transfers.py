"""Transfers onward to an agency («переведено в ведомство», issue 14): per agency and the
top-level topic of the contact, over the local days when the transfers happened."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ekc_core.enums import ContactEventType, ContactOutcome
from ekc_core.reports import Cell, ColumnKind, Report, ReportColumn
from ekc_server.models import Agency, Contact
from ekc_server.models_events import ContactEvent
from ekc_server.services.kpi import local_day_window, top_level_topics
from ekc_server.services.report_common import check_period

NO_TOPIC = "тематика ещё не указана"

COLUMNS = [
    ReportColumn(key="agency", title="Ведомство", kind=ColumnKind.text),
    ReportColumn(key="agency_code", title="Код ведомства", kind=ColumnKind.text),
    ReportColumn(key="phone", title="Линия ведомства", kind=ColumnKind.text),
    ReportColumn(key="topic", title="Тематика", kind=ColumnKind.text),
    ReportColumn(key="topic_code", title="Код тематики", kind=ColumnKind.text),
    ReportColumn(
        key="transferred",
        title="Переведено в ведомство",
        kind=ColumnKind.int,
        description="Контакты, переведённые оператором на линию ведомства (по времени перевода).",
    ),
    ReportColumn(
        key="share",
        title="Доля переводов",
        kind=ColumnKind.percent,
        description="Переводы строки / все переводы периода.",
    ),
]


def transfers_report(*, session: Session, date_from: date, date_to: date) -> Report:
    check_period(date_from, date_to)
    start, end = local_day_window(date_from, date_to)
    roots = top_level_topics(session)
    counts: Counter[tuple[int, str | None]] = Counter()
    for agency_id, topic_id, n in session.execute(
        sa_select(col(ContactEvent.agency_id), col(Contact.topic_id), func.count())
        .join(Contact, col(Contact.id) == col(ContactEvent.contact_id))
        .where(
            col(ContactEvent.type) == ContactEventType.transferred.value,
            col(ContactEvent.at) >= start,
            col(ContactEvent.at) < end,
            col(ContactEvent.agency_id).is_not(None),
        )
        .group_by(col(ContactEvent.agency_id), col(Contact.topic_id))
    ):
        root = roots.get(topic_id) if topic_id is not None else None
        counts[(agency_id, root[0] if root else None)] += n
    wanted = {agency_id for agency_id, _ in counts}
    agencies = {
        a.id: a for a in session.exec(select(Agency).where(col(Agency.id).in_(wanted))).all()
    }
    topic_names = dict(roots.values())
    total = sum(counts.values())

    def order(key: tuple[int, str | None]) -> tuple[str, int, str]:
        return (agencies[key[0]].short_name, -counts[key], key[1] or "")

    rows: list[dict[str, Cell]] = []
    for key in sorted(counts, key=order):
        agency, topic_code = agencies[key[0]], key[1]
        rows.append(
            {
                "agency": agency.short_name,
                "agency_code": agency.code,
                "phone": agency.phone,
                "topic": topic_names[topic_code] if topic_code else NO_TOPIC,
                "topic_code": topic_code,
                "transferred": counts[key],
                "share": counts[key] / total,
            }
        )
    notes = []
    per_agency: Counter[int] = Counter()
    for (agency_id, _), n in counts.items():
        per_agency[agency_id] += n
    ranked = per_agency.most_common(2)
    if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):  # one clear leader
        top_id, top_n = ranked[0]
        notes.append(f"Чаще всего переводят в «{agencies[top_id].short_name}»: {top_n} из {total}.")
    unrecorded = session.exec(
        select(func.count())
        .select_from(Contact)
        .where(
            col(Contact.queued_at) >= start,
            col(Contact.queued_at) < end,
            col(Contact.outcome) == ContactOutcome.transferred.value,
            ~col(Contact.id).in_(
                select(ContactEvent.contact_id).where(
                    ContactEvent.type == ContactEventType.transferred.value
                )
            ),
        )
    ).one()
    if unrecorded:
        notes.append(
            f"Ещё контактов с результатом «переведено в ведомство» без записи о переводе: "
            f"{unrecorded} (результат указан в итоге, ведомство неизвестно; в строки не входят)."
        )
    if any(topic is None for _, topic in counts):
        notes.append(f"«{NO_TOPIC}»: контакт переведён, но ещё не сохранён оператором.")
    return Report(
        kind="transfers",
        title="Переводы в ведомства",
        period_from=date_from,
        period_to=date_to,
        group_by=None,
        columns=COLUMNS,
        rows=rows,
        total={
            "agency": "Итого",
            "agency_code": None,
            "phone": None,
            "topic": None,
            "topic_code": None,
            "transferred": total,
            "share": 1.0 if total else None,
        },
        notes=notes,
    )
