"""Where a report goes once it is fetched: the terminal table, JSON, CSV or XLSX (to a file
that is never left half-written) and the terminal chart; and the Russian messages for
options that do not go together."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ekc_admin.context import err, fail, out, plural, print_json
from ekc_admin.report_render import csv_text, print_report, select_columns, series
from ekc_core.reports import Report

EXIT_USAGE = 2


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


SUFFIXES = {".xlsx": OutputFormat.xlsx, ".csv": OutputFormat.csv, ".json": OutputFormat.json}
#: the terminal chart is never wider than this, whatever the terminal (or a pipe's 250)
CHART_MAX_WIDTH = 100


@dataclass(frozen=True)
class Output:
    """What the person asked for on the command line."""

    fmt: OutputFormat
    path: Path | None
    chart: bool
    series_key: str | None
    columns: list[str]


def resolve(
    *,
    fmt: str | None,
    as_json: bool,
    output: Path | None,
    chart: bool,
    series_key: str | None,
    columns: str | None,
) -> Output:
    """Check the output options together; a conflict is exit code 2 with its reason."""
    chosen: OutputFormat | None = None
    if fmt is not None:
        try:
            chosen = OutputFormat(fmt.lower())
        except ValueError:
            fail(f"--format: нужен xlsx, csv, json или table, а не «{fmt}»", EXIT_USAGE)
    if as_json:
        if chosen not in (None, OutputFormat.json):
            fail("--json и --format вместе: выберите одно", EXIT_USAGE)
        chosen = OutputFormat.json
    if chosen is None and output is not None:
        chosen = SUFFIXES.get(output.suffix.lower())
        if chosen is None and not output.is_dir():
            fail(
                f"-o {output}: формат по расширению не понять; укажите --format xlsx|csv|json",
                EXIT_USAGE,
            )
        chosen = chosen or OutputFormat.xlsx
    chosen = chosen or OutputFormat.table
    if chosen == OutputFormat.table and output is not None:
        fail("таблица печатается на экран; для файла укажите --format xlsx или csv", EXIT_USAGE)
    if chart and output is None and chosen in (OutputFormat.csv, OutputFormat.json):
        fail(f"--chart и {chosen.value} в stdout смешаются; укажите файл: -o", EXIT_USAGE)
    keys = [k.strip() for k in (columns or "").split(",") if k.strip()]
    return Output(chosen, output, chart, series_key, keys)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename it over `path`: a
    reader (or a crash) never sees half a report."""
    folder = path.parent
    if not folder.is_dir():
        fail(f"не удалось записать {path}: нет папки {folder}")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        fail(f"не удалось записать {path}: {exc.strerror or exc}")
    os.close(handle)
    temp = Path(name)
    try:
        write(temp)
        with temp.open("rb+") as stream:
            os.fsync(stream.fileno())
        temp.chmod(0o666 & ~_umask())
        temp.replace(path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        fail(f"не удалось записать {path}: {exc.strerror or exc}")
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def _target(path: Path, default_name: str, fmt: OutputFormat) -> Path:
    """A folder given for a file: the file goes inside it under the report's own name."""
    if path.is_dir() or str(path).endswith(("/", "\\")):
        return path / f"{default_name}.{fmt.value}"
    return path


def emit(report: Report, output: Output, *, default_name: str) -> None:
    """Render the report as asked: to stdout, to a file, and the chart."""
    if output.columns:
        try:
            report = select_columns(report, output.columns)
        except KeyError as exc:
            known = ", ".join(c.key for c in report.columns)
            fail(f"--columns: нет столбца {exc.args[0]}; есть: {known}", EXIT_USAGE)
    if output.series_key is not None and output.series_key not in {c.key for c in report.columns}:
        known = ", ".join(c.key for c in report.columns)
        fail(f"--series: нет столбца «{output.series_key}»; есть: {known}", EXIT_USAGE)
    fmt = output.fmt
    if fmt == OutputFormat.table:
        print_report(report, out)
    elif output.path is None and fmt == OutputFormat.json:
        print_json(report)
    elif output.path is None and fmt == OutputFormat.csv:
        sys.stdout.write(csv_text(report))
    else:
        _save(report, output, default_name)
    if output.chart:
        _print_chart(report, output.series_key)


def _save(report: Report, output: Output, default_name: str) -> None:
    fmt = output.fmt
    path = _target(output.path or Path.cwd(), default_name, fmt)
    if fmt == OutputFormat.xlsx:
        from ekc_admin.report_xlsx import write_xlsx

        write_atomic(path, lambda p: write_xlsx(report, p, chart_key=output.series_key))
    elif fmt == OutputFormat.csv:
        text = csv_text(report)
        write_atomic(path, lambda p: p.write_text(text, encoding="utf-8", newline=""))
    else:
        text = report.model_dump_json(indent=2) + "\n"
        write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))
    rows = plural(len(report.rows), "строка", "строки", "строк")
    out.print(f"Отчёт записан: {path} ({rows})")


def _print_chart(report: Report, key: str | None) -> None:
    from ekc_admin.report_chart import chart_text

    data = series(report, key)
    if data is None:
        err.print("Нечего рисовать: в отчёте нет числовых значений.")
        return
    width = min(out.width, CHART_MAX_WIDTH)
    colour = out.is_terminal and not out.no_color
    text = chart_text(report, data, width=width, colour=colour)
    sys.stdout.write(text + "\n")
