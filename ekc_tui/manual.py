"""Cards the operator opens without the queue: by hand (Ctrl+N), and a refused outbox
item reopened to be corrected (Ctrl+O)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ekc_tui.messages import CardReady

if TYPE_CHECKING:
    from ekc_tui.app import EkcConsole
    from ekc_tui.forms import ManualRequest


def ask(console: EkcConsole) -> None:
    """Ctrl+N: the channel and a number or a name, then the card."""
    from ekc_tui.forms import ManualCardScreen, ManualRequest

    def done(request: object) -> None:
        if isinstance(request, ManualRequest):
            open_manual(console, request)

    console.push_screen(ManualCardScreen(), done)


def open_manual(console: EkcConsole, request: ManualRequest) -> None:
    from ekc_core.enums import Channel, Line
    from ekc_core.phones import try_normalize_phone
    from ekc_tui.cards import Card
    from ekc_tui.outbox import new_key
    from ekc_tui.text import CHANNELS

    text = request.text.strip()
    phone = try_normalize_phone(text) if any(ch.isdigit() for ch in text) else None
    card = Card(
        key=new_key(),
        direction="in",
        channel=request.channel,
        line=request.line or (Line.l122 if request.channel == Channel.phone else None),
        number=phone,
    )
    card.start_item = new_key()
    console.desk.enqueue(
        card.start_item,
        f"Начало: {CHANNELS.get(card.channel.value, '')}",
        card.manual_start_steps(),
        card.dump(),
    )
    card.lookup = text if text and not phone else None
    console.post_message(CardReady(card, None, None))


def outbox(console: EkcConsole) -> None:
    """Ctrl+O: what has not reached the server; retry, give up or correct a refused item."""
    from ekc_tui.screens import OutboxScreen

    items = console.desk.store.outbox(states=("pending", "failed"))

    def done(choice: object) -> None:
        if isinstance(choice, tuple):
            outbox_choice(console, *choice)
            console.refresh_status()

    console.push_screen(OutboxScreen.of(items), done)


def outbox_choice(console: EkcConsole, what: str, item_id: int) -> None:
    """Retry, give up (the contact is closed on the server) or correct a refused item."""
    from ekc_tui import correction

    store = console.desk.store
    item = store.item_by_id(item_id)
    if item is None or item.state != "failed":
        console.notify("Эта запись не отклонена: она уйдёт на сервер, когда будет связь")
        return
    if what == "retry":
        store.retry(item_id)
    elif what == "discard":
        closing = correction.give_up(store, item)
        if closing is not None:
            console.notify("Запись отменена; контакт будет закрыт на сервере", timeout=5)
    elif console.card is not None:
        console.notify("Сначала сохраните текущую карточку (F9)", severity="warning")
    else:
        card = correction.reopen(store, item)
        if card is None:
            console.notify("Эту запись нельзя исправить: повторите или откажитесь")
            return
        cached = store.citizen(card.citizen_id) if card.citizen_id else None
        citizen, history = cached if cached else (None, None)
        console.post_message(CardReady(card, citizen, history, cached=True))
