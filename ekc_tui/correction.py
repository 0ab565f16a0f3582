"""Refused outbox items: correct them or give them up, leaving nothing open (issue 10, 2).

Every item a card makes keeps the card as it was (`OutboxItem.card`). When the server
refuses one, the operator can

- *correct* it: the card reopens with its data and the server's reasons by the field they
  name (`reopen`); saving it again (`enqueue_save`) makes a new item that replaces the
  refused ones of the card, on the same contact, and reuses every answer the server already
  gave (a citizen created before the refusal is not created twice);
- *give it up*: the card's refused items are discarded (their data stays in the local
  store) and, when its contact exists on the server, an item closes it with the reason
  (`give_up`), so no contact stays open for ever.

No UI here: the console's screens call these.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ekc_tui.cards import CONTACT, Card
from ekc_tui.outbox import MissingReferenceError, new_key, resolve, resolve_path, step
from ekc_tui.store import LocalStore, OutboxItem

#: the server's step and field -> the card's field (what the operator edits)
_CITIZEN = {
    "phones": "citizen.phone",
    "last_name": "citizen.last_name",
    "first_name": "citizen.first_name",
    "middle_name": "citizen.middle_name",
    "settlement": "citizen.settlement",
}
_FIELDS: dict[str, dict[str, str]] = {
    "citizen": _CITIZEN,
    CONTACT: {"caller_number": "number", "phone": "number", "line": "line"},
    "appeal": {
        "topic_code": "topic",
        "agency_code": "appeal.agency",
        "summary": "appeal.summary",
        "description": "appeal.summary",
        "kind": "appeal.kind",
        "citizen_id": "citizen",
    },
    "callback": {"due_at": "callback.due_at", "reason": "callback.reason", "citizen_id": "citizen"},
    "attempt": {"result": "callback_result", "note": "summary"},
    "wrapup": {
        "topic_code": "topic",
        "outcome": "outcome",
        "summary": "summary",
        "citizen_id": "citizen",
    },
}
#: a problem with no field goes with its step
_STEP_AREA = {
    "citizen": "citizen",
    CONTACT: "card",
    "appeal": "appeal",
    "callback": "callback",
    "attempt": "callback_result",
}

LABELS = {
    "citizen": "гражданин",
    "citizen.phone": "телефон",
    "citizen.last_name": "фамилия",
    "citizen.first_name": "имя",
    "citizen.middle_name": "отчество",
    "citizen.settlement": "населённый пункт",
    "number": "номер",
    "line": "линия",
    "topic": "тематика",
    "outcome": "результат",
    "summary": "итог",
    "appeal": "обращение",
    "appeal.agency": "ведомство",
    "appeal.summary": "суть обращения",
    "appeal.kind": "вид обращения",
    "callback": "перезвон",
    "callback.due_at": "срок перезвона",
    "callback.reason": "причина перезвона",
    "callback_result": "итог перезвона",
    "card": "карточка",
}

_CONTACT_PATH = re.compile(r"^/contacts/(\d+)/")


def card_field(step_name: str, field: str) -> str:
    """Where a refusal belongs on the card: `("citizen", "phones.0")` -> `citizen.phone`."""
    head = field.split(".")[0] if field else ""
    mapped = _FIELDS.get(step_name, {}).get(head)
    return mapped or _STEP_AREA.get(step_name, "card")


def related(store: LocalStore, item: OutboxItem) -> list[OutboxItem]:
    """The refused items of the same card as `item` (just `item` when it has no card)."""
    key = (item.card or {}).get("key")
    if not key:
        return [item]
    same = [i for i in store.outbox(states=("failed",)) if i.card and i.card.get("key") == key]
    return same or [item]


def reopen(store: LocalStore, item: OutboxItem) -> Card | None:
    """The card of a refused item, to correct: the most complete state kept (the save's),
    the server's reasons by field, and what the next save replaces. None for an item made
    before items kept their card."""
    if item.card is None:
        return None
    items = related(store, item)
    card_key = item.card["key"]
    base = next((i for i in items if i.key == card_key), None) or max(items, key=lambda i: i.id)
    assert base.card is not None
    card = Card.load(base.card)
    card.replaces = [i.id for i in items]
    card.server_problems = {}
    for i in items:
        for p in i.problems:
            where = card_field(p.get("step", ""), p.get("field", ""))
            card.server_problems.setdefault(where, p.get("message", ""))
    if not card.server_problems:
        card.server_problems["card"] = item.last_error or "запись отклонена сервером"
    # the corrected save is a new item: its steps get new idempotency keys
    card.key = new_key()
    return card


def _request(store: LocalStore, item: OutboxItem, st: dict[str, Any]) -> tuple[Any, ...] | None:
    try:
        path, body = resolve(store, item, st)
    except MissingReferenceError:
        return None
    return (st.get("method", "POST"), path, body)


def carry_answers(
    store: LocalStore, old_items: list[OutboxItem], steps: list[dict[str, Any]]
) -> dict[str, Any]:
    """Answers of the refused items' steps that the new steps would send again unchanged
    (same method, URL and body once references are filled in): reused, not re-sent."""
    answered: dict[str, tuple[tuple[Any, ...], Any]] = {}
    for old in old_items:
        for st in old.steps:
            if st["name"] in old.results:
                request = _request(store, old, st)
                if request is not None:
                    answered[st["name"]] = (request, old.results[st["name"]])
    carried: dict[str, Any] = {}
    probe = OutboxItem(id=0, key="", title="", steps=steps, results=carried)
    for st in steps:
        known = answered.get(st["name"])
        if known is not None and _request(store, probe, st) == known[0]:
            carried[st["name"]] = known[1]
    return carried


def enqueue_save(store: LocalStore, card: Card, saved_at: datetime) -> OutboxItem:
    """Store the save of a card (F9). A corrected card replaces its refused items: the
    contact is created again only when its start was refused (with the original start
    time), and answers the server already gave are carried over."""
    old = {i.id: i for i in (store.item_by_id(n) for n in card.replaces) if i is not None}

    def refused(key: str | None) -> OutboxItem | None:
        item = store.item(key) if key else None
        return item if item is not None and item.state in ("failed", "discarded") else None

    start = refused(card.start_item)
    if start is not None:
        # the contact was never created: create it (its start time is the original one)
        old[start.id] = start
        card.start_item = new_key()
        store.enqueue(
            key=card.start_item,
            title=f"Начало (снова): {card.title()}",
            steps=card.start_steps(),
            card=card.dump(),
        )
    end = refused(card.end_item)
    if end is not None:
        old[end.id] = end
        card.end_sent = False  # the end goes with the save, at the time of F8
    steps = card.save_steps(saved_at)
    results = carry_answers(store, list(old.values()), steps)
    card.server_problems.clear()
    card.replaces = []
    return store.enqueue(
        key=card.key,
        title=card.title(),
        steps=steps,
        card=card.dump(),
        results=results,
        replaces=tuple(old),
    )


def contact_target(store: LocalStore, items: list[OutboxItem]) -> tuple[str, dict[str, str]]:
    """The `close` URL and refs of the contact these items work on, when it exists on the
    server or its start is still waiting to be sent; ("", {}) when there is none."""
    for item in items:
        for st in item.steps:
            if st["name"] == "close":
                return "", {}  # giving up a refused close: nothing more to close
            try:
                path = resolve_path(store, item, st)
            except MissingReferenceError:
                ref = (st.get("refs") or {}).get("path:contact_id", "")
                start = store.item(ref.partition("/")[0]) if "/" in ref else None
                if start is not None and start.state == "pending":
                    return "/contacts/{contact_id}/close", {"path:contact_id": ref}
                continue
            match = _CONTACT_PATH.match(path)
            if match:
                return f"/contacts/{match.group(1)}/close", {}
        started = item.results.get(CONTACT)
        if isinstance(started, dict) and started.get("id"):
            return f"/contacts/{started['id']}/close", {}
    return "", {}


def give_up(store: LocalStore, item: OutboxItem) -> OutboxItem | None:
    """Discard the card's refused items (kept in the store, listed as discarded) and
    close its contact on the server with the reason, through the outbox (a contact closed
    meanwhile answers 409: nothing left to do). Returns the closing item, if any."""
    items = related(store, item)
    path, refs = contact_target(store, items)
    for i in items:
        store.discard(i.id)
    if not path:
        return None
    reason = f"Оператор отказался от записи, отклонённой сервером: {item.last_error or ''}"
    return store.enqueue(
        key=new_key(),
        title=f"Закрытие контакта: {item.title}",
        steps=[
            step(
                "close",
                path,
                {"reason": reason[:500]},
                refs=refs,
                occurred_at=datetime.now(UTC),
                done_on_conflict=True,
            )
        ],
    )


def remarks(card: Card) -> dict[str, str]:
    """The server's reasons grouped by where the wrap-up tab shows them: `topic`,
    `outcome`, `summary`, `citizen`, `appeal`, `callback`, `other`."""
    out: dict[str, list[str]] = {}
    for where, message in card.server_problems.items():
        area = where.split(".")[0]
        if area not in ("topic", "outcome", "summary", "citizen", "appeal", "callback"):
            area = "other"
        label = LABELS.get(where, where)
        out.setdefault(area, []).append(f"{label}: {message}")
    return {area: "; ".join(lines) for area, lines in out.items()}


def field_errors(card: Card, prefix: str) -> dict[str, str]:
    """The reasons for one form (`citizen`, `appeal`, `callback`) by its field name."""
    return {
        where.partition(".")[2] or where: message
        for where, message in card.server_problems.items()
        if where == prefix or where.startswith(prefix + ".")
    }
