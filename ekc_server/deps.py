"""FastAPI dependencies: settings, DB session, the authenticated staff member, role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_core.settings import ServerSettings
from ekc_server.errors import ForbiddenError, UnauthorizedError
from ekc_server.models import ApiToken, Staff
from ekc_server.security import token_digest

_bearer = HTTPBearer(auto_error=False, description="Login token or personal API token")

#: how stale `api_token.last_used_at` may get before a request refreshes it
_LAST_USED_GRANULARITY = timedelta(minutes=5)


def get_settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    engine: Engine = request.app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[ServerSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the staff account, the token used, and the workstation name."""

    staff: Staff
    token_id: int
    workstation: str | None

    @property
    def staff_id(self) -> int:
        assert self.staff.id is not None
        return self.staff.id

    @property
    def role(self) -> Role:
        return Role(self.staff.role)


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_workstation: Annotated[str | None, Header(max_length=120)] = None,
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError("Требуется вход: передайте токен в заголовке Authorization")
    row = session.exec(
        select(ApiToken, Staff)
        .join(Staff, Staff.id == ApiToken.staff_id)  # type: ignore[arg-type]
        .where(ApiToken.token_hash == token_digest(credentials.credentials))
    ).first()
    now = datetime.now(UTC)
    if row is None:
        raise UnauthorizedError("Токен не найден или отозван; войдите снова")
    token, staff = row
    if token.revoked_at is not None:
        raise UnauthorizedError("Токен отозван; войдите снова")
    if token.expires_at is not None and token.expires_at <= now:
        raise UnauthorizedError("Срок действия токена истёк; войдите снова")
    if not staff.active:
        raise UnauthorizedError("Учётная запись отключена")
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_GRANULARITY:
        token.last_used_at = now
        session.add(token)
        session.commit()
    workstation = x_workstation or (request.client.host if request.client else None)
    assert token.id is not None
    return Principal(staff=staff, token_id=token.id, workstation=workstation)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """Dependency factory: the caller's role must be one of `roles`."""
    allowed = frozenset(roles)

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ForbiddenError(f"Недостаточно прав: нужна роль {names}")
        return principal

    return check


STAFF_ROLES = (Role.operator, Role.shift_lead, Role.admin)
Staffer = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
"""Any person working in the centre (not a gateway service account)."""
Lead = Annotated[Principal, Depends(require_roles(Role.shift_lead, Role.admin))]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
ContactPoster = Annotated[Principal, Depends(require_roles(*STAFF_ROLES, Role.gateway))]
"""Who may post an inbound contact: telephony/channel gateways and staff."""
