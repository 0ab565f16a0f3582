"""Which operator group a contact goes to, and why (issue 14).

An inbound contact takes the group of the voice assistant's topic when the hand-off names
one the topic tree knows (its code or its Russian name, in any case); otherwise the text
(the message, or the assistant's transcript) goes to a topic classifier, and a confident
guess gives the group of its topic; otherwise the contact goes to the general group. An
outgoing call takes the group of its callback's topic, a manual card or an outgoing call
without one the operator's own group.

The classifier is passed in (`Guesser`): `post_inbound` is given one by its route, and
without one nothing is guessed. `reason` words the routing for the card and the queue,
with the overflow the waiting time has reached (`ekc_core.routing.RoutingTable.offer`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from sqlmodel import Session, select

from ekc_core.enums import Role, RouteSource
from ekc_core.routing import RoutingTable
from ekc_core.schemas import Handoff
from ekc_server.deps import Principal
from ekc_server.models import Appeal, CallbackTask, Contact, Staff, Topic

log = logging.getLogger(__name__)


class TopicGuessLike(Protocol):
    """What routing reads of a classifier's guess (`topic_models.TopicGuess` has it)."""

    @property
    def topic(self) -> str | None: ...

    @property
    def group(self) -> str | None: ...

    @property
    def confidence(self) -> float: ...

    @property
    def confident(self) -> bool: ...


Guesser = Callable[[Session, str], TopicGuessLike | None]
"""A topic classifier: (session, text) → its guess, or None when it has none."""


def no_guess(session: Session, text: str) -> TopicGuessLike | None:
    """The guesser used when none is given: nothing is guessed from texts."""
    return None


@dataclass(frozen=True)
class Route:
    """Where a contact was routed: the group, the topic used, how it was found."""

    group_code: str
    routed_topic: str | None
    source: RouteSource
    confidence: float | None = None

    def apply(self, contact: Contact) -> None:
        contact.group_code = self.group_code
        contact.routed_topic = self.routed_topic
        contact.route_source = self.source.value
        contact.route_confidence = self.confidence


class Routed(Protocol):
    """What the reason of a contact is made of (a `Contact`, a `Waiting` row)."""

    @property
    def group_code(self) -> str | None: ...

    @property
    def line(self) -> str | None: ...

    @property
    def queued_at(self) -> datetime: ...

    @property
    def route_source(self) -> str | None: ...

    @property
    def route_confidence(self) -> float | None: ...


class Waiting(NamedTuple):
    """A waiting contact as the offers poll reads it (no texts)."""

    id: int
    group_code: str | None
    line: str | None
    queued_at: datetime
    route_source: str | None
    route_confidence: float | None


def why(source: str | None, confidence: float | None) -> str:
    """How the group was found, in Russian (the reason's second half)."""
    if source == RouteSource.handoff:
        return "по теме помощника"
    if source == RouteSource.text:
        share = f", {round((confidence or 0) * 100)} %" if confidence is not None else ""
        return f"по тексту{share}"
    if source == RouteSource.topic:
        return "по теме обращения"
    if source == RouteSource.operator:
        return "группа оператора"
    return "тема не определена"


def reason(table: RoutingTable, contact: Routed, at: datetime) -> str:
    """Why the contact is offered where it is after waiting until `at` («СВО, по теме
    помощника», «переполнение из ЖКХ через 60 с»)."""
    waited = (at - contact.queued_at).total_seconds()
    group = contact.group_code or table.general
    why_ = why(contact.route_source, contact.route_confidence)
    return table.offer(group, contact.line or "", waited, why=why_).reason


def topic_of_handoff(session: Session, value: str | None) -> str | None:
    """The topic code the assistant named: a code or a topic's name, case-insensitively;
    a name several topics share goes to the shallowest of them. None for anything else."""
    wanted = (value or "").strip().casefold()
    if not wanted:
        return None
    rows = session.exec(select(Topic.code, Topic.name)).all()
    by_code = [code for code, _ in rows if code.casefold() == wanted]
    by_name = sorted(
        (code for code, name in rows if name.strip().casefold() == wanted),
        key=lambda code: (code.count("."), code),
    )
    found = by_code or by_name
    return found[0] if found else None


