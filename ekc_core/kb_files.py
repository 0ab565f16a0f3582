"""Reading knowledge-base articles from the files admins bring.

CSV (UTF-8 with or without BOM, or Windows-1251; `,` or `;`; quoted fields with line
breaks), XLSX, JSON (a list), JSONL, or a folder of Markdown files with YAML front matter.
Columns / keys: `id, title, body, topic, agency, tags, audience` (Russian headers accepted).
Every problem is collected as `file:line: field: reason` before anything is used, over
every row (a row with a problem of its own is still checked for duplicates and references);
`ekc_core.kb_refs.resolve_references` turns topic and agency names into codes.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIELDS = ("id", "title", "body", "topic", "agency", "tags", "audience")
REQUIRED = ("id", "title", "body")
#: the audience codes an article may name are the index's vocabulary (`kb_index.AUDIENCES`):
#: a caller that knows them passes them as `audiences` (None: not checked here, the
#: server checks them on import); ekc_core does not import kb_index (see README "Code layout")
Audiences = Collection[str] | None

#: header names people write in Russian Excel files → our field names
HEADER_ALIASES = {
    "id": "id",
    "ид": "id",
    "код": "id",
    "идентификатор": "id",
    "номер": "id",
    "title": "title",
    "заголовок": "title",
    "название": "title",
    "вопрос": "title",
    "body": "body",
    "текст": "body",
    "ответ": "body",
    "содержание": "body",
    "текст статьи": "body",
    "topic": "topic",
    "тематика": "topic",
    "тема": "topic",
    "код тематики": "topic",
    "agency": "agency",
    "ведомство": "agency",
    "код ведомства": "agency",
    "tags": "tags",
    "теги": "tags",
    "ключевые слова": "tags",
    "метки": "tags",
    "audience": "audience",
    "аудитория": "audience",
    "для кого": "audience",
}
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")
MAX_TITLE = 300
MAX_BODY = 100_000


@dataclass(frozen=True)
class KbRecord:
    """One article read from a file, with where it came from."""

    id: str
    title: str
    body: str
    topic: str | None
    agency: str | None
    tags: tuple[str, ...]
    audience: str | None
    source: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "topic": self.topic,
            "agency": self.agency,
            "tags": list(self.tags),
            "audience": self.audience,
        }


@dataclass
class ReadResult:
    #: the rows without a problem of their own
    records: list[KbRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: every row read, with a problem or not (as far as it could be read): duplicates and
    #: references are checked over these, so one run reports every problem of a file
    rows: list[KbRecord] = field(default_factory=list)

    def add(
        self, raw: dict[str, Any], source: str, line: int, audiences: Audiences
    ) -> KbRecord | None:
        record, ok = _record(raw, source, line, self.problems, audiences)
        self.rows.append(record)
        if ok:
            self.records.append(record)
            return record
        return None


class KbFileError(ValueError):
    """The input cannot be read at all (format, encoding); the message says why."""


_REFUSE = (
    "{source}:{line}: неизвестная кодировка (первая неверная последовательность: байт {offset}"
    " от начала файла, {column}-й в строке {line}: {sample}); сохраните файл в UTF-8 "
    "или Windows-1251"
)


def _refusal(data: bytes, source: str, offset: int) -> KbFileError:
    """The refusal naming the line and byte of the first bad sequence (1-based)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return KbFileError(
        _REFUSE.format(
            source=source,
            line=data.count(b"\n", 0, offset) + 1,
            offset=offset + 1,
            column=offset - line_start + 1,
            sample=data[offset : offset + 4].hex(" "),
        )
    )


def _first_bad(data: bytes) -> int:
    """Where UTF-8 reading first fails (a NUL counts: UTF-16/32 without a byte-order mark)."""
    nul = data.find(b"\x00")
    try:
        data.decode("utf-8-sig")
        bad = len(data)
    except UnicodeDecodeError as exc:
        bad = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
    return min(bad, nul) if nul >= 0 else bad


