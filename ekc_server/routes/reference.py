"""Reference data (topics, agencies, offices, deadline rules) with ETag / 304."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from sqlmodel import select

from ekc_core.fields import Id
from ekc_core.schemas import (
    AgencyPublic,
    DeadlineRulePublic,
    OfficePublic,
    TopicCreate,
    TopicPublic,
    TopicUpdate,
)
from ekc_server.deps import Admin, PrincipalDep, SessionDep
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.errors import ConflictError, InvalidFieldError
from ekc_server.models import Topic
from ekc_server.services import reference

router = APIRouter(tags=["reference"], responses=SIGNED_IN_ERRORS)

_CACHE_CONTROL = "private, no-cache"  # always revalidate; a 304 costs one small round trip


def _with_etag(request: Request, items: Sequence[BaseModel]) -> Response:
    body = json.dumps(
        [i.model_dump(mode="json") for i in items], ensure_ascii=False, separators=(",", ":")
    ).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": _CACHE_CONTROL}
    # weak validators match too (proxies such as nginx weaken ETags when they re-compress)
    candidates = {
        m.strip().removeprefix("W/") for m in request.headers.get("if-none-match", "").split(",")
    }
    if etag in candidates or "*" in candidates:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


@router.get("/topics", response_model=list[TopicPublic])
def topics(request: Request, _: PrincipalDep, session: SessionDep) -> Response:
    """The topic tree as a flat list (`parent_code` links); honours If-None-Match."""
    return _with_etag(request, reference.list_topics(session=session))


@router.get("/agencies", response_model=list[AgencyPublic])
def agencies(request: Request, _: PrincipalDep, session: SessionDep) -> Response:
    return _with_etag(request, reference.list_agencies(session=session))


@router.get("/offices", response_model=list[OfficePublic])
def offices(request: Request, _: PrincipalDep, session: SessionDep) -> Response:
    return _with_etag(request, reference.list_offices(session=session))


@router.get("/deadline-rules", response_model=list[DeadlineRulePublic])
def deadline_rules(request: Request, _: PrincipalDep, session: SessionDep) -> Response:
    """59-FZ terms per appeal kind (data from `deadlines.yaml`)."""
    return _with_etag(request, reference.list_deadline_rules(session=session))


def _parent_id(session: SessionDep, code: str | None, own_id: int | None) -> int | None:
    if code is None:
        return None
    parent = reference.topic_by_code(session=session, code=code, field="parent_code")
    # walk up from the new parent: meeting the topic itself would make a cycle
    node: Topic | None = parent
    while node is not None:
        if own_id is not None and node.id == own_id:
            raise ConflictError("тематика не может быть вложена сама в себя", field="parent_code")
        node = session.get(Topic, node.parent_id) if node.parent_id else None
    return parent.id


def _topic_out(session: SessionDep, topic: Topic) -> TopicPublic:
    return next(t for t in reference.list_topics(session=session) if t.id == topic.id)


@router.post(
    "/topics", response_model=TopicPublic, status_code=status.HTTP_201_CREATED, responses=CONFLICT
)
def create_topic(body: TopicCreate, _: Admin, session: SessionDep) -> TopicPublic:
    """Add a topic (admins): e.g. a new sub-topic when an event brings new questions."""
    if session.exec(select(Topic).where(Topic.code == body.code)).first() is not None:
        raise ConflictError(f"тематика «{body.code}» уже есть", field="code")
    parent_id = _parent_id(session, body.parent_code, None)
    group = body.group
    if group is None:
        if parent_id is None:
            raise InvalidFieldError(
                "укажите группу операторов для тематики верхнего уровня", field="group"
            )
        group = reference.get_topic(session=session, topic_id=parent_id).group_code
    topic = Topic(
        code=body.code,
        name=body.name,
        parent_id=parent_id,
        group_code=group,
        default_agency_id=(
            reference.agency_by_code(
                session=session, code=body.default_agency_code, field="default_agency_code"
            ).id
            if body.default_agency_code
            else None
        ),
        pos_answer_days=body.pos_answer_days,
        sort_order=body.sort_order or 0,
    )
    session.add(topic)
    session.commit()
    return _topic_out(session, topic)


@router.patch("/topics/{topic_id}", response_model=TopicPublic, responses=CONFLICT)
def update_topic(topic_id: Id, body: TopicUpdate, _: Admin, session: SessionDep) -> TopicPublic:
    """Rename, move, regroup or deactivate a topic (admins). Appeals keep their topic."""
    topic = reference.get_topic(session=session, topic_id=topic_id)
    changes = body.model_dump(exclude_unset=True)
    if "parent_code" in changes:
        topic.parent_id = _parent_id(session, body.parent_code, topic.id)
    if "default_agency_code" in changes:
        topic.default_agency_id = (
            reference.agency_by_code(
                session=session, code=body.default_agency_code, field="default_agency_code"
            ).id
            if body.default_agency_code
            else None
        )
    for field, attr in (
        ("name", "name"),
        ("group", "group_code"),
        ("pos_answer_days", "pos_answer_days"),
        ("sort_order", "sort_order"),
        ("active", "active"),
    ):
        if field in changes and (changes[field] is not None or field == "pos_answer_days"):
            setattr(topic, attr, changes[field])
    session.add(topic)
    session.commit()
    return _topic_out(session, topic)
