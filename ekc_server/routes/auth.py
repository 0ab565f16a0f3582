"""Login (throttled), logout, `GET /me`, personal API tokens (issued by admins)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from ekc_core.enums import AuditAction, Role
from ekc_core.fields import Id
from ekc_core.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    LoginRequest,
    StaffPublic,
    TokenPublic,
)
from ekc_server.deps import Admin, PrincipalDep, SessionDep, SettingsDep
from ekc_server.error_handlers import SIGNED_IN_ERRORS
from ekc_server.errors import ForbiddenError, NotFoundError
from ekc_server.models import ApiToken, Office, Staff
from ekc_server.services import audit, auth, presence

router = APIRouter(tags=["auth"], responses=SIGNED_IN_ERRORS)


def staff_public(staff: Staff, office_code: str | None) -> StaffPublic:
    return StaffPublic(
        id=staff.id or 0,
        username=staff.username,
        full_name=staff.full_name,
        role=Role(staff.role),
        office_code=office_code,
        skills=list(staff.skills or []),
        active=staff.active,
    )


@router.post(
    "/auth/token",
    response_model=TokenPublic,
    responses={
        401: {"description": "Wrong login or password, or a disabled account"},
        429: {
            "description": "Too many wrong passwords for this login or from this address; "
            "`Retry-After` says in how many seconds to try again"
        },
    },
)
def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenPublic | JSONResponse:
    """Username and password → a bearer token valid for `session_ttl_hours`.

    After `login_max_failures` wrong passwords for a login (or `login_address_max_failures`
    from one address) within `login_window_minutes`, sign-in answers 429 until the window
    ends; a successful sign-in clears the login's counter.
    """
    try:
        token, expires_at = auth.sign_in(
            session=session,
            settings=settings,
            username=body.username,
            password=body.password,
            address=request.client.host if request.client else None,
        )
    except auth.TooManyAttemptsError as exc:
        return JSONResponse(
            {"detail": exc.message, "code": "too_many_requests"},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after)},
        )
    return TokenPublic(access_token=token, expires_at=expires_at)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(principal: PrincipalDep, session: SessionDep) -> None:
    """Revoke the token used for this request."""
    token = session.get(ApiToken, principal.token_id)
    if token is not None:
        token.revoked_at = datetime.now(UTC)
        session.add(token)
        session.commit()


@router.get("/me", response_model=StaffPublic)
def me(principal: PrincipalDep, session: SessionDep) -> StaffPublic:
    """The caller's account. Also the console's heartbeat (every 15 s): it marks the
    caller's console as heard from (`last_seen_at` of their presence, at most every 30 s)."""
    presence.touch(session=session, staff_id=principal.staff_id)
    office = session.get(Office, principal.staff.office_id) if principal.staff.office_id else None
    return staff_public(principal.staff, office.code if office else None)


def _token_public(token: ApiToken) -> ApiTokenPublic:
    return ApiTokenPublic.model_validate(token)


@router.get("/tokens", response_model=list[ApiTokenPublic])
def list_tokens(principal: PrincipalDep, session: SessionDep) -> list[ApiTokenPublic]:
    """Personal API tokens: mine, or everyone's for an admin."""
    query = select(ApiToken).where(ApiToken.kind == "personal")
    if principal.role != Role.admin:
        query = query.where(ApiToken.staff_id == principal.staff_id)
    return [_token_public(t) for t in session.exec(query.order_by(col(ApiToken.id))).all()]


@router.post("/tokens", response_model=ApiTokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(
    body: ApiTokenCreate, principal: Admin, session: SessionDep, settings: SettingsDep
) -> ApiTokenCreated:
    """A personal API token (admins only): for a gateway service account (telephony, a
    channel gateway; `staff_id` or `username`), or for the admin themselves. It always
    expires: by default after `gateway_token_days` (gateway) or `admin_token_days` (own,
    also the maximum). The secret is shown once."""
    row, token = auth.issue_personal_token(
        session=session, settings=settings, principal=principal, data=body
    )
    return ApiTokenCreated(**_token_public(row).model_dump(), token=token)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: Id, principal: PrincipalDep, session: SessionDep) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.kind != "personal":
        raise NotFoundError(f"токен {token_id} не найден")
    if token.staff_id != principal.staff_id and principal.role != Role.admin:
        raise ForbiddenError("это чужой токен")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        session.add(token)
        audit.record(
            session=session,
            principal=principal,
            action=AuditAction.revoke_token,
            citizen_id=None,
            details={"token_id": token_id, "staff_id": token.staff_id},
        )
        session.commit()
