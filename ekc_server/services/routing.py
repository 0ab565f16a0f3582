"""The routing table in force and its versions (issue 14): read, checked, stored.

Every import is checked against the topic tree and the lines (`ekc_core.routing`) and kept
as a new version with who imported it and when — the newest one is in force, the older ones
stay as the record. Before any import the shipped `data/reference/routing.yaml` is in force
(version 0).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from ekc_core.enums import AuditAction, Line
from ekc_core.routing import OverflowStep, RoutingFileError, RoutingTable, read_routing
from ekc_core.routing_edit import OverflowChange, edit_routing
from ekc_core.routing_wire import (
    RoutingChange,
    RoutingGroupPublic,
    RoutingImport,
    RoutingPublic,
    RoutingStepPublic,
    RoutingVersionPublic,
)
from ekc_core.settings import default_reference_dir
from ekc_server.deps import Principal
from ekc_server.errors import ConflictError, FieldErrorsError, NotFoundError
from ekc_server.models import Staff, Topic
from ekc_server.models_routing import RoutingVersion
from ekc_server.services import audit

SHIPPED_FILE = "reference/routing.yaml"

log = logging.getLogger(__name__)


def tree_groups(session: Session) -> dict[str, str]:
    """Topic code → group of the topic tree in the database."""
    return dict(session.exec(select(Topic.code, Topic.group_code)).all())


def _read(session: Session, text: str, source: str, *, strict: bool = False) -> RoutingTable:
    """A routing file against the topic tree in the database. Imports are `strict`; the table
    in force is read leniently: a topic group added to the tree later goes to the general
    group instead of making the table unreadable."""
    return _parsed(text, source, tuple(sorted(tree_groups(session).items())), strict)


@lru_cache(maxsize=8)
def _parsed(
    text: str, source: str, tree: tuple[tuple[str, str], ...], strict: bool = False
) -> RoutingTable:
    """The file parsed once per (file, tree) in a process (a refusal is not kept)."""
    return read_routing(
        text,
        source,
        tree_groups=dict(tree),
        lines_known=[line.value for line in Line],
        strict_tree=strict,
    )


#: `Session.info` key of the table in force as this session read it
_SESSION_TABLE = "ekc_routing_table"


def table_in_force(session: Session) -> RoutingTable:
    """The routing table in force, for routing contacts and the offers poll: two queries
    (the newest version's file, the topic tree's groups) once per session — a request that
    routes a contact, guesses its topic and answers with its reason reads it once; the file
    is parsed once per (file, tree) in a process."""
    cached = session.info.get(_SESSION_TABLE)
    if isinstance(cached, RoutingTable):
        return cached
    row = _latest(session)
    text, source = (row.text, row.source_name) if row is not None else _shipped()
    tree = tuple(sorted(tree_groups(session).items()))
    try:
        table = _parsed(text, source, tree)
    except RoutingFileError:  # an override of a topic removed from the tree since
        log.exception("routing version %s unreadable; the shipped file routes", source)
        table = _parsed(*_shipped(), tree)
    session.info[_SESSION_TABLE] = table
    return table


def _latest(session: Session) -> RoutingVersion | None:
    return session.exec(
        select(RoutingVersion).order_by(col(RoutingVersion.version).desc()).limit(1)
    ).first()


@lru_cache(maxsize=1)
def _shipped() -> tuple[str, str]:
    """The shipped routing file: its text and name (version 0)."""
    path = default_reference_dir() / SHIPPED_FILE
    return path.read_text(encoding="utf-8"), path.name


def _steps(steps: tuple[OverflowStep, ...]) -> list[RoutingStepPublic]:
    return [RoutingStepPublic(after=s.after, to=list(s.to) if s.to else None) for s in steps]


def _public(
    session: Session, row: RoutingVersion | None, parsed: RoutingTable | None = None
) -> RoutingPublic:
    """The version as the API shows it; `parsed`: the table of its text, when already read."""
    if row is None:
        (text, source), at, who, version = _shipped(), None, None, 0
    else:
        text, source, at, version = row.text, row.source_name, row.created_at, row.version
        staff = session.get(Staff, row.created_by) if row.created_by else None
        at = at if row.id is not None else None  # a dry run's preview was never stored
        who = staff.full_name if staff else None
    if parsed is None:
        parsed = _read(session, text, source)
    return RoutingPublic(
        version=version,
        source_name=source,
        created_at=at,
        created_by=who,
        general=parsed.general,
        groups=[
            RoutingGroupPublic(
                code=g.code,
                name=g.name,
                overflow=_steps(g.overflow),
                lines={line: _steps(steps) for line, steps in g.by_line.items()},
            )
            for g in parsed.groups.values()
        ],
        topics=dict(sorted(parsed.topic_groups.items())),
        text=text,
    )


def current(*, session: Session, version: int | None = None) -> RoutingPublic:
    """The version in force, or the stored `version` (0: the shipped file)."""
    if version is None:
        return _public(session, _latest(session))
    if version == 0:
        return _public(session, None)
    row = session.exec(select(RoutingVersion).where(RoutingVersion.version == version)).first()
    if row is None:
        raise NotFoundError(f"нет версии маршрутизации {version}")
    return _public(session, row)


def versions(*, session: Session) -> list[RoutingVersionPublic]:
    rows = session.exec(select(RoutingVersion).order_by(col(RoutingVersion.version).desc()))
    names = {s.id: s.full_name for s in session.exec(select(Staff))}
    return [
        RoutingVersionPublic(
            version=r.version,
            source_name=r.source_name,
            created_at=r.created_at,
            created_by=names.get(r.created_by) if r.created_by else None,
        )
        for r in rows
    ]


def import_table(*, session: Session, principal: Principal, body: RoutingImport) -> RoutingPublic:
    """Check the file (every problem at once: 422 with `file:line: field: reason` per
    problem), then store it as the next version (a dry run stores nothing)."""
    try:
        parsed = _read(session, body.text, body.source_name, strict=True)
    except RoutingFileError as exc:
        raise FieldErrorsError([(["text"], p) for p in exc.problems]) from exc
    return _store(
        session, principal, body.text, body.source_name, parsed, dry_run=body.dry_run, details={}
    )


def change_table(*, session: Session, principal: Principal, body: RoutingChange) -> RoutingPublic:
    """Apply a change to the table in force and store the result as the next version.

    409 when `base_version` is given and another version is in force by now (someone else
    changed the table since the admin looked); 422 with `field: reason` per problem."""
    latest = _latest(session)
    base = latest.version if latest else 0
    if body.base_version is not None and body.base_version != base:
        raise ConflictError(
            f"маршрутизация уже изменена: в силе версия {base}, а не {body.base_version}; "
            "посмотрите её (ekc-admin routing show) и повторите"
        )
    text, _ = (latest.text, latest.source_name) if latest else _shipped()
    tree = tree_groups(session)
    try:
        new_text = edit_routing(
            text,
            base_version=base,
            topics=body.topics,
            overflow=[
                OverflowChange(
                    group=o.group,
                    line=o.line.value if o.line else None,
                    steps=None if o.steps is None else [(s.after, s.to or None) for s in o.steps],
                )
                for o in body.overflow
            ],
            tree_groups=tree,
            lines_known=[line.value for line in Line],
        )
        parsed = _read(session, new_text, CHANGE_SOURCE, strict=True)
    except RoutingFileError as exc:
        raise FieldErrorsError([([p.partition(":")[0]], p) for p in exc.problems]) from exc
    details = body.model_dump(mode="json", exclude={"dry_run"})
    return _store(
        session, principal, new_text, CHANGE_SOURCE, parsed, dry_run=body.dry_run, details=details
    )


#: the source name of a version made by `ekc-admin routing set`
CHANGE_SOURCE = "ekc-admin routing set"


def _store(
    session: Session,
    principal: Principal,
    text: str,
    source_name: str,
    parsed: RoutingTable,
    *,
    dry_run: bool,
    details: dict[str, Any],
) -> RoutingPublic:
    """Keep `text` as the next version (audited) and answer with it; a dry run stores
    nothing and answers with what would be in force."""
    if dry_run:
        preview = RoutingVersion(version=_top(session) + 1, text=text, source_name=source_name)
        return _public(session, preview, parsed)
    row = RoutingVersion(
        version=_top(session) + 1,
        text=text,
        source_name=source_name,
        created_by=principal.staff_id,
    )
    session.add(row)
    session.info.pop(_SESSION_TABLE, None)  # this session now has a newer table in force
    try:
        session.flush()
    except IntegrityError as exc:  # two changes at once took the same number
        session.rollback()
        raise ConflictError("маршрутизацию в это же время меняет другой импорт; повторите") from exc
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.change_routing,
        citizen_id=None,
        details={"version": row.version, "source_name": source_name, **details},
    )
    return _public(session, row, parsed)


def _top(session: Session) -> int:
    return int(session.exec(select(func.coalesce(func.max(RoutingVersion.version), 0))).one())
