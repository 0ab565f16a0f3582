"""Callback tasks: mine / my group's, create, record an attempt or the result."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from ekc_core.enums import CallbackStatus
from ekc_core.fields import Id
from ekc_core.schemas import AwareDatetime, CallbackAttempt, CallbackCreate, CallbackPublic
from ekc_server.deps import SessionDep, Staffer
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.routes.citizens import IdempotencyKey
from ekc_server.services import callbacks, idempotency
from ekc_server.write_time import WriteTimeDep

router = APIRouter(tags=["callbacks"], responses=SIGNED_IN_ERRORS)


@router.get("/callbacks", response_model=list[CallbackPublic])
def list_callbacks(
    principal: Staffer,
    session: SessionDep,
    scope: Literal["mine", "group", "mine_and_group", "all"] = "mine_and_group",
    status: CallbackStatus | None = CallbackStatus.open,
    due_before: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CallbackPublic]:
    """Callbacks by due time: assigned to me, unassigned in my skill groups, or all (leads)."""
    return callbacks.list_tasks(
        session=session,
        principal=principal,
        scope=scope,
        status=status,
        due_before=due_before,
        limit=limit,
    )


@router.get("/callbacks/{task_id}", response_model=CallbackPublic)
def get_callback(task_id: Id, principal: Staffer, session: SessionDep) -> CallbackPublic:
    """One callback task with the full number to call (the view is audited)."""
    return callbacks.read_task(session=session, principal=principal, task_id=task_id)


@router.post(
    "/callbacks",
    response_model=CallbackPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
def create_callback(
    body: CallbackCreate, principal: Staffer, session: SessionDep, key: IdempotencyKey = None
) -> JSONResponse:
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint="POST /callbacks",
        payload=body,
        action=lambda: callbacks.create(session=session, principal=principal, data=body),
    )
    return JSONResponse(payload, status_code=code)


@router.post("/callbacks/{task_id}/attempts", response_model=CallbackPublic, responses=CONFLICT)
def record_attempt(
    task_id: Id,
    body: CallbackAttempt,
    principal: Staffer,
    session: SessionDep,
    at: WriteTimeDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """One call attempt. `reached`, `declined`, `wrong_number` complete the task; `no_answer`
    and `busy` keep it open and move its due time to `retry_at`."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint=f"POST /callbacks/{task_id}/attempts",
        payload=body,
        status_code=200,
        action=lambda: callbacks.record_attempt(
            session=session, principal=principal, task_id=task_id, data=body, at=at
        ),
    )
    return JSONResponse(payload, status_code=code)
