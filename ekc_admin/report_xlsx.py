"""Any `Report` as an XLSX workbook a manager can hand on: typed cells (numbers as numbers,
percent as fractions with a percent format, durations as Excel times, dates as dates), a
header row and a target row frozen above the data, column widths, misses marked by
conditional formatting against the target row (so they follow an edited target), the
whole period in bold, a sheet that describes the columns, and a chart sheet of the main
series with its target.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ekc_admin.report_render import (
    TARGET,
    TOTAL,
    Series,
    as_date,
    as_datetime,
    heading,
    human,
    label_column,
    period_text,
    series,
    single,
)
from ekc_core.localtime import CENTRE_TZ
from ekc_core.reports import Better, Cell, ColumnKind, Report, ReportColumn

DATA_SHEET = "Отчёт"
ABOUT_SHEET = "Описание"
CHART_SHEET = "График"
CHART_DATA_SHEET = "Данные графика"

PERCENT_FORMAT = "0.0%"
MINUTES_FORMAT = "[m]:ss"
HOURS_FORMAT = "[h]:mm:ss"
DATE_FORMAT = "DD.MM.YYYY"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
INT_FORMAT = "#,##0"
FLOAT_FORMAT = "#,##0.0"

MISS_FILL = PatternFill("solid", fgColor="FFC7CE")
MISS_FONT = Font(color="9C0006")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TARGET_FONT = Font(italic=True, color="595959")
SECONDS_PER_DAY = 86400


def seconds_format(report: Report, column: ReportColumn) -> str:
    """`[m]:ss` for handle times, `[h]:mm:ss` when a value reaches an hour."""
    rows = [*report.rows, *([report.total] if report.total is not None else [])]
    values = [r.get(column.key) for r in rows]
    longest = max((v for v in values if isinstance(v, int | float)), default=0)
    return HOURS_FORMAT if float(longest) >= 3600 else MINUTES_FORMAT


def _value(column: ReportColumn, value: Cell) -> Any:
    """The typed cell value for openpyxl."""
    if value is None or isinstance(value, bool):
        return value
    if column.kind == ColumnKind.seconds and isinstance(value, int | float):
        return value / SECONDS_PER_DAY  # an Excel time: sums and averages stay durations
    if column.kind == ColumnKind.date and (day := as_date(value)) is not None:
        return day
    if column.kind == ColumnKind.datetime and (moment := as_datetime(value)) is not None:
        return moment.replace(tzinfo=None)  # Excel has no zones: the centre's local time
    return value


def _format(report: Report, column: ReportColumn) -> str | None:
    return {
        ColumnKind.percent: PERCENT_FORMAT,
        ColumnKind.date: DATE_FORMAT,
        ColumnKind.datetime: DATETIME_FORMAT,
        ColumnKind.int: INT_FORMAT,
        ColumnKind.float: FLOAT_FORMAT,
    }.get(column.kind) or (
        seconds_format(report, column) if column.kind == ColumnKind.seconds else None
    )


def _width(report: Report, column: ReportColumn) -> float:
    texts = [human(column, r.get(column.key)) for r in report.rows[:500]]
    longest_value = max((len(t) for t in texts), default=4)
    longest_word = max((len(w) for w in column.title.split()), default=4)
    return float(min(45, max(10, longest_value + 2, longest_word + 2)))


def _data_sheet(sheet: Worksheet, report: Report) -> int:
    """Header, target row, rows, total; returns the number of the target row (0: none)."""
    columns = report.columns
    sheet.append([c.title for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    target_row = 0
    if any(c.target is not None for c in columns):
        sheet.append([_value(c, c.target) for c in columns])
        target_row = 2
        if columns[0].target is None:
            sheet.cell(row=2, column=1, value=TARGET)
        for cell in sheet[2]:
            cell.font = TARGET_FONT
    for row in report.rows:
        sheet.append([_value(c, row.get(c.key)) for c in columns])
    first_data = target_row + 1 if target_row else 2
    last_data = sheet.max_row
    if report.total is not None:
        cells = [_value(c, report.total.get(c.key)) for c in columns]
        label = label_column(report)
        if label is not None:
            index = columns.index(label)
            if cells[index] in (None, ""):
                cells[index] = TOTAL
        sheet.append(cells)
        for total_cell in sheet[sheet.max_row]:
            total_cell.font = Font(bold=True)
    for index, col in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = _width(report, col)
        fmt = _format(report, col)
        if fmt:
            for (typed,) in sheet.iter_rows(
                min_row=2, max_row=sheet.max_row, min_col=index, max_col=index
            ):
                if not isinstance(typed.value, str):
                    typed.number_format = fmt
        if col.target is not None and target_row and sheet.max_row >= first_data:
            _mark_misses(sheet, letter, col, first_data, sheet.max_row, target_row)
    sheet.freeze_panes = f"B{first_data}"
    if last_data >= first_data:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last_data}"
    return target_row


def _mark_misses(
    sheet: Worksheet, letter: str, col: ReportColumn, first: int, last: int, target_row: int
) -> None:
    """Red where the value is on the wrong side of the target row's value."""
    op = ">" if col.better == Better.less else "<"
    top = f"{letter}{first}"
    formula = f"AND(ISNUMBER({top}),{top}{op}{letter}${target_row})"
    sheet.conditional_formatting.add(
        f"{letter}{first}:{letter}{last}",
        FormulaRule(formula=[formula], fill=MISS_FILL, font=MISS_FONT),  # type: ignore[no-untyped-call]
    )