def route_inbound(
    session: Session,
    table: RoutingTable,
    *,
    text: str | None,
    handoff: Handoff | None,
    guess: Guesser = no_guess,
) -> Route:
    """The group of a new inbound contact (see the module's docstring)."""
    topic = topic_of_handoff(session, handoff.detected_topic if handoff else None)
    if topic is not None:
        return Route(table.group_for_topic(topic), topic, RouteSource.handoff)
    said = (text or "").strip() or ((handoff.transcript or "").strip() if handoff else "")
    guessed = _guessed(guess, session, said) if said else None
    if guessed is None:
        return Route(table.general, None, RouteSource.none)
    confidence = float(guessed.confidence)
    if not guessed.confident:
        return Route(table.general, None, RouteSource.none, confidence)
    group = table.known_group(guessed.topic)
    if group is None:
        group = guessed.group if guessed.group in table.groups else None
    if group is None:
        return Route(table.general, None, RouteSource.none, confidence)
    return Route(group, guessed.topic, RouteSource.text, confidence)


def _guessed(guess: Guesser, session: Session, text: str) -> TopicGuessLike | None:
    """The classifier's guess; a classifier that fails routes nothing (the contact still
    joins the queue, in the general group: telephony must never lose a call to it)."""
    try:
        return guess(session, text)
    except Exception:
        log.exception("the topic classifier failed; the contact goes to the general group")
        return None


def own_group(table: RoutingTable, staff: Staff) -> str:
    """The operator's own group: their first skill that is a group, else the general one."""
    return next((s for s in staff.skills if s in table.groups), table.general)


def route_outbound(
    session: Session, table: RoutingTable, *, staff: Staff, callback_id: int | None
) -> Route:
    """An outgoing call: the group of its callback's topic (the appeal's, else the contact's
    it was promised on), else the operator's own group."""
    task = session.get(CallbackTask, callback_id) if callback_id is not None else None
    topic_id: int | None = None
    if task is not None and task.appeal_id is not None:
        appeal = session.get(Appeal, task.appeal_id)
        topic_id = appeal.topic_id if appeal else None
    if topic_id is None and task is not None and task.contact_id is not None:
        earlier = session.get(Contact, task.contact_id)
        topic_id = earlier.topic_id if earlier else None
    topic = session.get(Topic, topic_id) if topic_id is not None else None
    if topic is not None:
        return Route(table.group_for_topic(topic.code), topic.code, RouteSource.topic)
    return route_manual(table, staff=staff)


def route_manual(table: RoutingTable, *, staff: Staff) -> Route:
    """A card opened by hand: the operator's own group."""
    return Route(own_group(table, staff), None, RouteSource.operator)


#: roles offered every waiting contact (and who may take any of them)
SEE_ALL_ROLES = (Role.shift_lead, Role.admin)


@dataclass(frozen=True)
class Viewer:
    """Whose offers: the operator's groups, or None for everything (leads, admins)."""

    members: frozenset[str] | None

    @classmethod
    def of(cls, principal: Principal, table: RoutingTable) -> Viewer:
        if principal.role in SEE_ALL_ROLES:
            return cls(None)
        return cls(table.member_groups(principal.staff.skills))


def refuse_unoffered(
    *, table: RoutingTable, principal: Principal, contact: Routed, contact_id: int, now: datetime
) -> str | None:
    """Why `principal` may not take this waiting contact yet (None: they may).

    The claim rule of an ACD: an operator takes only what is offered to them now (what
    their console shows); shift leads and admins take anything (a lead helps out)."""
    viewer = Viewer.of(principal, table)
    if viewer.members is None:
        return None
    group = contact.group_code or table.general
    waited = (now - contact.queued_at).total_seconds()
    if table.rank(viewer.members, group, contact.line or "", waited, why="") is not None:
        return None
    name = (table.groups.get(group) or table.groups[table.general]).name
    return (
        f"контакт {contact_id} ещё не предложен вашим группам: его ждёт группа «{name}»; "
        "возьмите контакт из своей очереди"
    )
