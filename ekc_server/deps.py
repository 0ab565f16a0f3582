"""FastAPI dependencies: settings, DB session, the authenticated staff member, role checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, bindparam
from sqlmodel import Session, col, select

from ekc_core.enums import Role
from ekc_core.settings import ServerSettings
from ekc_server.db import AdmittedSession, admission_for
from ekc_server.errors import ForbiddenError, UnauthorizedError
from ekc_server.models import ApiToken, Staff
from ekc_server.security import token_digest

_bearer = HTTPBearer(auto_error=False, description="Login token or personal API token")

#: how stale `api_token.last_used_at` may get before a request refreshes it
_LAST_USED_GRANULARITY = timedelta(minutes=5)


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, and each such hop costs a request tens of microseconds and a GIL hand-over.


async def get_settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request, once the process has database capacity for it.

    Past the pool's size a request waits here, on the event loop, at most
    `db_pool_timeout` seconds and is then answered 503 (`db.Admission`). Opening a session
    does no I/O (a connection is taken on the first statement); closing one that still
    holds a PostgreSQL connection does (a rollback), so that part runs in the thread pool.
    """
    engine: Engine = request.app.state.engine
    admission = admission_for(engine)
    session: Session
    if admission is None:
        session = Session(engine, expire_on_commit=False)
    else:
        settings: ServerSettings = request.app.state.settings
        await admission.acquire(settings.db_pool_timeout)
        session = AdmittedSession(engine, admission)
    try:
        yield session
    finally:
        if session.in_transaction() and engine.dialect.name != "sqlite":
            await run_in_threadpool(session.close)  # a round trip to the database server
        else:
            session.close()  # nothing to end, or an embedded SQLite file: no waiting


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


#: the token and its account, built once (the statement of every signed-in request)
_TOKEN = (
    select(ApiToken, Staff)
    .join(Staff, col(Staff.id) == col(ApiToken.staff_id))
    .where(col(ApiToken.token_hash) == bindparam("digest"))
)


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_workstation: Annotated[str | None, Header(max_length=120)] = None,
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError("Требуется вход: передайте токен в заголовке Authorization")
    row = session.exec(_TOKEN, params={"digest": token_digest(credentials.credentials)}).first()
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


def require_roles(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """Dependency factory: the caller's role must be one of `roles`."""
    allowed = frozenset(roles)

    async def check(principal: PrincipalDep) -> Principal:
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
