"""Contacts: inbound from gateways, the queue and its long-poll offers, claim, end, wrap-up,
abandon, outbound and manual contacts."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from ekc_core.enums import AuditAction, Channel, Line, Role
from ekc_core.fields import Code, Id, Text
from ekc_core.routing import RoutingTable
from ekc_core.schemas import (
    ContactClaim,
    ContactClose,
    ContactInbound,
    ContactManual,
    ContactOffers,
    ContactOutbound,
    ContactPublic,
    ContactSave,
    ContactTaken,
    ContactWrapUp,
)
from ekc_server.clock import ClockDep
from ekc_server.deps import ContactPoster, Principal, SessionDep, Staffer, require_roles
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.routes.citizens import IdempotencyKey
from ekc_server.services import (
    citizens,
    contact_access,
    contacts,
    idempotency,
    offers,
    topic_models,
)
from ekc_server.services.contact_routing import Viewer
from ekc_server.services.offers import OFFERS_MAX
from ekc_server.services.routing import table_in_force
from ekc_server.write_time import WriteTimeDep

#: history items sent with a taken contact (the card shows the newest)
TAKE_HISTORY_LIMIT = 50

router = APIRouter(tags=["contacts"], responses=SIGNED_IN_ERRORS)

#: how often a waiting long poll looks at the queue. Every worker reads the database itself,
#: so it works with any number of server processes and needs no notification channel. An
#: overflow step due sooner wakes it then (the offer changes with time alone).
OFFERS_POLL_SECONDS = 0.4


@router.post(
    "/contacts",
    response_model=ContactPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Already known (same channel and external_id)"}},
)
def post_inbound(
    body: ContactInbound, _: ContactPoster, session: SessionDep, at: WriteTimeDep
) -> JSONResponse:
    """An inbound contact from telephony or a channel gateway; it joins the queue of an
    operator group: the voice assistant's `handoff.detected_topic` (a topic code or name),
    else the topic found in the text, else the general group.

    The caller is identified by number when exactly one citizen has it. A repeat post with
    the same `(channel, external_id)` returns the first contact with 200.
    """
    contact, created = contacts.post_inbound(
        session=session, data=body, at=at, guess=topic_models.guess_topic
    )
    return JSONResponse(
        contact.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@router.get("/contacts/queue", response_model=list[ContactPublic])
def contact_queue(
    _: Staffer,
    session: SessionDep,
    clock: ClockDep,
    channel: Channel | None = None,
    line: Line | None = None,
    group: Annotated[Code | None, Query(description="only this operator group's")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ContactPublic]:
    """Every contact waiting for an operator, oldest first, whoever it is offered to (the
    offers poll gives each operator theirs), with its group and the reason now."""
    return offers.queue(
        session=session,
        table=table_in_force(session),
        now=clock(),
        channel=channel.value if channel else None,
        line=line.value if line else None,
        group=group,
        limit=limit,
    )


@router.get(
    "/contacts/offers",
    response_model=ContactOffers,
    responses={
        304: {
            "description": "`If-None-Match` named the current version and it did not change "
            "while waiting: no body (the `ETag` header repeats the version)"
        }
    },
)
async def contact_offers(
    request: Request,
    principal: Staffer,
    session: SessionDep,
    clock: ClockDep,
    version: Annotated[
        Text | None, Query(max_length=64, description="the version the client already shows")
    ] = None,
    wait: Annotated[float, Query(ge=0, le=30, description="seconds to wait for a change")] = 25.0,
    limit: Annotated[int, Query(ge=1, le=OFFERS_MAX)] = 20,
    if_none_match: Annotated[
        Text | None,
        Header(max_length=80, description="the version the client shows, as an ETag"),
    ] = None,
) -> Response:
    """The contacts offered to the caller, as a long poll (numbers masked).

    An operator is offered the waiting contacts of their groups (their skills that are
    groups of the routing table; none: the general group) first, then those of other groups
    whose overflow has reached one of their groups or everyone; oldest first within each.
    Shift leads and admins are offered every waiting contact, oldest first. Each contact
    carries its group and the reason (`route_reason`).

    Without `version`, or when the offer differs from it, answers at once. Otherwise waits
    until the offer changes — a contact arrives or is taken, or waiting time makes an
    overflow step (the poll wakes up at that moment) — or `wait` seconds pass, then answers
    with the current offer (the same version when nothing changed). No database connection
    is held while waiting.

    A client that sends the version it shows as `If-None-Match: "<version>"` (with or
    without `version`) gets `304 Not Modified` without a body when nothing changed: on a
    satellite link an unchanged queue costs a few bytes instead of the whole list again.
    The answer carries the version as its `ETag`.
    """
    shown = _etag_version(if_none_match)
    version = version if version is not None else shown

    def setup() -> tuple[RoutingTable, Viewer]:
        table = table_in_force(session)
        return table, Viewer.of(principal, table)

    table, viewer = await run_in_threadpool(setup)
    # the sign-in check is done: give its connection back to the pool for the wait
    await run_in_threadpool(session.close)
    engine: Engine = request.app.state.engine

    def check() -> offers.OfferState:
        with Session(engine) as read:
            return offers.offer_state(
                session=read, table=table, viewer=viewer, now=clock(), limit=limit
            )

    def current() -> ContactOffers:
        with Session(engine, expire_on_commit=False) as read:
            return offers.offers(session=read, table=table, viewer=viewer, now=clock(), limit=limit)

    now: str | None = None
    if version is not None:
        deadline = time.monotonic() + wait
        while (state := await run_in_threadpool(check)).version == version:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or await request.is_disconnected():
                break
            await anyio.sleep(pause(remaining, state.next_change, clock()))
        now = state.version
    if shown is not None and now == shown:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": f'"{now}"'})
    answer = await run_in_threadpool(current)
    return JSONResponse(answer.model_dump(mode="json"), headers={"ETag": f'"{answer.version}"'})


def pause(remaining: float, next_change: datetime | None, now: datetime) -> float:
    """How long a waiting poll sleeps before it looks again: the usual interval, less when
    the wait ends sooner or an overflow step is due sooner (then it wakes just after it)."""
    seconds = min(OFFERS_POLL_SECONDS, remaining)
    if next_change is not None:
        seconds = min(seconds, max(0.0, (next_change - now).total_seconds()) + 0.001)
    return seconds


def _etag_version(value: str | None) -> str | None:
    """The version in an `If-None-Match` header (`"v"`, `W/"v"` or bare `v`)."""
    if not value:
        return None
    value = value.strip().split(",")[0].strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"') or None


@router.post(
    "/contacts/manual",
    response_model=ContactPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
def start_manual(
    body: ContactManual,
    principal: Staffer,
    session: SessionDep,
    at: WriteTimeDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A conversation that came without the telephony link (a desk phone, a visitor):
    registered as the operator's own active inbound contact, the number in full."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint="POST /contacts/manual",
        payload=body,
        action=lambda: contact_access.record_read(
            session=session,
            principal=principal,
            contact=contacts.start_manual(session=session, principal=principal, data=body, at=at),
            action=AuditAction.manual_contact,
        ),
    )
    return JSONResponse(payload, status_code=code)


@router.get("/contacts/mine", response_model=list[ContactPublic])
def my_contacts(principal: Staffer, session: SessionDep) -> list[ContactPublic]:
    """The caller's contacts still active or in after-call work, newest first, in full and
    audited: what a console that lost an answer (or crashed) holds on the server."""
    held = contacts.mine(session=session, principal=principal)
    for contact in held:  # in full: each is a read of personal data (152-FZ)
        contact_access.record_read(session=session, principal=principal, contact=contact)
    session.commit()
    return held


@router.get("/contacts/{contact_id}", response_model=ContactPublic)
def get_contact(contact_id: Id, principal: Staffer, session: SessionDep) -> ContactPublic:
    """One contact; audited. An operator sees the number, sender and texts only of a
    contact they hold (or of one of the citizen they hold a contact of), others masked;
    shift leads and admins see it in full."""
    return contacts.read_contact(session=session, principal=principal, contact_id=contact_id)


@router.post("/contacts/{contact_id}/claim", response_model=ContactPublic, responses=CONFLICT)
def claim_contact(
    contact_id: Id,
    principal: Staffer,
    session: SessionDep,
    clock: ClockDep,
    body: ContactClaim | None = None,
) -> ContactPublic:
    """Take a waiting contact (answer the call); 409 when another operator was first, or
    when an operator claims a contact not offered to them yet (see the offers poll; shift
    leads and admins may take any). The contact comes in full (the number): audited."""
    contact = contacts.claim(
        session=session,
        principal=principal,
        contact_id=contact_id,
        data=body or ContactClaim(),
        now=clock(),
    )
    contact_access.record_read(
        session=session, principal=principal, contact=contact, action=AuditAction.claim_contact
    )
    session.commit()
    return contact


@router.post(
    "/contacts/{contact_id}/take",
    response_model=ContactTaken,
    responses={
        409: {
            "description": "`contact_abandoned`: the caller hung up before the answer; "
            "`contact_taken`: another operator was first; `conflict`: closed, not "
            "offered to the caller yet, or a key used for another request"
        }
    },
)
def take_contact(
    contact_id: Id,
    principal: Staffer,
    session: SessionDep,
    clock: ClockDep,
    body: ContactClaim | None = None,
    key: IdempotencyKey = None,
) -> ContactTaken:
    """Claim, and read the caller's history in the same request (the card in one round trip).

    The history is that of the identified citizen (or of `citizen_id` in the body); the view
    is audited like GET /citizens/{id}/history. A take is idempotent: sent again (with the
    same `Idempotency-Key`, after its answer was lost) while the contact is still the
    caller's, it answers 200 with the contact as it is now (in after-call work if the caller
    has hung up meanwhile); a key is never reused for another contact.
    """
    data = body or ContactClaim()
    endpoint = f"POST /contacts/{contact_id}/take"
    seen = idempotency.check_key(
        session=session, principal=principal, key=key, endpoint=endpoint, payload=data
    )
    contact = contacts.claim(
        session=session, principal=principal, contact_id=contact_id, data=data, now=clock()
    )
    if not seen:
        idempotency.remember_key(
            session=session,
            principal=principal,
            key=key,
            endpoint=endpoint,
            payload=data,
            summary={"contact_id": contact.id},
        )
    contact_access.record_read(
        session=session, principal=principal, contact=contact, action=AuditAction.claim_contact
    )
    history = None
    if contact.citizen_id is None:
        session.commit()  # the audit row of the contact (history() commits its own with it)
    else:
        history = citizens.history(
            session=session,
            principal=principal,
            citizen_id=contact.citizen_id,
            offset=0,
            limit=TAKE_HISTORY_LIMIT,
        )
    return ContactTaken(contact=contact, history=history)


@router.post("/contacts/{contact_id}/end", response_model=ContactPublic, responses=CONFLICT)
def end_contact(
    contact_id: Id, principal: Staffer, session: SessionDep, at: WriteTimeDep
) -> ContactPublic:
    """The conversation ended (at `X-Occurred-At`, when the console sends it); after-call
    work starts."""
    return contacts.end(session=session, principal=principal, contact_id=contact_id, at=at)


@router.post("/contacts/{contact_id}/wrapup", response_model=ContactPublic, responses=CONFLICT)
def wrap_up_contact(
    contact_id: Id,
    body: ContactWrapUp,
    principal: Staffer,
    session: SessionDep,
    at: WriteTimeDep,
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
            session=session, principal=principal, contact_id=contact_id, data=body, at=at
        ),
    )
    return JSONResponse(payload, status_code=code)


@router.post(
    "/contacts/{contact_id}/save",
    response_model=ContactPublic,
    responses=CONFLICT,
)
def save_contact(
    contact_id: Id,
    body: ContactSave,
    principal: Staffer,
    session: SessionDep,
    at: WriteTimeDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A call card's save in one request: ends the conversation (at `ended_at`, the desk's
    F8, when it is still active) and records topic, outcome and summary, closing the
    contact. With an `Idempotency-Key` a repeat answers as the first time did. The same as
    `/end` then `/wrapup`, in one round trip and one transaction."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint=f"POST /contacts/{contact_id}/save",
        payload=body,
        status_code=200,
        action=lambda: contacts.save(
            session=session, principal=principal, contact_id=contact_id, data=body, at=at
        ),
    )
    return JSONResponse(payload, status_code=code)


@router.post("/contacts/{contact_id}/close", response_model=ContactPublic, responses=CONFLICT)
def close_contact(
    contact_id: Id,
    body: ContactClose,
    principal: Staffer,
    session: SessionDep,
    at: WriteTimeDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Close an active or after-call contact without a wrap-up, with a reason: the operator
    gives up a card the server refused, or a shift lead closes one left open. Audited."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint=f"POST /contacts/{contact_id}/close",
        payload=body,
        status_code=200,
        action=lambda: contacts.close(
            session=session, principal=principal, contact_id=contact_id, data=body, at=at
        ),
    )
    return JSONResponse(payload, status_code=code)


Abandoner = Annotated[Principal, Depends(require_roles(Role.gateway, Role.shift_lead, Role.admin))]
"""Who may report a hang-up: the telephony gateway, and shift leads or admins (a call the
gateway never reported); not operators."""


@router.post("/contacts/{contact_id}/abandon", response_model=ContactPublic, responses=CONFLICT)
def abandon_contact(contact_id: Id, _: Abandoner, session: SessionDep) -> ContactPublic:
    """The caller hung up while waiting (telephony reports it)."""
    return contacts.abandon(session=session, contact_id=contact_id)


@router.post("/contacts/{contact_id}/hangup", response_model=ContactPublic)
def hang_up_contact(contact_id: Id, _: Abandoner, session: SessionDep) -> ContactPublic:
    """The caller hung up, at any point (telephony reports it): while waiting the contact is
    abandoned; during the conversation it ends and after-call work starts; later, or
    reported again, nothing changes (200)."""
    return contacts.hang_up(session=session, contact_id=contact_id)


@router.post(
    "/contacts/outbound",
    response_model=ContactPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
def start_outbound(
    body: ContactOutbound,
    principal: Staffer,
    session: SessionDep,
    at: WriteTimeDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """An outgoing call by the operator (a callback); active at once."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint="POST /contacts/outbound",
        payload=body,
        action=lambda: contact_access.record_read(
            session=session,
            principal=principal,
            contact=contacts.start_outbound(session=session, principal=principal, data=body, at=at),
            action=AuditAction.outbound_contact,
        ),
    )
    return JSONResponse(payload, status_code=code)
