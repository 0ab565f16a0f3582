"""Rendering any `ekc_core.reports.Report` for people and programs: values written the way a
person reads them (83.3 %, 3:05, 30.11.2026), the terminal table with the targets and the
misses marked, plain typed CSV, and the choice of the series a chart shows.

The XLSX workbook is `report_xlsx`, the terminal chart `report_chart`; the commands are
`report`. Nothing here talks to the server.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ekc_core.localtime import CENTRE_TZ
from ekc_core.reports import Better, Cell, ColumnKind, Report, ReportColumn

MISS = "✗"
"""Marks a value on the wrong side of its target; survives output without colour."""
NONE = "—"
"""A value that cannot be computed (no calls offered that hour)."""
TOTAL = "Итого"
TARGET = "Цель"

NUMERIC = (ColumnKind.int, ColumnKind.float, ColumnKind.percent, ColumnKind.seconds)
LABEL_KINDS = (ColumnKind.text, ColumnKind.date, ColumnKind.datetime)
#: a report with at most this many rows and more columns than that is shown turned
#: (indicators down the side): 15 indicators do not fit across 80 columns, 3 groups do
TURN_ROWS = 3
TURN_COLUMNS = 6
#: a heading word longer than this is cut (…) rather than widen its column further
HEADING_WORD_MAX = 24
#: text columns (names) wrap beyond this width
TEXT_WIDTH_MAX = 30


# --- values ---------------------------------------------------------------------------------


def as_date(value: Cell) -> date | None:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def as_datetime(value: Cell) -> datetime | None:
    """An ISO date-time in the centre's local time (naive values are taken as UTC)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CENTRE_TZ)


