"""Login, logout, `GET /me`, personal API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, status
from sqlmodel import col, select

from ekc_core.enums import Role
from ekc_core.fields import Id
from ekc_core.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    LoginRequest,
    StaffPublic,
    TokenPublic,
)
from ekc_server.deps import PrincipalDep, SessionDep, SettingsDep
from ekc_server.error_handlers import SIGNED_IN_ERRORS
from ekc_server.errors import ForbiddenError, InvalidFieldError, NotFoundError, UnauthorizedError
from ekc_server.models import ApiToken, Office, Staff
from ekc_server.security import (
    PERSONAL_PREFIX,
    SESSION_PREFIX,
    new_token,
    token_digest,
    verify_password,
)

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


@router.post("/auth/token", response_model=TokenPublic)
def login(body: LoginRequest, session: SessionDep, settings: SettingsDep) -> TokenPublic:
    """Username and password → a bearer token valid for `session_ttl_hours`."""
    staff = session.exec(select(Staff).where(Staff.username == body.username)).first()
    if staff is None or not verify_password(staff.password_hash, body.password):
        raise UnauthorizedError("Неверное имя пользователя или пароль")
    if not staff.active:
        raise UnauthorizedError("Учётная запись отключена")
    token = new_token(SESSION_PREFIX)
    expires_at = datetime.now(UTC) + timedelta(hours=settings.session_ttl_hours)
    session.add(
        ApiToken(
            staff_id=staff.id or 0,
            kind="session",
            name="login",
            token_hash=token_digest(token),
            expires_at=expires_at,
        )
    )
    session.commit()
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
    body: ApiTokenCreate, principal: PrincipalDep, session: SessionDep
) -> ApiTokenCreated:
    """A personal API token for an integration (telephony, channel gateway); shown once."""
    staff_id = principal.staff_id
    other: Staff | None = None
    if body.username is not None:
        other = session.exec(select(Staff).where(Staff.username == body.username)).first()
        if other is None:
            raise InvalidFieldError(f"нет учётной записи «{body.username}»", field="username")
    elif body.staff_id is not None:
        other = session.get(Staff, body.staff_id)
        if other is None:
            raise InvalidFieldError(f"сотрудник {body.staff_id} не найден", field="staff_id")
    if other is not None and other.id != principal.staff_id:
        if principal.role != Role.admin:
            raise ForbiddenError("выдать токен другой учётной записи может только администратор")
        assert other.id is not None
        staff_id = other.id
    token = new_token(PERSONAL_PREFIX)
    expires_at = (
        datetime.now(UTC) + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    )
    row = ApiToken(
        staff_id=staff_id,
        kind="personal",
        name=body.name,
        token_hash=token_digest(token),
        expires_at=expires_at,
    )
    session.add(row)
    session.commit()
    return ApiTokenCreated(**_token_public(row).model_dump(), token=token)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: Id, principal: PrincipalDep, session: SessionDep) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.kind != "personal":
        raise NotFoundError(f"токен {token_id} не найден")
    if token.staff_id != principal.staff_id and principal.role != Role.admin:
        raise ForbiddenError("это чужой токен")
    token.revoked_at = token.revoked_at or datetime.now(UTC)
    session.add(token)
    session.commit()
