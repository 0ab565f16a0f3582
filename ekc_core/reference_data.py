"""Loading and validating the shipped reference data in `data/reference/*.yaml`.

Every problem is reported as `file: path.to.field: reason`, before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ekc_core.enums import AppealKind

#: libyaml's safe loader when available (several times faster: tests reseed per test)
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: share of incoming contacts per top-level topic, the centre's 10-month mix: contract
#: service ~45 %, then medicine, social support and ЖКХ, then the rest (demo data and the
#: simulated contact stream both draw from it)
INBOUND_TOPIC_WEIGHTS: dict[str, float] = {
    "svo": 45.0,
    "medicine": 15.0,
    "social": 12.0,
    "housing": 14.0,
    "transport": 2.2,
    "emergency": 1.2,
    "psych": 1.6,
    "commercial": 0.8,
    "rights": 1.2,
    "education": 1.2,
    "environment": 0.9,
    "labour": 1.0,
    "communications": 0.7,
    "local_gov": 1.3,
    "culture": 0.5,
    "business": 0.5,
    "mfc": 0.9,
}


class ReferenceDataError(ValueError):
    """The shipped data is broken; `problems` lists `file: field: reason` lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OfficeRecord(_Strict):
    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    kind: str = Field(pattern=r"^(contact_centre|mfc|tosp)$")
    settlement: str
    district: str | None = None
    address: str | None = None
    remote: bool = False
    timezone: str = "Asia/Irkutsk"


class AgencyRecord(_Strict):
    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    short_name: str
    level: str = Field(pattern=r"^(regional|federal|municipal|utility|other)$")
    email: str | None = None
    phone: str | None = None


class TopicRecord(_Strict):
    code: str = Field(pattern=r"^[a-z0-9_.]+$")
    name: str
    group: str | None = None
    default_agency: str | None = None
    pos_answer_days: int | None = Field(default=None, ge=1, le=30)
    children: list[TopicRecord] = Field(default_factory=list)


class DeadlineRecord(_Strict):
    title: str
    register_days: int | None = Field(default=None, ge=0)
    forward_days: int | None = Field(default=None, ge=0)
    answer_days: int | None = Field(default=None, ge=0)
    max_extension_days: int | None = Field(default=None, ge=0)
    legal_basis: str | None = None


class FlatTopic(BaseModel):
    code: str
    name: str
    parent_code: str | None
    group: str
    default_agency: str | None
    pos_answer_days: int | None
    sort_order: int


class ReferenceData(BaseModel):
    offices: list[OfficeRecord]
    agencies: list[AgencyRecord]
    topics: list[FlatTopic]
    deadlines: dict[AppealKind, DeadlineRecord]


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_YAML_LOADER)  # a safe loader (C or Python)
    except FileNotFoundError:
        problems.append(f"{path}: файл не найден")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problems.append(f"{path}{where}: неверный YAML: {exc}")
    return None


def _validate_list(path: Path, raw: Any, model: type[BaseModel], problems: list[str]) -> list[Any]:
    if not isinstance(raw, list):
        problems.append(f"{path}: ожидался список записей")
        return []
    records = []
    for index, item in enumerate(raw):
        try:
            records.append(model.model_validate(item))
        except ValidationError as exc:
            label = item.get("code", index) if isinstance(item, dict) else index
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(f"{path}: [{label}].{loc}: {err['msg']}")
    return records


def _flatten(topics: list[TopicRecord], parent: FlatTopic | None) -> Iterator[FlatTopic]:
    for order, topic in enumerate(topics):
        group = topic.group or (parent.group if parent else None) or "general"
        flat = FlatTopic(
            code=topic.code,
            name=topic.name,
            parent_code=parent.code if parent else None,
            group=group,
            default_agency=topic.default_agency,
            pos_answer_days=topic.pos_answer_days,
            sort_order=order,
        )
        yield flat
        yield from _flatten(topic.children, flat)


def load_reference_data(data_dir: Path) -> ReferenceData:
    """Read and cross-check `reference/{offices,agencies,topics,deadlines}.yaml`."""
    ref = data_dir / "reference"
    problems: list[str] = []
    offices = _validate_list(
        ref / "offices.yaml", _read_yaml(ref / "offices.yaml", problems), OfficeRecord, problems
    )
    agencies = _validate_list(
        ref / "agencies.yaml", _read_yaml(ref / "agencies.yaml", problems), AgencyRecord, problems
    )
    tree = _validate_list(
        ref / "topics.yaml", _read_yaml(ref / "topics.yaml", problems), TopicRecord, problems
    )
    topics = list(_flatten(tree, None))

    deadlines: dict[AppealKind, DeadlineRecord] = {}
    raw_deadlines = _read_yaml(ref / "deadlines.yaml", problems)
    kinds = raw_deadlines.get("kinds") if isinstance(raw_deadlines, dict) else None
    if raw_deadlines is not None and not isinstance(kinds, dict):
        problems.append(f"{ref / 'deadlines.yaml'}: kinds: ожидалось отображение вид → сроки")
    for name, raw in (kinds or {}).items():
        try:
            kind = AppealKind(name)
        except ValueError:
            problems.append(f"{ref / 'deadlines.yaml'}: kinds.{name}: неизвестный вид обращения")
            continue
        try:
            deadlines[kind] = DeadlineRecord.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(f"{ref / 'deadlines.yaml'}: kinds.{name}.{loc}: {err['msg']}")
    if kinds is not None:
        for kind in AppealKind:
            if kind not in deadlines and kind.value not in kinds:
                problems.append(f"{ref / 'deadlines.yaml'}: kinds.{kind.value}: нет сроков")

    for label, codes in (
        ("offices.yaml", [o.code for o in offices]),
        ("agencies.yaml", [a.code for a in agencies]),
        ("topics.yaml", [t.code for t in topics]),
    ):
        seen: set[str] = set()
        for code in codes:
            if code in seen:
                problems.append(f"{ref / label}: code: повторяется код «{code}»")
            seen.add(code)
    agency_codes = {a.code for a in agencies}
    for topic in topics:
        if topic.default_agency and topic.default_agency not in agency_codes:
            problems.append(
                f"{ref / 'topics.yaml'}: [{topic.code}].default_agency: "
                f"нет ведомства «{topic.default_agency}» в agencies.yaml"
            )
    if problems:
        raise ReferenceDataError(problems)
    return ReferenceData(offices=offices, agencies=agencies, topics=topics, deadlines=deadlines)
