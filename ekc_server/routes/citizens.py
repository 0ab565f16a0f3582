"""Citizens: lookup, create, update, merge, anonymise, history, and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, status
from fastapi.responses import JSONResponse, Response
from sqlmodel import select

from ekc_core.enums import AuditAction
from ekc_core.fields import Id, Offset, Text
from ekc_core.schemas import (
    AuditPublic,
    AwareDatetime,
    CitizenCreate,
    CitizenHistory,
    CitizenListItem,
    CitizenMerge,
    CitizenPublic,
    CitizenUpdate,
)
from ekc_server.deps import Admin, Lead, SessionDep, Staffer
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.models import Staff
from ekc_server.responses import json_response
from ekc_server.services import audit, citizens, idempotency

router = APIRouter(tags=["citizens"], responses=SIGNED_IN_ERRORS)

IdempotencyKey = Annotated[
    Text | None, Header(alias="Idempotency-Key", min_length=8, max_length=120)
]


@router.get("/citizens", response_model=list[CitizenListItem])
def search_citizens(
    principal: Staffer,
    session: SessionDep,
    phone: Annotated[
        Text | None, Query(max_length=40, description="any way a person writes it")
    ] = None,
    name: Annotated[
        Text | None, Query(max_length=200, description="words of the full name")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    include_merged: bool = False,
    email: Annotated[
        Text | None, Query(max_length=200, description="e-mail address, any case")
    ] = None,
) -> Response:
    """Find citizens by phone, e-mail and/or name. Phones in the list are masked
    (152-FZ); the search and the ids it showed are written to the audit log."""
    found = citizens.search(
        session=session,
        phone=phone,
        name=name,
        limit=limit,
        include_merged=include_merged,
        email=email,
    )
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.search_citizens,
        citizen_id=found[0].id if len(found) == 1 else None,
        details={
            "by": [k for k, v in (("phone", phone), ("name", name), ("email", email)) if v],
            "found": [c.id for c in found],
        },
    )
    session.commit()
    return json_response(found)


@router.post(
    "/citizens",
    response_model=CitizenPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
def create_citizen(
    body: CitizenCreate, principal: Staffer, session: SessionDep, key: IdempotencyKey = None
) -> JSONResponse:
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint="POST /citizens",
        payload=body,
        action=lambda: citizens.create(session=session, principal=principal, data=body),
    )
    return JSONResponse(payload, status_code=code)


@router.get("/citizens/{citizen_id}", response_model=CitizenPublic)
def get_citizen(citizen_id: Id, principal: Staffer, session: SessionDep) -> CitizenPublic:
    """The full card (phones unmasked); the view is written to the audit log."""
    return citizens.read_citizen(session=session, principal=principal, citizen_id=citizen_id)


@router.patch("/citizens/{citizen_id}", response_model=CitizenPublic, responses=CONFLICT)
def update_citizen(
    citizen_id: Id, body: CitizenUpdate, principal: Staffer, session: SessionDep
) -> CitizenPublic:
    """Partial update; `version` must match (409 `stale_version` otherwise)."""
    return citizens.update_citizen(
        session=session, principal=principal, citizen_id=citizen_id, data=body
    )


@router.post("/citizens/{citizen_id}/merge", response_model=CitizenPublic, responses=CONFLICT)
def merge_citizens(
    citizen_id: Id, body: CitizenMerge, principal: Lead, session: SessionDep
) -> CitizenPublic:
    """Merge `source_id` into this record: every phone, contact, appeal and callback moves."""
    return citizens.merge(
        session=session, principal=principal, target_id=citizen_id, source_id=body.source_id
    )


@router.post("/citizens/{citizen_id}/anonymise", response_model=CitizenPublic, responses=CONFLICT)
def anonymise_citizen(citizen_id: Id, principal: Admin, session: SessionDep) -> CitizenPublic:
    """Remove personal data (152-FZ); contacts and appeals stay for statistics."""
    return citizens.anonymise(session=session, principal=principal, citizen_id=citizen_id)


@router.get("/citizens/{citizen_id}/history", response_model=CitizenHistory)
def citizen_history(
    citizen_id: Id,
    principal: Staffer,
    session: SessionDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 30,
) -> Response:
    """Card, counters and one page of contacts and appeals on all channels, newest first."""
    return json_response(
        citizens.history(
            session=session, principal=principal, citizen_id=citizen_id, offset=offset, limit=limit
        )
    )


@router.get("/audit", response_model=list[AuditPublic])
def audit_log(
    _: Admin,
    session: SessionDep,
    citizen_id: Id | None = None,
    staff_id: Id | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditPublic]:
    """Who viewed or changed personal data (admins), newest first."""
    rows = citizens.audit_entries(
        session=session,
        citizen_id=citizen_id,
        staff_id=staff_id,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )
    names = {s.id: s.username for s in session.exec(select(Staff)).all()}
    return [
        AuditPublic(
            id=r.id or 0,
            at=r.at,
            staff_id=r.staff_id,
            staff_username=names.get(r.staff_id),
            workstation=r.workstation,
            action=AuditAction(r.action),
            citizen_id=r.citizen_id,
            details=r.details,
        )
        for r in rows
    ]
