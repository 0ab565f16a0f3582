"""Contacts: inbound from gateways, the queue, claim, end, wrap-up, abandon, outbound."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from ekc_core.enums import Channel, Line
from ekc_core.schemas import (
    ContactClaim,
    ContactInbound,
    ContactOutbound,
    ContactPublic,
    ContactWrapUp,
)
from ekc_server.deps import ContactPoster, SessionDep, Staffer
from ekc_server.routes.citizens import IdempotencyKey
from ekc_server.services import contacts, idempotency

router = APIRouter(tags=["contacts"])


@router.post(
    "/contacts",
    response_model=ContactPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Already known (same channel and external_id)"}},
)
def post_inbound(body: ContactInbound, _: ContactPoster, session: SessionDep) -> JSONResponse:
    """An inbound contact from telephony or a channel gateway; it joins the queue.

    The caller is identified by number when exactly one citizen has it. A repeat post with
    the same `(channel, external_id)` returns the first contact with 200.
    """
    contact, created = contacts.post_inbound(session=session, data=body)
    return JSONResponse(
        contact.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@router.get("/contacts/queue", response_model=list[ContactPublic])
def contact_queue(
    _: Staffer,
    session: SessionDep,
    channel: Channel | None = None,
    line: Line | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ContactPublic]:
    """Contacts waiting for an operator, oldest first."""
    return contacts.queue(session=session, channel=channel, line=line, limit=limit)


@router.get("/contacts/{contact_id}", response_model=ContactPublic)
def get_contact(contact_id: int, _: Staffer, session: SessionDep) -> ContactPublic:
    return contacts.read_contact(session=session, contact_id=contact_id)


@router.post("/contacts/{contact_id}/claim", response_model=ContactPublic)
def claim_contact(
    contact_id: int, principal: Staffer, session: SessionDep, body: ContactClaim | None = None
) -> ContactPublic:
    """Take a waiting contact (answer the call); 409 when another operator was first."""
    return contacts.claim(
        session=session, principal=principal, contact_id=contact_id, data=body or ContactClaim()
    )


@router.post("/contacts/{contact_id}/end", response_model=ContactPublic)
def end_contact(contact_id: int, principal: Staffer, session: SessionDep) -> ContactPublic:
    """The conversation ended; after-call work starts."""
    return contacts.end(session=session, principal=principal, contact_id=contact_id)


@router.post("/contacts/{contact_id}/wrapup", response_model=ContactPublic)
def wrap_up_contact(
    contact_id: int,
    body: ContactWrapUp,
    principal: Staffer,
    session: SessionDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Topic, outcome and summary; closes the contact and frees the operator."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint=f"POST /contacts/{contact_id}/wrapup",
        payload=body,
        status_code=200,
        action=lambda: contacts.wrap_up(
            session=session, principal=principal, contact_id=contact_id, data=body
        ),
    )
    return JSONResponse(payload, status_code=code)


@router.post("/contacts/{contact_id}/abandon", response_model=ContactPublic)
def abandon_contact(contact_id: int, _: ContactPoster, session: SessionDep) -> ContactPublic:
    """The caller hung up while waiting (telephony reports it)."""
    return contacts.abandon(session=session, contact_id=contact_id)


@router.post(
    "/contacts/outbound", response_model=ContactPublic, status_code=status.HTTP_201_CREATED
)
def start_outbound(
    body: ContactOutbound, principal: Staffer, session: SessionDep, key: IdempotencyKey = None
) -> JSONResponse:
    """An outgoing call by the operator (a callback); active at once."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint="POST /contacts/outbound",
        payload=body,
        action=lambda: contacts.start_outbound(session=session, principal=principal, data=body),
    )
    return JSONResponse(payload, status_code=code)
