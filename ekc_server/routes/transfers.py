"""Transfer onward to an agency and a contact's events (issue 14)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ekc_core.fields import Id
from ekc_core.transfer_wire import ContactEventPublic, ContactTransfer, ContactTransferred
from ekc_server.deps import SessionDep, Staffer
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS, error_responses
from ekc_server.routes.citizens import IdempotencyKey
from ekc_server.services import idempotency, transfers
from ekc_server.write_time import WriteTimeDep

router = APIRouter(tags=["contacts"], responses=SIGNED_IN_ERRORS)


@router.post(
    "/contacts/{contact_id}/transfer",
    response_model=ContactTransferred,
    responses={**CONFLICT, **error_responses(404)},
)
def transfer_contact(
    contact_id: Id,
    body: ContactTransfer,
    principal: Staffer,
    session: SessionDep,
    at: WriteTimeDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Transfer the caller onward to an agency's line: the operator who holds the contact
    (active or in after-call work), or a shift lead. Records a `transferred` event with who
    and when (`X-Occurred-At`), ends the conversation (after-call work starts) and sets the
    outcome to `transferred`, which the wrap-up keeps. The answer carries the agency's
    phone to dial. With an `Idempotency-Key` a repeat answers as the first time did; 409
    for a contact not yours, closed or already transferred; 422 naming `agency_code` for an
    unknown or inactive agency."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint=f"POST /contacts/{contact_id}/transfer",
        payload=body,
        status_code=200,
        action=lambda: transfers.transfer(
            session=session, principal=principal, contact_id=contact_id, data=body, at=at
        ),
    )
    return JSONResponse(payload, status_code=code)


@router.get(
    "/contacts/{contact_id}/events",
    response_model=list[ContactEventPublic],
    responses=error_responses(404),
)
def contact_events(
    contact_id: Id, principal: Staffer, session: SessionDep
) -> list[ContactEventPublic]:
    """A contact's events (transfers), oldest first: the operator who handled it, leads."""
    return transfers.events(session=session, principal=principal, contact_id=contact_id)