def _about_sheet(sheet: Worksheet, report: Report) -> None:
    made = datetime.now(CENTRE_TZ).replace(tzinfo=None, microsecond=0)
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["Период", report.period_from, report.period_to])
    sheet.append(["Построен", made])
    if report.group_by:
        sheet.append(["Строки", report.group_by])
    sheet["B2"].number_format = sheet["C2"].number_format = DATE_FORMAT
    sheet["B3"].number_format = DATETIME_FORMAT
    for note in report.notes:
        sheet.append(["Примечание", note])
    sheet.append([])
    sheet.append(["Столбец", "Ключ", "Тип", "Цель", "Лучше", "Как считается"])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for col in report.columns:
        better = {Better.more: "выше", Better.less: "ниже"}.get(col.better) if col.better else ""
        target = human(col, col.target) if col.target is not None else ""
        sheet.append([col.title, col.key, col.kind.value, target, better, col.description or ""])
        sheet.cell(row=sheet.max_row, column=6).alignment = Alignment(wrap_text=True)
    for letter, width in zip("ABCDEF", (34, 20, 10, 12, 8, 90), strict=True):
        sheet.column_dimensions[letter].width = width


def _chart(book: Workbook, report: Report, data: Series) -> None:
    """A bar per label with the target as a line, on a chart sheet of its own; the values
    sit on a hidden sheet (one layout for a series and for a one-row profile)."""
    sheet = book.create_sheet(CHART_DATA_SHEET)
    sheet.sheet_state = "hidden"
    has_target = data.target is not None
    sheet.append(["", data.title, *(["Цель"] if has_target else [])])
    column = ReportColumn(key="v", title=data.title, kind=data.kind)
    for label, value in zip(data.labels, data.values, strict=True):
        target = [_value(column, data.target)] if has_target else []
        sheet.append([label, _value(column, value), *target])
    rows = len(data.labels) + 1
    bar = BarChart()
    bar.type = "bar" if data.profile else "col"
    bar.title = heading(report, data.title)
    if not has_target:
        bar.legend = None
    bar.add_data(Reference(sheet, min_col=2, min_row=1, max_row=rows), titles_from_data=True)
    bar.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows))
    fmt = {ColumnKind.percent: "0%", ColumnKind.seconds: MINUTES_FORMAT}.get(data.kind)
    if fmt:
        bar.y_axis.number_format = fmt
    bar.y_axis.delete = False
    bar.x_axis.delete = False
    if has_target:
        line = LineChart()
        line.add_data(Reference(sheet, min_col=3, min_row=1, max_row=rows), titles_from_data=True)
        line.y_axis.axId = bar.y_axis.axId
        bar += line
    chart_sheet = book.create_chartsheet(CHART_SHEET)
    chart_sheet.add_chart(bar)


def _with_period_column(report: Report) -> Report:
    """A report of numbers only gets a first column naming its period, for the target row's
    «Цель» and the frozen pane beside it."""
    if label_column(report) is not None:
        return report
    period = ReportColumn(key="_period", title="Период", kind=ColumnKind.text)
    text = period_text(report)
    return report.model_copy(
        update={
            "columns": [period, *report.columns],
            "rows": [{"_period": text, **row} for row in report.rows],
            "total": {"_period": TOTAL, **report.total} if report.total is not None else None,
        }
    )


def workbook(report: Report, *, chart_key: str | None = None) -> Workbook:
    report = single(report)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = DATA_SHEET
    _data_sheet(sheet, _with_period_column(report))
    _about_sheet(book.create_sheet(ABOUT_SHEET), report)
    data = series(report, chart_key)
    if data is not None:
        _chart(book, report, data)
    return book


def write_xlsx(report: Report, path: Path, *, chart_key: str | None = None) -> None:
    """Save the workbook to `path` (the caller makes the write atomic)."""
    workbook(report, chart_key=chart_key).save(path)
