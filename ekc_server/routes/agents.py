"""Operator presence: an operator's ready / away / offline change (from the console's
outbox) and every operator's state for shift leads."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ekc_core.presence import AgentsPublic, PresencePublic, PresenceUpdate
from ekc_server.deps import Lead, SessionDep, SettingsDep, Staffer
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.routes.citizens import IdempotencyKey
from ekc_server.services import idempotency, presence
from ekc_server.write_time import WriteTimeDep

router = APIRouter(tags=["agents"], responses=SIGNED_IN_ERRORS)


@router.put("/agents/me/state", response_model=PresencePublic, responses=CONFLICT)
def set_my_state(
    body: PresenceUpdate,
    principal: Staffer,
    session: SessionDep,
    at: WriteTimeDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """The caller's state: `ready`, `away` (with a reason) or `offline`, at `at` (the desk's
    time; else `X-Occurred-At`, else arrival). Logged as an event; the current state follows
    the latest change by that time, so a late one (an outbox emptied after an outage) is
    history only. The same state again only marks the console as heard from. With an
    `Idempotency-Key` a repeat answers as the first time did."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint="PUT /agents/me/state",
        payload=body,
        status_code=200,
        action=lambda: presence.set_state(session=session, principal=principal, data=body, at=at),
    )
    return JSONResponse(payload, status_code=code)


@router.get("/agents", response_model=AgentsPublic)
def list_agents(_: Lead, session: SessionDep) -> AgentsPublic:
    """Every active operator (and any lead who signed in to a console): the state they set,
    since when, when their console was last heard from, and what they are doing (free, on a
    contact, after-call work, away, offline; a console silent for 2 minutes counts
    offline), sorted by that and the longest in it first."""
    return presence.agents(session=session)
