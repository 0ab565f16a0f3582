"""The waiting queue and what is offered to whom (issue 14: offers by group).

An operator is offered the waiting contacts of their groups (`RoutingTable.member_groups`
of their skills; none of them: the general group) at once, with priority 0, and the
contacts of other groups once an overflow step of that group reaches one of their groups
or everyone, with priority 1; oldest first within a priority. Shift leads and admins are
offered everything, oldest first.

What a caller is offered depends on the time as well as on the database: an overflow step
makes a contact visible (or changes its reason) with nothing written. So the version of an
offer list is a digest of exactly what the caller sees (ids in order, priorities, reasons),
and `OfferState.next_change` says when waiting time alone will next change it, so that the
long poll wakes up then.

One indexed query (`status, queued_at`) reads the light columns of at most `OFFERS_MAX`
waiting contacts (a second one, on `status, group_code, queued_at`, the operator's own
groups' when the first is full); the ranking runs in Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ekc_core.enums import ContactStatus
from ekc_core.routing import RoutingTable
from ekc_core.schemas import ContactOffers, ContactPublic
from ekc_server.models import Contact
from ekc_server.services import contact_access
from ekc_server.services.contact_routing import Viewer, Waiting, reason, why
from ekc_server.services.contacts import contact_public
from ekc_server.services.reference import code_maps

#: the most waiting contacts one offers answer lists, and one ranking reads
OFFERS_MAX = 1000


@dataclass(frozen=True)
class Offered:
    contact_id: int
    priority: int
    """0: a contact of the caller's own groups; 1: one that reached them by overflow."""
    queued_at: datetime
    reason: str


@dataclass(frozen=True)
class OfferState:
    offered: list[Offered]
    """The first `limit` offered contacts, in the order the caller should take them."""
    version: str
    next_change: datetime | None
    """When waiting time alone next widens an offer or changes a reason (None: never)."""


def version_of(offered: Iterable[Offered]) -> str:
    text = ";".join(f"{o.contact_id}:{o.priority}:{o.reason}" for o in offered)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _waiting(session: Session, table: RoutingTable, viewer: Viewer) -> list[Waiting]:
    """The light columns of the waiting contacts a viewer may be offered (texts and hand-offs
    left out): the `OFFERS_MAX` oldest of all — the ones whose overflow may have reached
    anyone — and, for an operator, also the `OFFERS_MAX` oldest of their own groups, so a
    backlog of other groups' contacts never hides their own."""
    columns: list[Any] = [
        Contact.id,
        Contact.group_code,
        Contact.line,
        Contact.queued_at,
        Contact.route_source,
        Contact.route_confidence,
    ]
    queued = col(Contact.status) == ContactStatus.queued.value
    order = (col(Contact.queued_at), col(Contact.id))
    rows = list(
        session.execute(sa.select(*columns).where(queued).order_by(*order).limit(OFFERS_MAX))
    )
    if viewer.members is not None and len(rows) == OFFERS_MAX:
        own: sa.ColumnElement[bool] = col(Contact.group_code).in_(sorted(viewer.members))
        if table.general in viewer.members:  # no group, or one the table no longer has
            own = sa.or_(
                own,
                col(Contact.group_code).is_(None),
                col(Contact.group_code).not_in(sorted(table.groups)),
            )
        seen = {row[0] for row in rows}
        mine = session.execute(
            sa.select(*columns).where(queued, own).order_by(*order).limit(OFFERS_MAX)
        )
        rows += [row for row in mine if row[0] not in seen]
        rows.sort(key=lambda row: (row[3], row[0]))
    return [Waiting(*row) for row in rows]


def _phase(table: RoutingTable, contact: Waiting, waited: float) -> tuple[int, datetime | None]:
    """How many overflow steps of its group the contact has passed, and when the next one
    falls due (None: no more)."""
    group = table.groups.get(contact.group_code or "") or table.groups[table.general]
    for n, step in enumerate(group.steps(contact.line or "")):
        if step.after > waited:
            return n, contact.queued_at + timedelta(seconds=step.after)
    return len(group.steps(contact.line or "")), None