def duration(seconds: float) -> str:
    """185 → `3:05`, 3725 → `1:02:05`."""
    total = round(seconds)
    sign = "-" if total < 0 else ""
    hours, rest = divmod(abs(total), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"{sign}{minutes}:{secs:02d}"


def number(value: float, decimals: int = 0) -> str:
    """Thousands apart with a space, as Russian writes them: 1663 → `1 663`."""
    return f"{value:,.{decimals}f}".replace(",", " ")


def human(column: ReportColumn, value: Cell) -> str:
    """A cell as a person reads it."""
    if value is None or value == "":
        return NONE
    if isinstance(value, bool):
        return "да" if value else "нет"
    kind = column.kind
    if isinstance(value, int | float):
        if kind == ColumnKind.percent:
            return f"{value * 100:.1f} %"
        if kind == ColumnKind.seconds:
            return duration(value)
        if kind == ColumnKind.int or (isinstance(value, int) and kind != ColumnKind.float):
            return number(value)
        return number(value, 1)
    if kind == ColumnKind.date and (day := as_date(value)) is not None:
        return f"{day:%d.%m.%Y}"
    if kind == ColumnKind.datetime and (moment := as_datetime(value)) is not None:
        return f"{moment:%d.%m.%Y %H:%M}"
    return str(value)


def target_text(column: ReportColumn) -> str:
    """`≥ 80.0 %`, `≤ 5:00`; empty for a column without a target."""
    if column.target is None:
        return ""
    sign = "≤" if column.better == Better.less else "≥"
    return f"{sign} {human(column, column.target)}"


def period_text(report: Report) -> str:
    if report.period_from == report.period_to:
        return f"{report.period_from:%d.%m.%Y}"
    return f"{report.period_from:%d.%m.%Y}–{report.period_to:%d.%m.%Y}"


def single(report: Report) -> Report:
    """The report without its total when the total only repeats its one row (a KPI report
    without `--by`), so nothing is shown or counted twice."""
    if report.group_by is None and len(report.rows) == 1 and report.rows[0] == report.total:
        return report.model_copy(update={"total": None})
    return report


def heading(report: Report, title: str | None = None) -> str:
    """A title (the report's) and the period, unless the title already names it
    («Обращения на 04.12.2026»)."""
    title = title or report.title
    period = period_text(report)
    return title if period in title else f"{title}: {period}"


# --- the label column and the main series ----------------------------------------------------


def label_column(report: Report) -> ReportColumn | None:
    """The column that names a row: `<group_by>_name` or the `group_by` one (an office's
    name rather than its code), else the first text or date column; None when every column
    is a number (a report of the whole period in one row)."""
    if not report.columns:
        return None
    if report.group_by:
        for key in (f"{report.group_by}_name", report.group_by):
            for col in report.columns:
                if col.key == key:
                    return col
    for col in report.columns:
        if col.kind in LABEL_KINDS:
            return col
    return None


def row_label(report: Report, row: dict[str, Cell], *, total: bool = False) -> str:
    label = label_column(report)
    value = row.get(label.key) if label else None
    if total and (value is None or value == ""):
        return TOTAL
    return human(label, value) if label else ""


def chart_column(report: Report, key: str | None = None) -> ReportColumn | None:
    """The series a chart shows: the column named `key`, else the first indicator with a
    target, else the first numeric column that does not name the rows."""
    if key is not None:
        col = report.column(key)  # KeyError for an unknown key: the caller says which
        return col if col.kind in NUMERIC else None
    label = label_column(report)
    numeric = [c for c in report.columns if c.kind in NUMERIC and c is not label]
    for col in numeric:
        if col.target is not None:
            return col
    return numeric[0] if numeric else None


@dataclass(frozen=True)
class Series:
    """What a chart draws: labelled values of one column (`profile`: one value per column
    of a one-row report), in the column's own unit (fractions for percent)."""

    title: str
    kind: ColumnKind
    labels: list[str]
    values: list[float | None]
    target: float | None
    better: Better | None
    profile: bool = False
    timeline: bool = False
    """The labels are days, weeks, months or hours in order (bars upright, ticks thinned)."""


def series(report: Report, key: str | None = None) -> Series | None:
    """The main series of the report; for a report of one row, its percent indicators side
    by side (one bar per indicator). None when there is nothing to draw."""
    if len(report.rows) >= 2 or key is not None:
        col = chart_column(report, key)
        if col is None or not report.rows:
            return None
        values = [_num(row.get(col.key)) for row in report.rows]
        if all(v is None for v in values):
            return None
        return Series(
            title=col.title,
            kind=col.kind,
            labels=[row_label(report, row) for row in report.rows],
            values=values,
            target=col.target,
            better=col.better,
            timeline=_timeline(report),
        )
    row = report.rows[0] if report.rows else report.total
    if row is None:
        return None
    cols = [c for c in report.columns if c.kind == ColumnKind.percent]
    if not cols:
        col = chart_column(report)
        cols = [col] if col is not None else []
    values = [_num(row.get(c.key)) for c in cols]
    if not cols or all(v is None for v in values):
        return None
    kind = cols[0].kind
    return Series(
        title=report.title,
        kind=kind,
        labels=[c.title for c in cols],
        values=values,
        target=None,
        better=None,
        profile=True,
    )


TIMELINE_GROUPS = ("day", "week", "month", "hour")


def _timeline(report: Report) -> bool:
    label = label_column(report)
    return report.group_by in TIMELINE_GROUPS or (
        label is not None and label.kind in (ColumnKind.date, ColumnKind.datetime)
    )


def _num(value: Cell) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


# --- the terminal table ----------------------------------------------------------------------


def _cell(column: ReportColumn, value: Cell) -> Text:
    text = human(column, value)
    if column.misses(value):
        return Text(f"{text} {MISS}", style="bold red")
    return Text(text)


def _misses(report: Report) -> int:
    rows = [*report.rows, *([report.total] if report.total else [])]
    return sum(len(report.misses(row)) for row in rows)


def _turned(report: Report) -> bool:
    return len(report.rows) <= TURN_ROWS and len(report.columns) > TURN_COLUMNS


def _width(report: Report, col: ReportColumn) -> int:
    """Characters a column needs: its widest value (never broken) or its target, and its
    longest heading word (headings wrap between words); text columns wrap past 30."""
    body = [*report.rows, *([report.total] if report.total is not None else [])]
    widest = max((len(_cell(col, r.get(col.key))) for r in body), default=1)
    word = min(HEADING_WORD_MAX, max((len(w) for w in col.title.split()), default=1))
    width = max(widest, len(target_text(col)), word, len(TARGET), len(TOTAL))
    return min(width, TEXT_WIDTH_MAX) if col.kind == ColumnKind.text else width


def tables(report: Report, width: int) -> list[Table]:
    """The report as rich tables no wider than `width`: the label column, then as many
    columns as fit; the rest in the next table, under the same label column. A short and
    wide report is one table turned on its side instead."""
    if _turned(report):
        return [_turned_table(report)]
    label = label_column(report)
    others = [c for c in report.columns if c is not label]
    widths = {c.key: _width(report, c) for c in report.columns}
    first = 1 + (widths[label.key] + 3 if label is not None else 0)  # border, padding
    chunks: list[list[ReportColumn]] = [[]]
    used = first
    for col in others:
        need = widths[col.key] + 3
        if chunks[-1] and used + need > width:
            chunks.append([])
            used = first
        chunks[-1].append(col)
        used += need
    lead = [label] if label is not None else []
    return [_table(report, [*lead, *chunk], widths) for chunk in chunks]


def _table(report: Report, columns: list[ReportColumn], widths: dict[str, int]) -> Table:
    """One table of these columns: a target row under the header, misses red with «✗», the
    whole period as the last row."""
    grid = Table(header_style="bold")
    for col in columns:
        grid.add_column(
            col.title,
            justify="right" if col.kind in NUMERIC else "left",
            width=widths[col.key],  # fixed: the chunks in `tables` are cut to these widths
        )
    if any(c.target is not None for c in columns):
        cells = [target_text(c) for c in columns]
        if columns[0].target is None:
            cells[0] = TARGET
        grid.add_row(*cells, style="italic dim", end_section=True)
    for row in report.rows:
        grid.add_row(*[_cell(c, row.get(c.key)) for c in columns])
    if report.total is not None:
        if grid.rows:
            grid.rows[-1].end_section = True
        cells_total = [_cell(c, report.total.get(c.key)) for c in columns]
        label = label_column(report)
        if label in columns:
            cells_total[columns.index(label)] = Text(row_label(report, report.total, total=True))
        grid.add_row(*cells_total, style="bold")
    return grid


def _turned_table(report: Report) -> Table:
    """Indicators down the side, one column per row (and the total), then the target. The
    rows' names head the columns; text columns left empty in every row are left out."""
    label = label_column(report)
    rows: list[tuple[str, dict[str, Cell]]] = [(row_label(report, r), r) for r in report.rows]
    one = len(report.rows) == 1 and report.group_by is None  # the period's one row is its total
    if report.total is not None and not one:
        rows.append((TOTAL, report.total))
    grid = Table(header_style="bold")
    grid.add_column("Показатель")
    for name, _row in rows:
        grid.add_column("Значение" if one else name, justify="right", no_wrap=True)
    has_targets = any(c.target is not None for c in report.columns)
    if has_targets:
        grid.add_column(TARGET, justify="right", no_wrap=True, style="italic dim")
    for col in report.columns:
        values = [r.get(col.key) for _n, r in rows]
        if (col is label and not one) or (
            col.kind not in NUMERIC and all(v in (None, "", TOTAL) for v in values)
        ):
            continue
        cells: list[Text | str] = [col.title, *[_cell(col, v) for v in values]]
        if has_targets:
            cells.append(target_text(col))
        grid.add_row(*cells)
    return grid


def print_report(report: Report, console: Console) -> None:
    """Title and period, the table, the count of misses and the notes."""
    report = single(report)
    console.print(Text(heading(report), style="bold"))
    if not report.rows and report.total is None:
        console.print("Нет данных за период.")
    else:
        for part in tables(report, console.width):
            console.print(part)
        misses = _misses(report)
        if misses:
            console.print(f"{MISS} — хуже цели: {misses}", style="red")
    for note in report.notes:
        console.print(f"Примечание: {note}", soft_wrap=False)


# --- CSV -------------------------------------------------------------------------------------


def _plain(column: ReportColumn, value: Cell) -> str:
    """A typed CSV value: numbers with a dot, percent as the fraction, seconds as seconds,
    ISO dates; empty for a value that cannot be computed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(round(value, 6)) if column.kind != ColumnKind.int else str(round(value))
    return str(value)


def csv_text(report: Report) -> str:
    """Plain typed CSV: a header of column keys, the rows, and the whole period as the last
    row with `Итого` in the label column. UTF-8, comma, `\\n`."""
    report = single(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in report.columns])
    for row in report.rows:
        writer.writerow([_plain(c, row.get(c.key)) for c in report.columns])
    if report.total is not None:
        cells = [_plain(c, report.total.get(c.key)) for c in report.columns]
        label = label_column(report)
        if label is not None:
            index = report.columns.index(label)
            cells[index] = cells[index] or TOTAL
        writer.writerow(cells)
    return buffer.getvalue()


def select_columns(report: Report, keys: Sequence[str]) -> Report:
    """The report with only these columns (the label column is kept first)."""
    label = label_column(report)
    wanted = [k for k in keys if k]
    unknown = [k for k in wanted if k not in {c.key for c in report.columns}]
    if unknown:
        raise KeyError(", ".join(unknown))
    keep = [c for c in report.columns if c.key in wanted or c is label]
    keep.sort(key=lambda c: -1 if c is label else wanted.index(c.key))
    keys_kept = {c.key for c in keep}

    def cut(row: dict[str, Cell]) -> dict[str, Cell]:
        return {k: v for k, v in row.items() if k in keys_kept}

    return report.model_copy(
        update={
            "columns": keep,
            "rows": [cut(r) for r in report.rows],
            "total": cut(report.total) if report.total is not None else None,
        }
    )
