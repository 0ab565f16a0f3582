"""Taking a contact so that none is left attached to the operator (issue 10, point 2).

A take attempt has one idempotency key. When its answer is lost (timeout, link down) the
console asks again with the same key as soon as the link answers: the server replays its
first answer, so the card opens whether the first request had reached the server or not.
A 409 says why the contact cannot be taken: the caller hung up, or another operator has it.
At start-up (after signing in), a contact the server says this operator still holds and the
console has neither open nor in its outbox is offered to reopen.

The functions here run in the controller's thread workers (`ekc_tui.controller`), not on
the UI thread: they report with messages.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ekc_core.client import new_idempotency_key
from ekc_core.enums import ContactStatus
from ekc_core.errors import (
    ApiError,
    ConflictError,
    EkcError,
    ServerError,
    ServerUnreachableError,
)
from ekc_core.phones import format_phone
from ekc_core.schemas import CitizenHistory, CitizenPublic, ContactPublic
from ekc_tui.cards import Card
from ekc_tui.correction import contact_target
from ekc_tui.desk import OfflineError
from ekc_tui.messages import CardReady, HeldContacts, TakeEnded
from ekc_tui.text import CHANNELS, fmt_dt

if TYPE_CHECKING:
    from ekc_tui.controller import Controller

#: longest pause between two attempts of a take whose answer was lost
TAKE_RETRY_MAX = 10.0

CONFLICTS = {
    "contact_abandoned": "Абонент положил трубку, не дождавшись ответа",
    "contact_taken": "Контакт уже принят другим оператором",
}


def conflict_message(exc: ConflictError) -> str:
    return CONFLICTS.get(exc.code or "", f"Контакт недоступен: {exc.message}")


def take(ctl: Controller, contact: ContactPublic) -> None:
    """Take `contact`, asking again with the same key until the server answers."""
    key = new_idempotency_key()
    pause = 1.0
    lost = False
    try:
        while ctl.alive():
            try:
                claimed, history = ctl.desk.take(contact, key)
            except ConflictError as exc:
                held = held_one(ctl, contact.id) if lost or exc.code == "conflict" else None
                if held is not None:
                    open_held(ctl, held)
                    return
                ctl.notice(conflict_message(exc), severity="warning")
                return
            except (ServerUnreachableError, ServerError, OfflineError):
                if not lost:
                    lost = True
                    ctl.notice(
                        "Нет ответа сервера на принятие контакта: спрошу снова, как только "
                        "будет связь (контакт мог уже стать вашим)",
                        severity="warning",
                        timeout=8,
                    )
                ctl.post_link()
                if not ctl.sleep(pause):
                    return
                pause = min(pause * 2, TAKE_RETRY_MAX)
                continue
            citizen = history.citizen if history else None
            ctl.post_message(CardReady(card_for(claimed), citizen, history))
            return
    finally:
        ctl.post_message(TakeEnded())


def held_one(ctl: Controller, contact_id: int) -> ContactPublic | None:
    """The contact, if the server says this operator holds it."""
    try:
        mine = ctl.desk.my_contacts()
    except (ApiError, OfflineError):
        return None
    return next((c for c in mine if c.id == contact_id), None)


def card_for(contact: ContactPublic) -> Card:
    """The card of a contact this operator holds, as the server has it: the times it knows,
    and after-call work when the conversation has ended (F8 reached it, or the caller hung
    up)."""
    card = Card.offered(contact)
    now, clock = datetime.now(UTC), card.clock()

    def ago(at: datetime) -> float:
        return max(0.0, (now - at).total_seconds())

    if contact.answered_at is not None:
        card.started_at = contact.answered_at
        card.started = clock - ago(contact.answered_at)
    if contact.status == ContactStatus.wrapup or contact.ended_at is not None:
        card.ended_at = contact.ended_at or now
        card.ended = clock - ago(card.ended_at)
        card.end_sent = True
    return card


def open_held(ctl: Controller, contact: ContactPublic) -> None:
    """Open a card for a contact the server says is this operator's (with the history)."""
    card = card_for(contact)
    citizen: CitizenPublic | None = None
    history: CitizenHistory | None = None
    cached = False
    if contact.citizen_id is not None:
        with contextlib.suppress(EkcError, OfflineError):
            citizen, history, cached = ctl.desk.open_citizen(contact.citizen_id)
    ctl.post_message(CardReady(card, citizen, history, cached))


def outbox_contacts(ctl: Controller) -> set[int]:
    """Contacts the outbox still has work for (saved but not yet sent, or refused)."""
    ids: set[int] = set()
    store = ctl.desk.store
    for item in store.outbox(states=("pending", "failed")):
        path, _ = contact_target(store, [item])
        digits = path.split("/")[2] if path.count("/") >= 3 else ""
        if digits.isdigit():
            ids.add(int(digits))
    return ids


def check_held(ctl: Controller) -> None:
    """After signing in: contacts the server says this operator holds and the console
    knows nothing of (no open card, no draft, nothing in the outbox) are offered back."""
    console = ctl.console
    if console.card is not None or console.taking is not None or console.has_draft():
        return
    try:
        mine = ctl.desk.my_contacts()
    except (ApiError, OfflineError):
        return  # offline (or a server without the list): nothing to offer now
    known = outbox_contacts(ctl)
    held = [c for c in mine if c.id not in known]
    if held:
        ctl.post_message(HeldContacts(held))


def held_question(contacts: list[ContactPublic]) -> str:
    c = contacts[0]
    channel = CHANNELS.get(c.channel.value, c.channel.value) + (
        f" {c.line.value}" if c.line else ""
    )
    who = format_phone(c.caller_number) if c.caller_number else (c.sender or "номер не указан")
    since = fmt_dt(c.answered_at or c.queued_at)
    more = f" Ещё таких контактов: {len(contacts) - 1}." if len(contacts) > 1 else ""
    return (
        f"Сервер считает, что у вас не закончен контакт: {channel}, {who}, принят {since}. "
        f"Открыть его карточку?{more} (Нет — контакт останется за вами, пока его не закроет "
        "сервер или старший смены.)"
    )
