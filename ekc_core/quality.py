"""Contact quality: the checklists leads score contacts against, the reviews, and the one
rule that turns a review's answers into a score.

The rule (`review_score`), used by the backend for every review and by the demo:

- each item of the form is answered met (`True`), not met (`False`) or not applicable
  (`None`);
- a critical item not met makes the contact 0, whatever else was met;
- otherwise the score is the weighted share of the applicable items that were met:
  sum(weight of met) / sum(weight of applicable), 0–1;
- a review whose every item is not applicable has no score (`None`): it is refused.

The contact-quality indicator of an operator or of the centre over a period is the mean of
the scores of the reviews in it (each reviewed contact counts once): `quality_indicator`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from pydantic import Field, ValidationError, field_validator, model_validator

from ekc_core.fields import Text
from ekc_core.schemas import Wire
from ekc_core.validation import russian_message

if TYPE_CHECKING:  # yaml is imported where a file is read: the client does not need it
    import yaml

#: item and form codes: what a lead types in `--answers item=yes`
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
FormCode = Annotated[str, Field(pattern=CODE_PATTERN, max_length=40)]
ItemCode = Annotated[str, Field(pattern=CODE_PATTERN, max_length=40)]
#: the most items a form may hold (a checklist a lead fills in by hand)
MAX_ITEMS = 60


class _Item(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def weight(self) -> float: ...
    @property
    def critical(self) -> bool: ...


def review_score(items: Sequence[_Item], answers: Mapping[str, bool | None]) -> float | None:
    """The score of one review, 0–1 (see the module's docstring); None when no item applies.

    `answers` maps item codes to met / not met / not applicable; an item without an answer
    counts as not applicable (the backend refuses a review that leaves one out).
    """
    applicable = 0.0
    met = 0.0
    for item in items:
        answer = answers.get(item.code)
        if answer is None:
            continue
        if item.critical and answer is False:
            return 0.0
        applicable += item.weight
        if answer:
            met += item.weight
    if applicable <= 0:
        return None
    return met / applicable


def quality_indicator(scores: Iterable[float]) -> float | None:
    """Contact quality over a set of reviews: the mean score (None without reviews)."""
    values = list(scores)
    return sum(values) / len(values) if values else None


# --- forms ----------------------------------------------------------------------------------


class QualityItem(Wire):
    """One check of a form."""

    code: ItemCode
    text: Annotated[Text, Field(min_length=1, max_length=300)]
    """What the lead checks, in Russian («Представился и поприветствовал»)."""
    weight: Annotated[float, Field(gt=0, le=100)] = 1.0
    critical: bool = False
    """Not met makes the whole contact 0 (a breach of 152-FZ, a wrong answer)."""


class QualityFormBase(Wire):
    code: FormCode
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    items: Annotated[list[QualityItem], Field(min_length=1, max_length=MAX_ITEMS)]

    @field_validator("items")
    @classmethod
    def _unique_items(cls, items: list[QualityItem]) -> list[QualityItem]:
        seen: set[str] = set()
        for item in items:
            if item.code in seen:
                raise ValueError(f"пункт «{item.code}» повторяется")
            seen.add(item.code)
        return items


class QualityFormCreate(QualityFormBase):
    """A form as an admin writes it in the YAML file."""


class QualityFormImport(Wire):
    """`POST /quality/forms`: one file's forms, written all or none."""

    forms: Annotated[list[QualityFormCreate], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _unique_forms(self) -> QualityFormImport:
        codes = [f.code for f in self.forms]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError("формы повторяются: " + ", ".join(repeated))
        return self


class QualityFormPublic(QualityFormBase):
    id: int
    version: int
    active: bool
    created_at: datetime
    created_by: str | None


class QualityFormChange(Wire):
    """What an import did (or would do, `dry_run`) to one form."""

    code: str
    version: int
    """The version the form has after the import."""
    change: Annotated[str, Field(max_length=12)]
    """created (a new form) | updated (a new version) | unchanged | reactivated"""


class QualityFormImportResult(Wire):
    dry_run: bool
    forms: list[QualityFormChange]


# --- reviews --------------------------------------------------------------------------------


class QualityReviewCreate(Wire):
    """A lead's scoring of one contact: every item of the form answered."""

    form_code: FormCode | None = None
    """The form; may be left out while exactly one form is active."""
    answers: Annotated[dict[ItemCode, bool | None], Field(min_length=1, max_length=MAX_ITEMS)]
    """Item code → met (true), not met (false), not applicable (null)."""
    comment: Annotated[Text, Field(max_length=2000)] = ""


class QualityReviewPublic(Wire):
    id: int
    contact_id: int
    contact_at: datetime
    """When the contact came in: a review counts in its contact's period (as in the KPIs)."""
    form_code: str
    form_version: int
    operator: str | None
    """The contact's operator (login)."""
    reviewer: str | None
    answers: dict[str, bool | None]
    score: float
    comment: str
    reviewed_at: datetime


class QualityScore(Wire):
    """The contact-quality indicator of one operator (or the centre: `operator` None)."""

    operator: str | None
    full_name: str | None = None
    reviews: int
    score: float | None


class QualityReviewList(Wire):
    """`GET /quality/reviews`: the reviews of the contacts of a period, newest contact first,
    with the indicator per operator and for the centre over all reviews that match (not only
    this page)."""

    items: list[QualityReviewPublic]
    total: int
    offset: int
    limit: int
    operators: list[QualityScore]
    centre: QualityScore


def answer_text(value: bool | None) -> str:
    """How the CLI shows an answer."""
    return "да" if value is True else "нет" if value is False else "н/п"


#: what a lead may type for an answer (`--answers greeting=yes,...` or the prompt)
ANSWER_WORDS: dict[str, bool | None] = {
    "yes": True,
    "y": True,
    "да": True,
    "д": True,
    "1": True,
    "true": True,
    "+": True,
    "no": False,
    "n": False,
    "нет": False,
    "0": False,
    "false": False,
    "-": False,
    "na": None,
    "n/a": None,
    "нп": None,
    "н/п": None,
    "null": None,
    "skip": None,
}


def parse_answer(text: str) -> bool | None:
    """`yes` / `no` / `na` (and their Russian forms) → True / False / None; ValueError else."""
    key = text.strip().lower()
    if key not in ANSWER_WORDS:
        raise ValueError(f"«{text}»: ожидается да / нет / н/п (yes / no / na)")
    return ANSWER_WORDS[key]


# --- the forms file -------------------------------------------------------------------------

#: where each value of a YAML file starts: path (keys and list positions) → line number
LineMap = dict[tuple[str | int, ...], int]


class QualityFileError(ValueError):
    """The file cannot be read at all (not YAML, not UTF-8); the message says where."""


def _lines_of(node: yaml.Node, path: tuple[str | int, ...], lines: LineMap) -> None:
    import yaml

    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            _lines_of(value, (*path, name), lines)
            lines[(*path, name)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines_of(item, (*path, index), lines)


def yaml_lines(text: str) -> tuple[Any, LineMap]:
    """A YAML document and where each of its values starts. A ValueError's message starts
    with `:LINE` when the parser knows the line («:3: неверный YAML: …»)."""
    import yaml

    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{where}: неверный YAML: {exc}") from exc
    lines: LineMap = {}
    if node is not None:
        _lines_of(node, (), lines)
    return data, lines


def line_of(lines: LineMap, path: Sequence[str | int]) -> int:
    """The line of `path`, or of the nearest enclosing value the file has."""
    parts = tuple(path)
    while parts:
        if parts in lines:
            return lines[parts]
        parts = parts[:-1]
    return lines.get((), 1)


@dataclass
class FormsFile:
    """A forms file read and checked: the import to send (None when it has problems), every
    problem as `file:line: field: reason`, and where each value is (to place the server's
    answers on lines too)."""

    forms: QualityFormImport | None
    problems: list[str]
    lines: LineMap
    wrapped: bool
    """True when the forms sit under a top-level `forms:` key (else the file is a list)."""

    def locate(self, loc: Sequence[str | int]) -> int:
        """The line of a wire location (`forms.0.items.2.weight`)."""
        path = list(loc)
        if path and path[0] == "forms" and not self.wrapped:
            path = path[1:]
        return line_of(self.lines, path)


def read_forms(text: str, source: str) -> FormsFile:
    """Read a forms file: YAML with `forms:` (a list of forms) or the list itself; each form
    `code`, `name`, `items: [{code, text, weight, critical}]`. Every problem is collected."""

    try:
        data, lines = yaml_lines(text)
    except ValueError as exc:
        raise QualityFileError(f"{source}{exc}") from exc
    wrapped = isinstance(data, dict)
    if isinstance(data, dict):
        raw = data
    elif isinstance(data, list):
        raw = {"forms": data}
    else:
        return FormsFile(
            None, [f"{source}:1: forms: ожидается список форм (forms: [...])"], lines, False
        )
    result = FormsFile(None, [], lines, wrapped)
    repeats = _repeated_codes(raw.get("forms"))
    try:
        result.forms = QualityFormImport.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [p for p in err["loc"] if isinstance(p, str | int)]
            field_name = ".".join(str(p) for p in loc) or "forms"
            message = russian_message(dict(err))
            if "повторя" in message:
                continue  # told below, on the line of the repeat
            result.problems.append(f"{source}:{result.locate(loc)}: {field_name}: {message}")
    for loc, message in repeats:
        field_name = ".".join(str(p) for p in loc)
        result.problems.append(f"{source}:{result.locate(loc)}: {field_name}: {message}")
    if repeats:
        result.forms = None
    return result


def _repeated_codes(forms: object) -> list[tuple[list[str | int], str]]:
    """Repeated form codes and item codes, each at the repeat (the schema checks them too,
    but only once everything else in the list is valid: a file gets every problem at once)."""
    found: list[tuple[list[str | int], str]] = []
    if not isinstance(forms, list):
        return found
    seen_forms: set[object] = set()
    for i, form in enumerate(forms):
        if not isinstance(form, dict):
            continue
        code = form.get("code")
        if isinstance(code, str) and code in seen_forms:
            found.append((["forms", i, "code"], f"форма «{code}» повторяется"))
        seen_forms.add(code)
        items = form.get("items")
        seen: set[object] = set()
        for j, item in enumerate(items if isinstance(items, list) else []):
            item_code = item.get("code") if isinstance(item, dict) else None
            if isinstance(item_code, str) and item_code in seen:
                found.append((["forms", i, "items", j, "code"], f"пункт «{item_code}» повторяется"))
            seen.add(item_code)
    return found


def load_forms_file(path: Path) -> QualityFormImport:
    """The forms of a shipped file (`data/reference/quality_forms.yaml`); ValueError with
    every problem when it is broken."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QualityFileError(f"{path}: не прочитать файл: {exc}") from exc
    read = read_forms(text, str(path))
    if read.forms is None:
        raise QualityFileError("\n".join(read.problems))
    return read.forms
