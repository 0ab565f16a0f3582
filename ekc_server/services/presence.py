"""Operator presence: the ready / away / offline state operators set at the console, the
log of its changes, the console's last sign of life, and what each operator is doing now.

Rules (see `ekc_core.presence`): the current row follows the latest change *by the time it
happened at the desk*, so a change that arrives late (an outbox emptied after an outage)
is logged but never overrides a newer state; a change to the state the row already has
only refreshes `last_seen_at`. A console silent for `SILENT_MINUTES` counts offline from
its last request (`mark_silent` logs that, conditionally, so several processes do no harm).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ekc_core.enums import AgentState, ContactStatus, Role
from ekc_core.localtime import CENTRE_TZ
from ekc_core.presence import (
    SILENT_MINUTES,
    SILENT_REASON,
    Activity,
    AgentsPublic,
    PresencePublic,
    PresenceUpdate,
)
from ekc_server.deps import Principal
from ekc_server.errors import InvalidFieldError
from ekc_server.models import Contact, Staff
from ekc_server.models_performance import AgentPresence, AgentStateEvent
from ekc_server.write_time import WriteTime

SILENT_AFTER = timedelta(minutes=SILENT_MINUTES)
#: how stale `last_seen_at` may get before a request refreshes it (one UPDATE per 30 s at
#: most per console, not one per heartbeat)
SEEN_GRANULARITY = timedelta(seconds=30)
_OPEN = (ContactStatus.active.value, ContactStatus.wrapup.value)


def set_state(
    *,
    session: Session,
    principal: Principal,
    data: PresenceUpdate,
    at: WriteTime,
    max_age: timedelta = timedelta(days=14),
) -> PresencePublic:
    """Record a state change made at the desk; does not commit (the caller's idempotency
    record and this are one transaction). A time later than arrival (plus the allowed skew)
    or older than an outbox keeps (`max_age`) is refused, naming `at`."""
    when = at.from_desk(data.at) if data.at is not None else at.occurred_at
    at.refuse_future(when, field="at", what="время смены состояния")
    if when < at.received_at - max_age:
        raise InvalidFieldError(
            f"время смены состояния старше {max_age.days} дн.: такую запись принять нельзя",
            field="at",
        )
    when = min(when, at.received_at)
    reason = data.reason.value if data.reason is not None else None
    staff_id = principal.staff_id
    row = session.get(AgentPresence, staff_id)
    if row is None:
        row = AgentPresence(
            staff_id=staff_id,
            state=data.state.value,
            reason=reason,
            since=when,
            last_seen_at=at.received_at,
        )
        session.add(row)
        _log(session, staff_id, data.state.value, reason, when, at.received_at)
    else:
        row.last_seen_at = max(row.last_seen_at, at.received_at)
        if (row.state, row.reason) != (data.state.value, reason):
            _log(session, staff_id, data.state.value, reason, when, at.received_at)
            if when >= row.since:  # a late, older change is history, not the present
                row.state, row.reason, row.since = data.state.value, reason, when
                row.version += 1
        session.add(row)
    session.flush()
    return _public(principal.staff, row, None, at.received_at)


def _log(
    session: Session,
    staff_id: int,
    state: str,
    reason: str | None,
    when: datetime,
    recorded: datetime,
) -> None:
    session.add(
        AgentStateEvent(
            staff_id=staff_id, state=state, reason=reason, at=when, recorded_at=recorded
        )
    )


def touch(*, session: Session, staff_id: int, now: datetime | None = None) -> None:
    """The console of `staff_id` was heard from (its heartbeat): refresh `last_seen_at` when
    it is older than `SEEN_GRANULARITY` (a no-op for someone without a presence row)."""
    now = now or datetime.now(UTC)
    session.execute(
        update(AgentPresence)
        .where(
            col(AgentPresence.staff_id) == staff_id,
            col(AgentPresence.last_seen_at) < now - SEEN_GRANULARITY,
        )
        .values(last_seen_at=now)
    )
    session.commit()


def mark_silent(*, session: Session, now: datetime) -> int:
    """Consoles silent for `SILENT_AFTER`: their operators go offline from their last
    request, logged with reason `silent`. Commits; returns how many."""
    silent = session.exec(
        select(AgentPresence).where(
            col(AgentPresence.state) != AgentState.offline.value,
            col(AgentPresence.last_seen_at) < now - SILENT_AFTER,
        )
    ).all()
    marked = 0
    for row in silent:
        result = session.execute(
            update(AgentPresence)
            .where(
                col(AgentPresence.staff_id) == row.staff_id,
                col(AgentPresence.version) == row.version,
            )
            .values(
                state=AgentState.offline.value,
                reason=SILENT_REASON,
                since=max(row.last_seen_at, row.since),
                version=row.version + 1,
            )
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]  # another process did not
            _log(
                session,
                row.staff_id,
                AgentState.offline.value,
                SILENT_REASON,
                max(row.last_seen_at, row.since),
                now,
            )
            marked += 1
    session.commit()
    if marked:
        session.expire_all()
    return marked


@dataclass
class Doing:
    """One operator's row as the wallboard and `GET /agents` need it."""

    staff: Staff
    presence: AgentPresence | None
    activity: Activity
    since: datetime | None
    contact_id: int | None = None


