"""Topic and agency references of imported articles: by code or by name.

An admin writes what they know: the code (`medicine`), the name («Медицина»), an agency's
full or short name; case, ё/е, quotes and spacing do not matter. An unknown value is
answered with the nearest known names and their codes. A mapping file (`--map FILE`: their
name → our code) carries a migration from another system. Used by the CLI (reference data
from the API) and the backend (from its tables) alike.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz

from ekc_core.kb_files import KbFileError, KbRecord, ReadResult, decode

#: how many near names an unknown reference is answered with
SUGGEST = 3
#: similarity (0..100) below which a known name is not offered
SUGGEST_FLOOR = 55.0

_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans("", "", "«»\"'“”„")


def fold(value: str) -> str:
    """The comparison key of a name or code: lower case, ё→е, no quotes, single spaces."""
    text = value.translate(_QUOTES).lower().replace("ё", "е").replace("_", " ")
    return _SPACES.sub(" ", text).strip()


def _score(a: str, b: str) -> float:
    """0..100: the whole strings' similarity (rapidfuzz's normalised Indel, as difflib's
    ratio), raised when one contains the other or when the words of `a` begin words of `b`
    («отопление» → «Отопление и горячая вода»)."""
    score = float(fuzz.ratio(a, b))
    if a and b and (a in b or b in a):
        score = max(score, 85.0)
    words = [w for w in a.split() if len(w) >= 4]
    if words:
        theirs = b.split()
        hits = sum(1 for w in words if any(t.startswith(w[:5]) for t in theirs))
        score = max(score, 50.0 + 30.0 * hits / len(words) if hits else 0.0)
    return score


@dataclass(frozen=True)
class Known:
    """One topic or agency: its code and the names it is known by."""

    code: str
    names: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.names[0] if self.names else self.code


@dataclass
class Catalogue:
    """The known topics or agencies of one kind, looked up by folded code or name."""

    kind: str  # "topic" | "agency"
    items: Sequence[Known]
    mapping: dict[str, str] = field(default_factory=dict)  # folded their name → our code
    _keys: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for item in self.items:
            self._keys.setdefault(item.code, item.code)
            self._keys.setdefault(fold(item.code), item.code)
            for name in item.names:
                if name:
                    self._keys.setdefault(fold(name), item.code)

    @property
    def codes(self) -> set[str]:
        return {item.code for item in self.items}

    def resolve(self, value: str) -> str | None:
        """Our code for `value` (code, name or mapped name), or None when unknown."""
        if value in self.codes:
            return value
        key = fold(value)
        mapped = self.mapping.get(key)
        if mapped in self.codes:
            return mapped
        return self._keys.get(key)

    def nearest(self, value: str, limit: int = SUGGEST) -> list[Known]:
        key = fold(value)
        scored: list[tuple[float, int, Known]] = []
        for order, item in enumerate(self.items):
            candidates = [fold(item.code), *(fold(n) for n in item.names if n)]
            best = max(_score(key, c) for c in candidates)
            if best >= SUGGEST_FLOOR:
                scored.append((best, -order, item))
        scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
        return [item for _, _, item in scored[:limit]]

    def unknown(self, value: str) -> str:
        """The Russian reason for an unknown reference, with the nearest known names."""
        what = "нет тематики" if self.kind == "topic" else "нет ведомства"
        near = self.nearest(value)
        if not near:
            return f"{what} «{value}»"
        hints = ", ".join(f"«{k.label}» ({k.code})" for k in near)
        return f"{what} «{value}»; похожие: {hints}"


def topics_catalogue(rows: Iterable[Any], mapping: dict[str, str] | None = None) -> Catalogue:
    """From anything with `code` and `name` (TopicPublic, the Topic table)."""
    return Catalogue("topic", [Known(r.code, (r.name,)) for r in rows], dict(mapping or {}))


def agencies_catalogue(rows: Iterable[Any], mapping: dict[str, str] | None = None) -> Catalogue:
    """From anything with `code`, `name` and `short_name` (AgencyPublic, the Agency table)."""
    return Catalogue(
        "agency",
        [Known(r.code, (r.short_name or r.name, r.name)) for r in rows],
        dict(mapping or {}),
    )


@dataclass
class MapResult:
    """A mapping file read: folded their name → our code, and every problem found."""

    mapping: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


_MAP_HEADERS = {"name", "их название", "название", "from", "было", "source"}


def read_map(path: Path, *, codes: set[str], near: Callable[[str], str]) -> MapResult:
    """Read a mapping file: CSV (`their name;our code`, `,`/`;`/tab, header optional) or
    YAML/JSON (`{their name: our code}`). Every problem as `file:line: field: reason`:
    an empty name or code, a code we do not have (`near` words the hint), a name mapped
    twice to different codes. `codes`: every topic and agency code."""
    result = MapResult()
    source = str(path)
    if not path.is_file():
        raise KbFileError(f"{source}: файл соответствий не найден")
    text = decode(path.read_bytes(), source)
    pairs: list[tuple[int, str, str]] = []
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        pairs = _mapping_pairs(text, source, path.suffix.lower(), result.problems)
    else:
        first = text.split("\n", 1)[0]
        delimiter = max(";,\t", key=first.count) if any(d in first for d in ";,\t") else ";"
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if line == 1 and fold(row[0]) in _MAP_HEADERS:
                    continue
                if len(row) != 2:
                    result.problems.append(
                        f"{source}:{line}: строка: нужно два значения «их название;наш код», "
                        f"а их {len(row)}"
                    )
                    continue
                pairs.append((line, row[0].strip(), row[1].strip()))
        except csv.Error as exc:
            result.problems.append(f"{source}:{reader.line_num}: не читается как CSV: {exc}")
    first_seen: dict[str, tuple[int, str]] = {}
    for line, name, code in pairs:
        if not name:
            result.problems.append(f"{source}:{line}: name: пустое название")
        if not code:
            result.problems.append(f"{source}:{line}: code: пустой код")
        elif code not in codes:
            result.problems.append(f"{source}:{line}: code: {near(code)}")
        if not name or code not in codes:
            continue
        key = fold(name)
        seen = first_seen.get(key)
        if seen is not None and seen[1] != code:
            result.problems.append(
                f"{source}:{line}: name: «{name}» уже сопоставлено коду {seen[1]} "
                f"(строка {seen[0]})"
            )
            continue
        first_seen.setdefault(key, (line, code))
        result.mapping[key] = code
    result.problems.sort(key=lambda p: _line_of(p, source))
    return result


def _line_of(problem: str, source: str) -> int:
    number = problem[len(source) + 1 :].split(":", 1)[0]
    return int(number) if number.isdigit() else 0


def _mapping_pairs(
    text: str, source: str, suffix: str, problems: list[str]
) -> list[tuple[int, str, str]]:
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = getattr(exc, "lineno", None) or (mark.line + 1 if mark is not None else 1)
        problems.append(f"{source}:{line}: неверный {'JSON' if suffix == '.json' else 'YAML'}")
        return []
    if not isinstance(data, dict):
        problems.append(f"{source}:1: ожидалось соответствие «их название: наш код»")
        return []
    lines = text.splitlines()
    pairs = []
    for name, code in data.items():
        needle = str(name)
        line = next((i for i, s in enumerate(lines, start=1) if needle in s), 1)
        pairs.append((line, str(name or "").strip(), str(code or "").strip()))
    return pairs


def near_any(catalogues: Sequence[Catalogue]) -> Callable[[str], str]:
    """The hint for a mapping code no catalogue has: the nearest across all of them."""

    def hint(code: str) -> str:
        near = [k for c in catalogues for k in c.nearest(code, limit=2)]
        if not near:
            return f"нет тематики или ведомства с кодом «{code}»"
        hints = ", ".join(f"«{k.label}» ({k.code})" for k in near[:SUGGEST])
        return f"нет тематики или ведомства с кодом «{code}»; похожие: {hints}"

    return hint


def resolve_references(result: ReadResult, topics: Catalogue, agencies: Catalogue) -> None:
    """Turn every row's topic and agency (code, name or mapped name) into our code; each
    unknown one becomes a `file:line: field: reason` problem with the nearest known names.
    Checked over all rows, so a row's other problems do not hide these."""
    fixed: dict[tuple[str, int], KbRecord] = {}
    for row in result.rows:
        topic, agency = row.topic, row.agency
        if row.topic:
            topic = topics.resolve(row.topic)
            if topic is None:
                result.problems.append(
                    f"{row.source}:{row.line}: topic: {topics.unknown(row.topic)}"
                )
        if row.agency:
            agency = agencies.resolve(row.agency)
            if agency is None:
                result.problems.append(
                    f"{row.source}:{row.line}: agency: {agencies.unknown(row.agency)}"
                )
        if (topic, agency) != (row.topic, row.agency):
            fixed[(row.source, row.line)] = replace(row, topic=topic, agency=agency)
    if fixed:
        result.rows = [fixed.get((r.source, r.line), r) for r in result.rows]
        result.records = [fixed.get((r.source, r.line), r) for r in result.records]
