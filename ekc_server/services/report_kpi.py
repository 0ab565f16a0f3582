"""The KPI report: every indicator of `ekc_core.kpi` per day / week / month / hour of the day
or per line, channel, office, operator, top-level topic, against its target."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session

from ekc_core import kpi
from ekc_core.kpi import KpiParams, KpiSums
from ekc_core.reports import Cell, ColumnKind, Report, ReportColumn
from ekc_server.services.kpi import Dimension, kpi_groups, local_day_window, raw_sums
from ekc_server.services.report_common import check_period

GROUP_TITLES: dict[Dimension, tuple[str, ColumnKind]] = {
    Dimension.day: ("День", ColumnKind.date),
    Dimension.week: ("Неделя (с понедельника)", ColumnKind.date),
    Dimension.month: ("Месяц", ColumnKind.text),
    Dimension.hour: ("Час", ColumnKind.text),
    Dimension.line: ("Линия", ColumnKind.text),
    Dimension.channel: ("Канал", ColumnKind.text),
    Dimension.office: ("Офис", ColumnKind.text),
    Dimension.operator: ("Оператор", ColumnKind.text),
    Dimension.topic: ("Тематика", ColumnKind.text),
}

#: keys of the rows' dates: day and week rows carry an ISO date, the others their label
_DATE_KEYED = frozenset({Dimension.day, Dimension.week})


def kpi_notes(params: KpiParams, total: KpiSums) -> list[str]:
    """The rules applied and the data that was missing, in Russian, under the table."""
    notes = [
        f"Уровень сервиса {round(params.sl_target * 100)}/{params.sl_threshold_seconds}: "
        f"ожидание от постановки в очередь до ответа не больше "
        f"{params.sl_threshold_seconds} с.",
        (
            f"Звонки, сброшенные раньше {params.short_abandon_seconds} с, в поступившие не "
            f"входят (в периоде таких {total.short_abandoned})."
            if params.short_abandon_seconds
            else "Короткие сбросы не исключаются: считаются все потерянные звонки."
        ),
        "Время обслуживания = разговор (с удержанием) + обработка после звонка.",
        "Индекс лояльности по типу NPS: доля 9–10 минус доля 0–6 по шкале 0–10.",
        "Просроченные обращения — на момент построения отчёта (59-ФЗ).",
    ]
    if total.csat_answers == 0:
        notes.append("Ответов на опрос после звонка в периоде нет: CSAT не посчитан.")
    if total.quality_reviews == 0:
        notes.append("Проверок качества в периоде нет: качество контактов не посчитано.")
    return notes


def kpi_report(
    *,
    session: Session,
    date_from: date,
    date_to: date,
    by: Dimension | None,
    params: KpiParams,
    now: datetime | None = None,
) -> Report:
    """The indicators of the local days `date_from` … `date_to` (inclusive)."""
    check_period(date_from, date_to)
    moment = now or datetime.now(UTC)
    start, end = local_day_window(date_from, date_to)
    indicator_columns = kpi.columns(params)
    rows: list[dict[str, Cell]] = []
    columns: list[ReportColumn] = []
    if by is None:
        total = sum(
            raw_sums(session=session, start=start, end=end, params=params, now=moment).values(),
            KpiSums(),
        )
    else:
        title, kind = GROUP_TITLES[by]
        columns.append(ReportColumn(key="group", title=title, kind=kind))
        total = KpiSums()
        for group in kpi_groups(
            session=session, start=start, end=end, by=by, params=params, now=moment
        ):
            value = group.key if by in _DATE_KEYED else group.label
            rows.append({"group": value, **kpi.compute(group.sums)})
            total = total + group.sums
    total_row: dict[str, Cell] = kpi.compute(total)
    if by is None:
        rows.append(dict(total_row))
    else:
        total_row = {"group": "Итого", **total_row}
    return Report(
        kind="kpi",
        title="Показатели контакт-центра",
        period_from=date_from,
        period_to=date_to,
        group_by=by.value if by is not None else None,
        columns=columns + indicator_columns,
        rows=rows,
        total=total_row,
        notes=kpi_notes(params, total),
    )
