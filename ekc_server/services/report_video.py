"""The video-consultation report (`GET /reports/video`): how many consultations, how long,
from which MFC offices, by office or by month of the centre's calendar.

A consultation is a contact on the `video` channel that was answered and ended; it belongs
to the local (Irkutsk) day it started on; its duration is answered → ended. The volumes are
small (the centre counts ~170 a month), so the rows are read once and summed here, the same
on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from ekc_core.enums import Channel
from ekc_core.localtime import CENTRE_TZ
from ekc_core.reports import Cell, ColumnKind, Report, ReportColumn
from ekc_server.errors import InvalidFieldError
from ekc_server.models import Contact, Office

#: the longest period one report covers
MAX_DAYS = 3 * 366
#: offices the coverage is counted against
MFC_KIND = "mfc"


class VideoBy(StrEnum):
    office = "office"
    month = "month"


@dataclass
class _Sum:
    count: int = 0
    seconds: float = 0.0
    offices: set[int] = field(default_factory=set)

    def add(self, seconds: float, office_id: int | None, mfc: set[int]) -> None:
        self.count += 1
        self.seconds += seconds
        if office_id in mfc:
            assert office_id is not None
            self.offices.add(office_id)

    def cells(self, mfc_total: int) -> dict[str, Cell]:
        return {
            "count": self.count,
            "total_duration": round(self.seconds),
            "avg_duration": round(self.seconds / self.count, 1) if self.count else None,
            "offices": len(self.offices),
            "offices_share": len(self.offices) / mfc_total if mfc_total else None,
        }


def _window(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    if date_to < date_from:
        raise InvalidFieldError("конец периода раньше начала", field="to", location="query")
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise InvalidFieldError(
            f"период длиннее {MAX_DAYS} дн.: разбейте его", field="to", location="query"
        )
    start = datetime.combine(date_from, time(0), CENTRE_TZ).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time(0), CENTRE_TZ).astimezone(UTC)
    return start, end


_MEASURES = [
    ReportColumn(key="count", title="Консультаций", kind=ColumnKind.int),
    ReportColumn(
        key="total_duration",
        title="Общая длительность",
        kind=ColumnKind.seconds,
        description="Сумма длительностей: от ответа оператора до окончания.",
    ),
    ReportColumn(key="avg_duration", title="Средняя длительность", kind=ColumnKind.seconds),
]
_COVERAGE = [
    ReportColumn(
        key="offices",
        title="МФЦ с консультациями",
        kind=ColumnKind.int,
        description="Сколько МФЦ провели хотя бы одну видеоконсультацию.",
    ),
    ReportColumn(
        key="offices_share",
        title="Доля МФЦ",
        kind=ColumnKind.percent,
        description="МФЦ с консультациями из всех МФЦ справочника офисов.",
    ),
]


def video_report(*, session: Session, date_from: date, date_to: date, by: VideoBy) -> Report:
    start, end = _window(date_from, date_to)
    offices = session.exec(select(Office)).all()
    by_id = {o.id: o for o in offices}
    mfc = {o.id for o in offices if o.kind == MFC_KIND and o.id is not None}
    rows = session.exec(
        select(Contact.office_id, Contact.queued_at, Contact.answered_at, Contact.ended_at).where(
            Contact.channel == Channel.video.value,
            col(Contact.answered_at).is_not(None),
            col(Contact.ended_at).is_not(None),
            col(Contact.queued_at) >= start,
            col(Contact.queued_at) < end,
        )
    ).all()
    total = _Sum()
    groups: dict[str | int | None, _Sum] = defaultdict(_Sum)
    for office_id, queued_at, answered_at, ended_at in rows:
        assert answered_at is not None and ended_at is not None
        seconds = max(0.0, (ended_at - answered_at).total_seconds())
        total.add(seconds, office_id, mfc)
        key: str | int | None = (
            office_id if by == VideoBy.office else f"{queued_at.astimezone(CENTRE_TZ):%Y-%m}"
        )
        groups[key].add(seconds, office_id, mfc)
    report_rows: list[dict[str, Cell]] = []
    if by == VideoBy.office:
        columns = [
            ReportColumn(key="office", title="Код офиса", kind=ColumnKind.text),
            ReportColumn(key="office_name", title="Офис", kind=ColumnKind.text),
            *_MEASURES,
            *_COVERAGE,
        ]
        keys: set[str | int | None] = set(groups) | set(mfc)
        for key in sorted(
            keys,
            key=lambda i: (-groups[i].count if i in groups else 0, _office_name(by_id, i)),
        ):
            cells = (groups[key] if key in groups else _Sum()).cells(len(mfc))
            office = by_id.get(key) if isinstance(key, int) else None
            report_rows.append(
                {
                    "office": office.code if office else None,
                    "office_name": _office_name(by_id, key),
                    **{k: cells[k] for k in ("count", "total_duration", "avg_duration")},
                    "offices": None,
                    "offices_share": None,
                }
            )
        total_row: dict[str, Cell] = {
            "office": None,
            "office_name": "Итого",
            **total.cells(len(mfc)),
        }
    else:
        columns = [
            ReportColumn(key="month", title="Месяц", kind=ColumnKind.text),
            *_MEASURES,
            *_COVERAGE,
        ]
        for month in sorted(str(k) for k in groups):
            report_rows.append({"month": month, **groups[month].cells(len(mfc))})
        total_row = {"month": "Итого", **total.cells(len(mfc))}
    silent = sorted(by_id[i].name for i in mfc - total.offices)
    notes = [
        f"Видеоконсультации провели {len(total.offices)} из {len(mfc)} МФЦ.",
        "Длительность — от ответа оператора до окончания; день — по времени Иркутска.",
    ]
    if silent and len(silent) <= 10:
        notes.append("Без консультаций: " + "; ".join(silent) + ".")
    return Report(
        kind="video",
        title="Видеоконсультации из МФЦ",
        period_from=date_from,
        period_to=date_to,
        group_by=by.value,
        columns=columns,
        rows=report_rows,
        total=total_row,
        notes=notes,
    )


def _office_name(by_id: dict[int | None, Office], office_id: str | int | None) -> str:
    office = by_id.get(office_id) if isinstance(office_id, int) else None
    return office.name if office else "(офис не указан)"