def local_midnight(now: datetime) -> datetime:
    """The start of the centre's day (Asia/Irkutsk) containing `now`, in UTC."""
    local = now.astimezone(CENTRE_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def doing(*, session: Session, now: datetime) -> list[Doing]:
    """Every active operator (and any lead or admin with a presence row): the activity and
    since when, sorted by activity, then the longest in it first. Three queries."""
    rows: Iterable[tuple[Staff, AgentPresence | None]] = session.exec(
        select(Staff, AgentPresence)
        .join(AgentPresence, col(AgentPresence.staff_id) == col(Staff.id), isouter=True)
        .where(
            col(Staff.active),
            or_(
                col(Staff.role) == Role.operator.value,
                and_(
                    col(AgentPresence.staff_id).is_not(None),
                    col(Staff.role).in_([Role.shift_lead.value, Role.admin.value]),
                ),
            ),
        )
    ).all()
    open_contacts: dict[int, tuple[int, str, datetime | None]] = {}
    for cid, operator_id, status, answered, ended in session.execute(
        sa_select(
            col(Contact.id),
            col(Contact.operator_id),
            col(Contact.status),
            col(Contact.answered_at),
            col(Contact.ended_at),
        ).where(col(Contact.status).in_(_OPEN), col(Contact.operator_id).is_not(None))
    ).all():
        assert cid is not None and operator_id is not None
        mine = open_contacts.get(operator_id)
        # an active contact wins over one in after-call work; then the newest
        if mine is None or (status == "active" and mine[1] != "active"):
            open_contacts[operator_id] = (
                cid,
                status,
                answered if status == "active" else (ended or answered),
            )
    last_done: dict[int, datetime] = {
        operator_id: at
        for operator_id, at in session.exec(
            select(Contact.operator_id, func.max(Contact.wrapup_ended_at))
            .where(
                col(Contact.queued_at) >= local_midnight(now) - timedelta(hours=12),
                col(Contact.status) == ContactStatus.done.value,
                col(Contact.operator_id).is_not(None),
            )
            .group_by(col(Contact.operator_id))
        ).all()
        if operator_id is not None and at is not None
    }
    result = []
    for staff, presence in rows:
        assert staff.id is not None
        result.append(_doing(staff, presence, open_contacts.get(staff.id), last_done, now))
    order = list(Activity)
    far = datetime.max.replace(tzinfo=UTC)
    result.sort(key=lambda d: (order.index(d.activity), d.since or far, d.staff.full_name))
    return result


def _doing(
    staff: Staff,
    presence: AgentPresence | None,
    contact: tuple[int, str, datetime | None] | None,
    last_done: dict[int, datetime],
    now: datetime,
) -> Doing:
    assert staff.id is not None
    if contact is not None:
        cid, status, since = contact
        act = Activity.contact if status == ContactStatus.active.value else Activity.acw
        return Doing(staff, presence, act, since, cid)
    if presence is None:
        return Doing(staff, None, Activity.offline, None)
    silent = presence.last_seen_at < now - SILENT_AFTER
    if presence.state == AgentState.offline.value or silent:
        since = presence.since if not silent else max(presence.since, presence.last_seen_at)
        return Doing(staff, presence, Activity.offline, since)
    if presence.state == AgentState.away.value:
        return Doing(staff, presence, Activity.away, presence.since)
    done = last_done.get(staff.id)
    since = max(presence.since, done) if done is not None else presence.since
    return Doing(staff, presence, Activity.free, since)


def _public(
    staff: Staff, presence: AgentPresence | None, row: Doing | None, now: datetime
) -> PresencePublic:
    assert staff.id is not None
    row = row or _doing(staff, presence, None, {}, now)
    state = AgentState(presence.state) if presence is not None else AgentState.offline
    reason = presence.reason if presence is not None else None
    if presence is not None and row.activity == Activity.offline and state != AgentState.offline:
        state, reason = AgentState.offline, SILENT_REASON  # silent, not yet logged
    return PresencePublic(
        staff_id=staff.id,
        username=staff.username,
        full_name=staff.full_name,
        state=state,
        reason=reason,
        since=presence.since if presence is not None else None,
        last_seen_at=presence.last_seen_at if presence is not None else None,
        activity=row.activity,
        activity_since=row.since,
        contact_id=row.contact_id,
    )


def agents(*, session: Session, now: datetime | None = None) -> AgentsPublic:
    """`GET /agents`: everyone's presence and activity (silent consoles marked first)."""
    now = now or datetime.now(UTC)
    mark_silent(session=session, now=now)
    return AgentsPublic(
        at=now,
        agents=[_public(d.staff, d.presence, d, now) for d in doing(session=session, now=now)],
    )