def rank(
    table: RoutingTable, viewer: Viewer, contacts: Iterable[Waiting], now: datetime
) -> tuple[list[Offered], datetime | None]:
    """The contacts offered to `viewer` at `now`, ordered by (priority, queued time, id),
    and when waiting time next changes that.

    Whether and why a contact is offered depends only on its group, line, how it was routed
    and how many overflow steps it has passed: worked out once per such kind."""
    offered: list[Offered] = []
    next_change: datetime | None = None
    known: dict[tuple[str, str, int, str], tuple[int, str] | None] = {}
    for c in contacts:
        waited = (now - c.queued_at).total_seconds()
        phase, step = _phase(table, c, waited)
        if step is not None and (next_change is None or step < next_change):
            next_change = step
        group, line = c.group_code or table.general, c.line or ""
        why_ = why(c.route_source, c.route_confidence)
        kind = (group, line, phase, why_)
        if kind not in known:
            if viewer.members is None:
                known[kind] = (0, table.offer(group, line, waited, why=why_).reason)
            else:
                ranked = table.rank(viewer.members, group, line, waited, why=why_)
                known[kind] = (ranked[0], ranked[1].reason) if ranked is not None else None
        if (found := known[kind]) is not None:
            offered.append(Offered(c.id, found[0], c.queued_at, found[1]))
    offered.sort(key=lambda o: (o.priority, o.queued_at, o.contact_id))
    return offered, next_change


def offer_state(
    *, session: Session, table: RoutingTable, viewer: Viewer, now: datetime, limit: int
) -> OfferState:
    """What `offers` would answer now, without reading the contacts in full: the long
    poll's cheap check."""
    offered, next_change = rank(table, viewer, _waiting(session, table, viewer), now)
    shown = offered[:limit]
    return OfferState(shown, version_of(shown), next_change)


def offers(
    *, session: Session, table: RoutingTable, viewer: Viewer, now: datetime, limit: int
) -> ContactOffers:
    """The contacts offered to `viewer` (masked as in `queue`, with group and reason) and
    the version of that list."""
    state = offer_state(session=session, table=table, viewer=viewer, now=now, limit=limit)
    ids = [o.contact_id for o in state.offered]
    rows = {c.id: c for c in session.exec(select(Contact).where(col(Contact.id).in_(ids)))}
    topic_codes, _ = code_maps(session=session)
    kept: list[Offered] = []
    contacts: list[ContactPublic] = []
    for o in state.offered:
        row = rows.get(o.contact_id)
        if row is None or row.status != ContactStatus.queued.value:  # taken meanwhile
            continue
        kept.append(o)
        public = contact_public(row, topic_codes=topic_codes)
        contacts.append(contact_access.masked(public).model_copy(update={"route_reason": o.reason}))
    return ContactOffers(version=version_of(kept), contacts=contacts)


def queue(
    *,
    session: Session,
    table: RoutingTable,
    now: datetime,
    channel: str | None,
    line: str | None,
    group: str | None,
    limit: int,
) -> list[ContactPublic]:
    """Every waiting contact, oldest first (whoever it is offered to), masked for every role
    (152-FZ: number and sender masked, no texts), with its group and reason now."""
    query = select(Contact).where(Contact.status == ContactStatus.queued.value)
    if channel is not None:
        query = query.where(Contact.channel == channel)
    if line is not None:
        query = query.where(Contact.line == line)
    if group is not None:
        query = query.where(Contact.group_code == group)
    rows = session.exec(query.order_by(col(Contact.queued_at), col(Contact.id)).limit(limit)).all()
    topic_codes, _ = code_maps(session=session)
    return [
        contact_access.masked(contact_public(c, topic_codes=topic_codes)).model_copy(
            update={"route_reason": reason(table, c, now)}
        )
        for c in rows
    ]