def decode(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM) or Windows-1251; anything else is refused with the line
    and byte of the first sequence that is not UTF-8."""
    if b"\x00" in data[:4096]:  # UTF-16/32 without a byte-order mark
        raise _refusal(data, source, _first_bad(data))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise _refusal(data, source, _first_bad(data)) from exc
    letters = [ch for ch in text if ch.isalpha()]
    cyrillic = sum(1 for ch in letters if "а" <= ch.lower() <= "я" or ch in "ёЁ")
    odd = sum(1 for ch in text if ch in "ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—™љ›њќћџ¤¦§©«¬®°±µ¶·»")
    if not letters or cyrillic / len(letters) < 0.3 or odd > len(text) * 0.02:
        raise _refusal(data, source, _first_bad(data))
    # KOI8-R read as Windows-1251 also gives Cyrillic, but with the case inverted inside
    # words ("пФЛМАЮЙМЙ"): Russian words are lower case, Capitalised or UPPER CASE
    words = re.findall(r"[а-яёА-ЯЁ]{3,}", text)
    mixed = sum(1 for w in words if not (w.islower() or w.isupper() or w.istitle()))
    if words and mixed / len(words) > 0.2:
        raise _refusal(data, source, _first_bad(data))
    return text


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _split_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        items = [_clean(v) for v in value]
    else:
        items = re.split(r"[;,]", _clean(value))
    return tuple(dict.fromkeys(t.strip() for t in items if t.strip()))


def _record(
    raw: dict[str, Any], source: str, line: int, problems: list[str], audiences: Audiences
) -> tuple[KbRecord, bool]:
    """Validate one row; append `file:line: field: reason` lines for every problem. The
    record is built either way (as far as it reads) so later checks still see it."""
    ok = True

    def bad(name: str, reason: str) -> None:
        nonlocal ok
        ok = False
        problems.append(f"{source}:{line}: {name}: {reason}")

    values = {name: raw.get(name) for name in FIELDS}
    unknown = [k for k in raw if k not in FIELDS and not str(k).startswith("_")]
    if unknown:
        bad(str(unknown[0]), "неизвестное поле (ожидаются: " + ", ".join(FIELDS) + ")")
    for name in REQUIRED:
        if not _clean(values[name]):
            bad(name, "поле обязательно")
    article_id = _clean(values["id"])
    if article_id and not ID_RE.match(article_id):
        bad("id", f"«{article_id}»: только латинские буквы, цифры, «-», «_», «.», до 80 знаков")
    title = _clean(values["title"])
    if len(title) > MAX_TITLE:
        bad("title", f"длиннее {MAX_TITLE} знаков ({len(title)})")
    body = str(values["body"] or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(body) > MAX_BODY:
        bad("body", f"длиннее {MAX_BODY} знаков ({len(body)})")
    audience = _clean(values["audience"]) or None
    if audience and audiences is not None and audience not in audiences:
        bad("audience", f"«{audience}»: допустимо {', '.join(audiences)}")
    return KbRecord(
        id=article_id,
        title=title,
        body=body,
        topic=_clean(values["topic"]) or None,
        agency=_clean(values["agency"]) or None,
        tags=_split_tags(values["tags"]),
        audience=audience,
        source=source,
        line=line,
    ), ok


def _normalise_header(name: Any) -> str:
    key = _clean(name).lower().replace("ё", "е")
    return HEADER_ALIASES.get(key, key)


def _check_header(header: list[str], source: str, problems: list[str]) -> bool:
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        problems.append(
            f"{source}:1: {missing[0]}: нет столбца (заголовок: "
            f"{', '.join(h for h in header if h) or 'пусто'})"
        )
        return False
    dupes = {h for h in header if h and header.count(h) > 1}
    if dupes:
        problems.append(f"{source}:1: {sorted(dupes)[0]}: столбец повторяется")
        return False
    return True


def csv_rows(
    reader: Iterator[list[str]], source: str, problems: list[str]
) -> Iterator[tuple[int, list[str]]]:
    """The non-empty rows after the header, each with the physical line it starts on (a
    quoted cell may span lines); a row the csv module cannot read ends the file with a
    `file:line` problem. `reader` is a `csv.reader` positioned after the header."""
    line_num = getattr(reader, "line_num", 1)
    line = line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(f"{source}:{line}: не читается как CSV: {exc}")
            return
        if any(cell.strip() for cell in row):
            yield line, row
        line = getattr(reader, "line_num", line) + 1


def read_csv_text(text: str, source: str, audiences: Audiences = None) -> ReadResult:
    result = ReadResult()
    first_line = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header_row = next(reader)
    except StopIteration:
        result.problems.append(f"{source}:1: файл пуст")
        return result
    except csv.Error as exc:
        result.problems.append(f"{source}:1: не читается как CSV: {exc}")
        return result
    header = [_normalise_header(h) for h in header_row]
    if not _check_header(header, source, result.problems):
        return result
    for line_start, row in csv_rows(reader, source, result.problems):
        if len(row) > len(header):
            result.problems.append(
                f"{source}:{line_start}: {header[-1]}: лишние значения "
                f"({len(row)} вместо {len(header)}); проверьте кавычки"
            )
        else:
            raw = {h: v for h, v in zip(header, row, strict=False) if h}
            result.add(raw, source, line_start, audiences)
    return result


def read_xlsx(path: Path, audiences: Audiences = None) -> ReadResult:
    from openpyxl import load_workbook

    result = ReadResult()
    source = str(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise KbFileError(f"{source}: не читается как XLSX: {exc}") from exc
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header_row = next(rows, None)
    if header_row is None:
        result.problems.append(f"{source}:1: лист пуст")
        return result
    header = [_normalise_header(h) for h in header_row]
    if not _check_header(header, source, result.problems):
        return result
    for number, row in enumerate(rows, start=2):
        if not any(_clean(c) for c in row):
            continue
        raw = {h: v for h, v in zip(header, row, strict=False) if h}
        result.add(raw, source, number, audiences)
    workbook.close()
    return result


def read_jsonl_text(text: str, source: str, audiences: Audiences = None) -> ReadResult:
    result = ReadResult()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            result.problems.append(f"{source}:{number}: неверный JSON: {exc.msg}")
            continue
        if not isinstance(data, dict):
            result.problems.append(f"{source}:{number}: ожидался объект JSON")
            continue
        result.add(data, source, number, audiences)
    return result


def read_json_text(text: str, source: str, audiences: Audiences = None) -> ReadResult:
    result = ReadResult()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        result.problems.append(f"{source}:{exc.lineno}: неверный JSON: {exc.msg}")
        return result
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if not isinstance(data, list):
        result.problems.append(f"{source}:1: ожидался список статей")
        return result
    # line numbers of each object: where its "{" starts in the text
    starts = _object_lines(text)
    for index, item in enumerate(data):
        line = starts[index] if index < len(starts) else 1
        if not isinstance(item, dict):
            result.problems.append(f"{source}:{line}: ожидался объект статьи")
            continue
        result.add(item, source, line, audiences)
    return result


def _object_lines(text: str) -> list[int]:
    """Line numbers of the top-level objects of a JSON array."""
    lines, depth, line, in_string, escape = [], 0, 1, False, False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_string:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            if ch == "{" and depth == 1:
                lines.append(line)
            depth += 1
        elif ch in "]}":
            depth -= 1
    return lines


def read_markdown_folder(folder: Path, audiences: Audiences = None) -> ReadResult:
    """Every `*.md` below `folder`: YAML front matter (id, title, …) and the body."""
    import frontmatter

    result = ReadResult()
    files = sorted(folder.rglob("*.md"))
    if not files:
        result.problems.append(f"{folder}: нет файлов *.md")
    for path in files:
        source = str(path)
        try:
            text = decode(path.read_bytes(), source)
        except KbFileError as exc:
            result.problems.append(str(exc))
            continue
        try:
            post = frontmatter.loads(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 1
            result.problems.append(
                f"{source}:{line}: неверный YAML в заголовке: {getattr(exc, 'problem', exc)}"
            )
            continue
        raw = dict(post.metadata)
        raw["body"] = post.content
        if "id" not in raw:
            raw["id"] = path.stem
        result.add(raw, source, 1, audiences)
    return result


def read_path(path: Path, *, audiences: Audiences = None) -> ReadResult:
    """Read any supported input; also reports duplicate ids across the whole input, and
    audience codes not in `audiences` when given (`kb_index.AUDIENCES`)."""
    if not path.exists():
        raise KbFileError(f"{path}: файл или папка не найдены")
    if path.is_dir():
        result = read_markdown_folder(path, audiences)
    else:
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            result = read_xlsx(path, audiences)
        elif suffix in (".csv", ".txt"):
            result = read_csv_text(decode(path.read_bytes(), str(path)), str(path), audiences)
        elif suffix == ".jsonl":
            result = read_jsonl_text(decode(path.read_bytes(), str(path)), str(path), audiences)
        elif suffix == ".json":
            result = read_json_text(decode(path.read_bytes(), str(path)), str(path), audiences)
        elif suffix == ".xls":
            raise KbFileError(
                f"{path}: старый формат XLS не поддерживается; сохраните как XLSX или CSV"
            )
        else:
            raise KbFileError(
                f"{path}: неизвестный формат «{suffix}»: нужен CSV, XLSX, "
                f"JSON, JSONL или папка с Markdown"
            )
    _check_duplicates(result.rows, result.problems)
    return result


def _check_duplicates(records: Iterable[KbRecord], problems: list[str]) -> None:
    seen: dict[str, KbRecord] = {}
    for record in records:
        if not record.id:
            continue
        first = seen.get(record.id)
        if first is not None:
            problems.append(
                f"{record.source}:{record.line}: id: «{record.id}» уже встречался "
                f"({first.source}:{first.line})"
            )
        else:
            seen[record.id] = record


def iter_dicts(records: Iterable[KbRecord]) -> Iterator[dict[str, Any]]:
    for record in records:
        yield record.to_dict()
