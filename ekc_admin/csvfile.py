"""Reading a CSV table as Russian Excel saves it: UTF-8 (with or without BOM) or
Windows-1251, `;` or `,` between cells, a header row with Russian or English column names.

Every problem is a `file:line: column: reason` line; `line` is the physical line of the
file where the row starts (a quoted cell may span several lines).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ekc_core.kb_files import KbFileError, csv_rows, decode


class CsvFileError(ValueError):
    """The file cannot be read at all (missing, unknown encoding); the message says why."""


@dataclass
class CsvRow:
    line: int
    """Physical line of the file where the row starts (the header is line 1)."""
    values: dict[str, str]
    """Canonical column name → the cell's text, stripped; empty cells are left out."""


@dataclass
class CsvTable:
    source: str
    columns: dict[str, str] = field(default_factory=dict)
    """Canonical column name → the header as written in the file."""
    rows: list[CsvRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def label(self, name: str) -> str:
        """How the file calls a column (its own header text), for messages."""
        return self.columns.get(name, name)

    def problem(self, line: int, name: str, reason: str) -> None:
        self.problems.append(f"{self.source}:{line}: {self.label(name)}: {reason}")


def header_key(text: str) -> str:
    """`" Часов в неделю "` → `"часов в неделю"`: lower case, ё→е, single spaces."""
    return re.sub(r"\s+", " ", text.replace("\ufeff", "").strip().lower().replace("ё", "е"))


def sniff_delimiter(first_line: str) -> str:
    try:
        return csv.Sniffer().sniff(first_line, delimiters=";,\t").delimiter
    except csv.Error:
        return ";" if first_line.count(";") >= first_line.count(",") else ","


def read_csv(path: Path, *, aliases: Mapping[str, str], required: Sequence[str] = ()) -> CsvTable:
    """Read `path`; `aliases` maps header keys (see `header_key`) to canonical names.

    Raises CsvFileError when the file cannot be read; problems with the header or with
    single rows are collected in `CsvTable.problems`.
    """
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise CsvFileError(f"{source}: файл не найден") from exc
    except OSError as exc:
        raise CsvFileError(f"{source}: не читается: {exc.strerror}") from exc
    try:
        text = decode(data, source)
    except KbFileError as exc:
        raise CsvFileError(str(exc)) from exc
    return parse_csv(text, source, aliases=aliases, required=required)


def parse_csv(
    text: str, source: str, *, aliases: Mapping[str, str], required: Sequence[str] = ()
) -> CsvTable:
    table = CsvTable(source=source)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=sniff_delimiter(text.split("\n", 1)[0])
    )
    try:
        header_row = next(reader)
    except StopIteration:
        table.problems.append(f"{source}:1: файл пуст")
        return table
    except csv.Error as exc:
        table.problems.append(f"{source}:1: не читается как CSV: {exc}")
        return table
    names: list[str | None] = []
    first_alias: dict[str, str] = {}
    for alias, canonical in aliases.items():
        first_alias.setdefault(canonical, alias)
    known = ", ".join(first_alias.values())
    for raw in header_row:
        key = header_key(raw)
        if not key:
            names.append(None)
            continue
        name = aliases.get(key)
        if name is None:
            table.problems.append(
                f"{source}:1: {raw.strip()}: неизвестный столбец (ожидаются: {known})"
            )
        elif name in table.columns:
            table.problems.append(f"{source}:1: {raw.strip()}: столбец повторяется")
            name = None
        else:
            table.columns[name] = raw.strip()
        names.append(name)
    for name in required:
        if name not in table.columns:
            table.problems.append(f"{source}:1: {first_alias.get(name, name)}: нет столбца")
    if table.problems:
        return table
    for line, row in csv_rows(reader, source, table.problems):
        if len(row) > len(names) and any(cell.strip() for cell in row[len(names) :]):
            table.problems.append(
                f"{source}:{line}: лишние значения ({len(row)} вместо {len(names)}); "
                f"проверьте кавычки и разделитель"
            )
        else:
            values = {
                name: cell.strip()
                for name, cell in zip(names, row, strict=False)
                if name and cell.strip()
            }
            table.rows.append(CsvRow(line=line, values=values))
    return table
