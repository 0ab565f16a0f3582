"""Reference data: loading the shipped YAML into the database, and the public views."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ekc_core.deadlines import DeadlineTerms
from ekc_core.enums import AppealKind
from ekc_core.reference_data import FlatTopic, load_reference_data
from ekc_core.schemas import AgencyPublic, DeadlineRulePublic, OfficePublic, TopicPublic
from ekc_server.errors import InvalidFieldError, NotFoundError
from ekc_server.models import Agency, DeadlineRule, Office, Topic
from ekc_server.services.shifts import seed_templates


def seed_reference(*, session: Session, data_dir: Path) -> dict[str, int]:
    """Upsert offices, agencies, topics and deadline rules by code; add the default shift
    templates the database lacks. Does not commit.

    Rows no longer in the files are kept (appeals refer to them) but marked inactive.
    """
    data = load_reference_data(data_dir)

    offices = {o.code: o for o in session.exec(select(Office)).all()}
    for rec in data.offices:
        office = offices.get(rec.code) or Office(
            code=rec.code, name=rec.name, kind=rec.kind, settlement=rec.settlement
        )
        office.sqlmodel_update(rec.model_dump())
        session.add(office)

    agencies = {a.code: a for a in session.exec(select(Agency)).all()}
    wanted = {a.code for a in data.agencies}
    for agency_rec in data.agencies:
        agency = agencies.get(agency_rec.code) or Agency(
            code=agency_rec.code,
            name=agency_rec.name,
            short_name=agency_rec.short_name,
            level=agency_rec.level,
        )
        agency.sqlmodel_update(agency_rec.model_dump())
        agency.active = True
        session.add(agency)
    for code, agency in agencies.items():
        if code not in wanted:
            agency.active = False
            session.add(agency)
    session.flush()
    agency_ids = {a.code: a.id for a in session.exec(select(Agency)).all()}

    topics = {t.code: t for t in session.exec(select(Topic)).all()}
    depth: dict[str, int] = {}
    levels: dict[int, list[FlatTopic]] = {}
    for flat in data.topics:  # parents come before their children
        depth[flat.code] = depth[flat.parent_code] + 1 if flat.parent_code else 0
        levels.setdefault(depth[flat.code], []).append(flat)
    for level in sorted(levels):  # one flush per level: parents get their ids first
        for flat in levels[level]:
            topic = topics.get(flat.code) or Topic(
                code=flat.code, name=flat.name, group_code=flat.group
            )
            topic.name = flat.name
            topic.group_code = flat.group
            topic.parent_id = topics[flat.parent_code].id if flat.parent_code else None
            topic.default_agency_id = (
                agency_ids[flat.default_agency] if flat.default_agency else None
            )
            topic.pos_answer_days = flat.pos_answer_days
            topic.sort_order = flat.sort_order
            topic.active = True
            session.add(topic)
            topics[flat.code] = topic
        session.flush()
    wanted_topics = {t.code for t in data.topics}
    for code, topic in topics.items():
        if code not in wanted_topics:
            topic.active = False
            session.add(topic)

    for kind, rule in data.deadlines.items():
        row = session.get(DeadlineRule, kind.value) or DeadlineRule(
            kind=kind.value, title=rule.title
        )
        row.sqlmodel_update(rule.model_dump())
        session.add(row)
    session.flush()
    return {
        "offices": len(data.offices),
        "agencies": len(data.agencies),
        "topics": len(data.topics),
        "deadline_rules": len(data.deadlines),
        "shift_templates": seed_templates(session=session, data_dir=data_dir),
    }


def list_offices(*, session: Session) -> list[OfficePublic]:
    rows = session.exec(select(Office).order_by(col(Office.id))).all()
    return [OfficePublic.model_validate(r) for r in rows]


def list_agencies(*, session: Session) -> list[AgencyPublic]:
    rows = session.exec(select(Agency).order_by(col(Agency.id))).all()
    return [AgencyPublic.model_validate(r) for r in rows]


def list_topics(*, session: Session) -> list[TopicPublic]:
    rows = session.exec(select(Topic).order_by(col(Topic.id))).all()
    by_id = {t.id: t for t in rows}
    agency_codes = {a.id: a.code for a in session.exec(select(Agency)).all()}
    return [topic_public(t, by_id=by_id, agency_codes=agency_codes) for t in rows]


def topic_public(
    topic: Topic, *, by_id: dict[int | None, Topic], agency_codes: dict[int | None, str]
) -> TopicPublic:
    parent = by_id.get(topic.parent_id) if topic.parent_id else None
    return TopicPublic(
        id=topic.id or 0,
        code=topic.code,
        name=topic.name,
        parent_code=parent.code if parent else None,
        group=topic.group_code,
        default_agency_code=agency_codes.get(topic.default_agency_id),
        pos_answer_days=topic.pos_answer_days,
        sort_order=topic.sort_order,
        active=topic.active,
    )


def list_deadline_rules(*, session: Session) -> list[DeadlineRulePublic]:
    rows = session.exec(select(DeadlineRule).order_by(col(DeadlineRule.kind))).all()
    return [DeadlineRulePublic.model_validate(r) for r in rows]


def deadline_terms(*, session: Session, kind: AppealKind) -> DeadlineTerms:
    rule = session.get(DeadlineRule, kind.value)
    if rule is None:
        raise InvalidFieldError(f"для вида «{kind.value}» не заданы сроки", field="kind")
    return DeadlineTerms(
        register_days=rule.register_days,
        forward_days=rule.forward_days,
        answer_days=rule.answer_days,
        max_extension_days=rule.max_extension_days,
    )


def topic_by_code(
    *, session: Session, code: str, field: str = "topic_code", location: str = "body"
) -> Topic:
    topic = session.exec(select(Topic).where(Topic.code == code)).first()
    if topic is None:
        raise InvalidFieldError(f"неизвестная тематика «{code}»", field=field, location=location)
    return topic


def active_topic_by_code(*, session: Session, code: str, field: str = "topic_code") -> Topic:
    """A topic new work may be filed under: retired (inactive) topics are refused."""
    topic = topic_by_code(session=session, code=code, field=field)
    if not topic.active:
        raise InvalidFieldError(
            f"тематика «{code}» больше не используется; выберите другую", field=field
        )
    return topic


def agency_by_code(
    *, session: Session, code: str, field: str = "agency_code", location: str = "body"
) -> Agency:
    agency = session.exec(select(Agency).where(Agency.code == code)).first()
    if agency is None:
        raise InvalidFieldError(f"неизвестное ведомство «{code}»", field=field, location=location)
    return agency


def office_by_code(*, session: Session, code: str, field: str = "office_code") -> Office:
    office = session.exec(select(Office).where(Office.code == code)).first()
    if office is None:
        raise InvalidFieldError(f"неизвестный офис «{code}»", field=field)
    return office


def get_topic(*, session: Session, topic_id: int) -> Topic:
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise NotFoundError(f"тематика {topic_id} не найдена")
    return topic


class CodeMap(dict[int | None, str]):
    """id → code of topics or agencies. An id it does not hold (a row added since, maybe by
    another process) reloads the table once through the caller's session."""

    def __init__(
        self, codes: dict[int | None, str], reload: Callable[[], dict[int | None, str]]
    ) -> None:
        super().__init__(codes)
        self._reload = reload

    def __missing__(self, key: int | None) -> str:
        if key is not None:
            self.update(self._reload())
            if key in self:
                return dict.__getitem__(self, key)
        raise KeyError(key)

    def get(self, key: int | None, default: str | None = None) -> str | None:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default


#: per engine (database): the id → code maps read so far
_CODES: weakref.WeakKeyDictionary[
    Engine, dict[type[Topic] | type[Agency], dict[int | None, str]]
] = weakref.WeakKeyDictionary()


def _codes(session: Session, model: type[Topic] | type[Agency]) -> CodeMap:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    cache = _CODES.setdefault(engine, {})

    def reload() -> dict[int | None, str]:
        codes: dict[int | None, str] = dict(session.exec(select(model.id, model.code)).all())
        cache[model] = codes
        return codes

    known = cache.get(model)
    return CodeMap(known if known is not None else reload(), reload)


def code_maps(*, session: Session) -> tuple[dict[int | None, str], dict[int | None, str]]:
    """(topic id → code, agency id → code), for rendering rows with codes.

    Read once per process and database, not per request: topic and agency rows are never
    deleted (retired ones are marked inactive) and their codes never change, so a known id
    keeps its code; an id not known yet reloads its table (see `CodeMap`).
    """
    return _codes(session, Topic), _codes(session, Agency)
