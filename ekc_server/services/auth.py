"""Sign-in and tokens: wrong-password throttling, session and personal tokens, revoking a
person's sessions when their password changes."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from ekc_core.enums import AuditAction, Role
from ekc_core.schemas import ApiTokenCreate
from ekc_core.settings import ServerSettings
from ekc_server.deps import Principal
from ekc_server.errors import InvalidFieldError, UnauthorizedError
from ekc_server.models import ApiToken, LoginThrottle, Staff, UTCDateTime
from ekc_server.security import (
    PERSONAL_PREFIX,
    SESSION_PREFIX,
    new_token,
    token_digest,
    verify_password,
)
from ekc_server.services import audit

WRONG_CREDENTIALS = "Неверное имя пользователя или пароль"
#: share of failed sign-ins that also purge counters of windows long gone
PURGE_EVERY = 100


class TooManyAttemptsError(Exception):
    """Sign-in refused without checking the password: too many attempts (429)."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            "Слишком много неудачных попыток входа; повторите через "
            f"{minutes} мин. или обратитесь к администратору"
        )
        self.message = str(self)
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Counter:
    kind: str  # login | address
    value: str
    limit: int

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.kind}:{self.value}".encode()).hexdigest()


def _counters(settings: ServerSettings, username: str, address: str | None) -> list[_Counter]:
    counters = [_Counter("login", username.strip().casefold(), settings.login_max_failures)]
    if address:
        counters.append(_Counter("address", address, settings.login_address_max_failures))
    return counters


def _count_attempt(session: Session, counter: _Counter, window: timedelta) -> tuple[int, datetime]:
    """Count one more attempt for `counter`, atomically (several server processes may count
    at once): a counter whose window has passed starts again at 1. Returns (attempts in the
    window, when the window started)."""
    now = datetime.now(UTC)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    stale: ColumnElement[bool] = table.c.window_started_at <= literal(now - window, UTCDateTime())
    statement = (
        insert(table)
        .values(key=counter.key, kind=counter.kind, failures=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((stale, 1), else_=table.c.failures + 1),
                "window_started_at": case(
                    (stale, literal(now, UTCDateTime())), else_=table.c.window_started_at
                ),
            },
        )
        .returning(table.c.failures, table.c.window_started_at)
    )
    failures, started = session.execute(statement).one()
    return int(failures), started


def _purge(session: Session, window: timedelta) -> None:
    cutoff = datetime.now(UTC) - window
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.window_started_at) <= cutoff))


def sign_in(
    *,
    session: Session,
    settings: ServerSettings,
    username: str,
    password: str,
    address: str | None,
) -> tuple[str, datetime]:
    """Check the password and open a session; returns (token, expires_at).

    Every attempt is counted (committed) before the password is checked, so that parallel
    attempts cannot slip past the limit; a successful one is then taken back from the
    address and clears the login's counter; one refused with 429 is not counted.

    Raises TooManyAttemptsError when the login or the address is over its limit in the
    current window, UnauthorizedError for a wrong password (the same answer, after the same
    argon2 work, for an unknown login) or a disabled account.
    """
    counters = _counters(settings, username, address)
    window = timedelta(minutes=settings.login_window_minutes)
    ends = []
    for counter in counters:
        attempts, started = _count_attempt(session, counter, window)
        if attempts > counter.limit:
            ends.append(started + window)
    if ends:  # refused unchecked: not counted
        session.rollback()
        seconds = (max(ends) - datetime.now(UTC)).total_seconds()
        raise TooManyAttemptsError(max(1, math.ceil(seconds)))
    if secrets.randbelow(PURGE_EVERY) == 0:
        _purge(session, window)
    session.commit()
    staff = session.exec(select(Staff).where(Staff.username == username)).first()
    if not verify_password(staff.password_hash if staff else None, password):
        raise UnauthorizedError(WRONG_CREDENTIALS)
    assert staff is not None and staff.id is not None
    if not staff.active:
        raise UnauthorizedError("Учётная запись отключена")
    login_counter, *others = counters
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == login_counter.key))
    for counter in others:  # this attempt was not a wrong password
        session.execute(
            update(LoginThrottle)
            .where(col(LoginThrottle.key) == counter.key, col(LoginThrottle.failures) > 0)
            .values(failures=col(LoginThrottle.failures) - 1)
        )
    token = new_token(SESSION_PREFIX)
    expires_at = datetime.now(UTC) + timedelta(hours=settings.session_ttl_hours)
    session.add(
        ApiToken(
            staff_id=staff.id,
            kind="session",
            name="login",
            token_hash=token_digest(token),
            expires_at=expires_at,
        )
    )
    session.commit()
    return token, expires_at


def issue_personal_token(
    *,
    session: Session,
    settings: ServerSettings,
    principal: Principal,
    data: ApiTokenCreate,
) -> tuple[ApiToken, str]:
    """A personal API token (the caller is an admin): for a gateway service account, or for
    the admin themselves; it always expires. Returns (row, the secret shown once)."""
    target = principal.staff
    field = "username" if data.username is not None else "staff_id"
    if data.username is not None:
        found = session.exec(select(Staff).where(Staff.username == data.username)).first()
        if found is None:
            raise InvalidFieldError(f"нет учётной записи «{data.username}»", field="username")
        target = found
    elif data.staff_id is not None:
        by_id = session.get(Staff, data.staff_id)
        if by_id is None:
            raise InvalidFieldError(f"сотрудник {data.staff_id} не найден", field="staff_id")
        target = by_id
    own = target.id == principal.staff_id
    if not own and target.role != Role.gateway.value:
        raise InvalidFieldError(
            f"личный токен выдаётся только служебной учётной записи шлюза (роль gateway) или "
            f"себе; у «{target.username}» роль {target.role}",
            field=field,
        )
    if not target.active:
        raise InvalidFieldError(f"учётная запись «{target.username}» отключена", field=field)
    if own:
        days = data.expires_in_days or settings.admin_token_days
        if days > settings.admin_token_days:
            raise InvalidFieldError(
                f"свой токен — не дольше {settings.admin_token_days} дн.",
                field="expires_in_days",
            )
    else:
        days = data.expires_in_days or settings.gateway_token_days
    token = new_token(PERSONAL_PREFIX)
    assert target.id is not None
    row = ApiToken(
        staff_id=target.id,
        kind="personal",
        name=data.name,
        token_hash=token_digest(token),
        expires_at=datetime.now(UTC) + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.issue_token,
        citizen_id=None,
        details={"token_id": row.id, "username": target.username, "days": days},
    )
    session.commit()
    return row, token


def revoke_on_password_change(
    *, session: Session, staff: Staff, keep_token_id: int | None = None
) -> int:
    """A person's password changed: end all their sessions (but `keep_token_id`, the one
    making the change) and their personal tokens; a gateway's personal tokens stay (the
    integration's keys, rotated on their own). Returns how many; does not commit."""
    if staff.id is None:
        return 0
    which = [col(ApiToken.staff_id) == staff.id, col(ApiToken.revoked_at).is_(None)]
    if keep_token_id is not None:
        which.append(col(ApiToken.id) != keep_token_id)
    if staff.role == Role.gateway.value:
        which.append(col(ApiToken.kind) == "session")
    result = session.execute(update(ApiToken).where(*which).values(revoked_at=datetime.now(UTC)))
    return int(result.rowcount)  # type: ignore[attr-defined]
