"""Housekeeping of the record: no contact stays open for ever.

A console may die with a card open, an operator may give up a card the server refused, a
gateway may never report a hang-up. The backend closes such contacts itself, with a reason
in the contact and a row in the audit log, from a periodic task every process runs
(`run_periodically`; the updates are conditional, so several processes do no harm) and on
demand (`ekc-server contacts close-stale`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from ekc_core.enums import AuditAction, Channel, ContactStatus
from ekc_core.settings import ServerSettings
from ekc_server.models import Contact
from ekc_server.services import audit, presence
from ekc_server.services.contacts import OPEN_STATUSES, finish_values
from ekc_server.write_time import WriteTime

log = logging.getLogger("ekc_server.housekeeping")

#: the reasons the backend writes when it closes what nobody finished
STALE_OPEN_REASON = "закрыт автоматически: не завершён оператором за {hours:g} ч"
STALE_QUEUED_REASON = "снят из очереди автоматически: нет сведений от телефонии за {hours:g} ч"


def close_stale(
    *,
    session: Session,
    open_hours: float,
    queued_hours: float,
    now: datetime | None = None,
) -> list[int]:
    """Close contacts nobody will finish, audited; returns their ids. Commits.

    Active or after-call contacts untouched for `open_hours` are closed with a reason at the
    moment the limit passed, not now: the record must not count hours nobody worked. Calls
    still queued `queued_hours` after they came in are marked abandoned (the gateway never
    reported the hang-up); written channels may wait in the queue and are left alone. A
    limit of 0 turns its part off.
    """
    now = now or datetime.now(UTC)
    closed: list[int] = []
    if open_hours > 0:
        limit = timedelta(hours=open_hours)
        reason = STALE_OPEN_REASON.format(hours=open_hours)
        last_touch = func.coalesce(Contact.ended_at, Contact.answered_at, Contact.queued_at)
        for contact in session.exec(
            select(Contact).where(col(Contact.status).in_(OPEN_STATUSES), last_touch < now - limit)
        ).all():
            last = contact.ended_at or contact.answered_at or contact.queued_at
            values = finish_values(contact, WriteTime(occurred_at=last + limit, received_at=now))
            if _update_if(session, contact, OPEN_STATUSES, {**values, "close_reason": reason}):
                closed.append(contact.id or 0)
    if queued_hours > 0:
        limit = timedelta(hours=queued_hours)
        reason = STALE_QUEUED_REASON.format(hours=queued_hours)
        for contact in session.exec(
            select(Contact).where(
                Contact.status == ContactStatus.queued.value,
                Contact.channel == Channel.phone.value,
                col(Contact.queued_at) < now - limit,
            )
        ).all():
            values = {
                "status": ContactStatus.abandoned.value,
                "abandoned": True,
                "ended_at": contact.queued_at + limit,
                "ended_recorded_at": now,
                "close_reason": reason,
            }
            if _update_if(session, contact, (ContactStatus.queued.value,), values):
                closed.append(contact.id or 0)
    if closed:
        audit.record_system(
            session=session,
            action=AuditAction.close_stale_contacts,
            details={
                "contact_ids": closed,
                "open_hours": open_hours,
                "queued_hours": queued_hours,
            },
        )
    session.commit()
    return closed


def _update_if(
    session: Session, contact: Contact, statuses: tuple[str, ...], values: dict[str, object]
) -> bool:
    """Write `values` only if the contact's status is still one of `statuses` (the operator
    or another process may have got there first); True when written."""
    result = session.execute(
        update(Contact)
        .where(col(Contact.id) == contact.id, col(Contact.status).in_(statuses))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def close_stale_now(engine: Engine, settings: ServerSettings) -> list[int]:
    """One pass with the limits of `settings`."""
    with Session(engine, expire_on_commit=False) as session:
        return close_stale(
            session=session,
            open_hours=settings.stale_contact_hours,
            queued_hours=settings.stale_queue_hours,
        )


def mark_silent_now(engine: Engine) -> int:
    """Log offline the operators whose consoles went silent, even when no lead is watching
    the wallboard (which does the same on every computation): plan-vs-fact reads the log."""
    with Session(engine, expire_on_commit=False) as session:
        return presence.mark_silent(session=session, now=datetime.now(UTC))


async def run_periodically(engine: Engine, settings: ServerSettings) -> None:
    """Every `stale_check_minutes` until cancelled: close stale contacts and log silent
    consoles offline; a failed pass is logged and the next one tries again."""
    interval = settings.stale_check_minutes * 60
    if interval <= 0:
        return
    while True:
        # the first pass one interval after start: a server starting up (or a test) is not
        # raced by it
        await anyio.sleep(interval)
        try:
            silent = await anyio.to_thread.run_sync(mark_silent_now, engine)
        except Exception:
            log.exception("logging silent consoles failed; trying again in %s s", interval)
        else:
            if silent:
                log.info("%d silent consoles logged offline", silent)
        if settings.stale_contact_hours <= 0 and settings.stale_queue_hours <= 0:
            continue
        try:
            closed = await anyio.to_thread.run_sync(close_stale_now, engine, settings)
        except Exception:
            log.exception("closing stale contacts failed; trying again in %s s", interval)
        else:
            if closed:
                log.info("closed %d stale contacts: %s", len(closed), closed)
