"""Appeals: create (idempotent), list with filters, get with events, add events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from ekc_core.enums import AppealStatus, AuditAction
from ekc_core.fields import Code, Id, Offset
from ekc_core.schemas import AppealCreate, AppealDetail, AppealEventCreate, AppealPublic, Page
from ekc_server.deps import SessionDep, Staffer
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS, error_responses
from ekc_server.routes.citizens import IdempotencyKey
from ekc_server.services import appeals, audit, citizens, idempotency
from ekc_server.write_time import WriteTimeDep

router = APIRouter(tags=["appeals"], responses=SIGNED_IN_ERRORS)


@router.post(
    "/appeals", response_model=AppealDetail, status_code=status.HTTP_201_CREATED, responses=CONFLICT
)
def create_appeal(
    body: AppealCreate,
    principal: Staffer,
    session: SessionDep,
    at: WriteTimeDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Register an appeal; its 59-FZ deadlines come from the rules of its kind.

    With an `Idempotency-Key`, a retry returns the first result and creates nothing; the
    same key with a different body is refused with 409.
    """
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint="POST /appeals",
        payload=body,
        action=lambda: appeals.create(session=session, principal=principal, data=body, at=at),
    )
    return JSONResponse(payload, status_code=code)


@router.get("/appeals", response_model=Page[AppealPublic], responses=error_responses(404))
def list_appeals(
    principal: Staffer,
    session: SessionDep,
    status: Annotated[list[AppealStatus] | None, Query()] = None,
    agency: Code | None = None,
    topic: Annotated[
        Code | None, Query(description="a topic code; includes its sub-topics")
    ] = None,
    overdue: bool | None = None,
    assignee_id: Id | None = None,
    citizen_id: Id | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[AppealPublic]:
    """Appeals by filter, newest first. With `citizen_id` (an unknown one: 404) the view is
    written to the audit log as a read of that citizen's history."""
    if citizen_id is not None:
        citizens.get_citizen(session=session, citizen_id=citizen_id)
    page = appeals.list_appeals(
        session=session,
        status=status,
        agency_code=agency,
        topic_code=topic,
        overdue=overdue,
        assignee_id=assignee_id,
        citizen_id=citizen_id,
        offset=offset,
        limit=limit,
    )
    if citizen_id is not None:  # one citizen's appeals: a view of their history (152-FZ)
        audit.record(
            session=session,
            principal=principal,
            action=AuditAction.list_appeals,
            citizen_id=citizen_id,
            details={"total": page.total},
        )
        session.commit()
    return page


@router.get("/appeals/{appeal_id}", response_model=AppealDetail)
def get_appeal(appeal_id: Id, principal: Staffer, session: SessionDep) -> AppealDetail:
    return appeals.read(session=session, principal=principal, appeal_id=appeal_id)


@router.post(
    "/appeals/{appeal_id}/events",
    response_model=AppealDetail,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
def add_event(
    appeal_id: Id,
    body: AppealEventCreate,
    principal: Staffer,
    session: SessionDep,
    at: WriteTimeDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """`forwarded` (agency_code), `agency_reply` (text), `extended` (extension_days; shift
    lead), `resolved`, `closed`, `cancelled` (shift lead), `comment`, `callback_made`,
    `status_change` (status). A transition the status does not allow → 409."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint=f"POST /appeals/{appeal_id}/events",
        payload=body,
        action=lambda: appeals.add_event(
            session=session, principal=principal, appeal_id=appeal_id, data=body, at=at
        ),
    )
    return JSONResponse(payload, status_code=code)
