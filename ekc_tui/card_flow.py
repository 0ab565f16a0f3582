"""The open card from F8 to F9: the end of the conversation, the save (into the outbox),
the draft that survives a crash or a quit, and a refused card reopened to be corrected."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from textual.css.query import NoMatches

from ekc_tui.messages import CardReady

if TYPE_CHECKING:
    from ekc_core.schemas import CitizenHistory, CitizenPublic
    from ekc_tui.app import EkcConsole
    from ekc_tui.cards import Card

DRAFT = "draft"
APPEAL_SOON = "Обращение уйдёт на сервер с карточкой: его номер появится здесь"


def end_call(console: EkcConsole) -> None:
    """F8: the conversation ended (sent at once); the wrap-up follows."""
    from ekc_tui.outbox import new_key

    card = console.card
    if card is None or card.ended is not None:
        return
    card.end_now()
    if card.contact is not None or card.start_item is not None:
        card.end_item = new_key()
        card.end_sent = True
        console.desk.enqueue(
            card.end_item, f"Конец разговора: {card.title()}", card.end_steps(), card.dump()
        )
    console.refresh_status()
    console.show_card()
    keep_draft(console)
    console.action_wrap()


def save(console: EkcConsole) -> None:
    """F9: the card into the outbox (what is missing is said instead); the operator is
    free. An appeal's number comes with the server's answer (`AppealsRegistered`)."""
    from ekc_tui import correction
    from ekc_tui.panes.callbacks import CallbacksPane
    from ekc_tui.text import fmt_clock

    card = console.card
    if card is None:
        console.notify("Нет открытой карточки")
        return
    wrap, kb = console.wrap_pane, console.kb_pane
    card.summary = wrap.summary.strip()
    problems = card.problems()
    if problems:
        console.notify("Не заполнено: " + ", ".join(problems), severity="warning")
        console.action_wrap()
        return
    card.end_now()
    correction.enqueue_save(console.desk.store, card, datetime.now(UTC))
    if card.callback is not None:
        console.main.query_one(CallbacksPane).done(card.callback.id)
    if card.appeal is not None:
        console.appeal_note = APPEAL_SOON
    acw = fmt_clock(card.acw_seconds)
    console.card, console.citizen, console.history = None, None, None
    console.desk.store.put(DRAFT, None)
    wrap.summary = ""
    kb.clear_query()
    console.show_history(cached=False)
    console.show_card()
    wrap.show()
    console.refresh_status()
    kb.suggest()
    console.notify(f"Карточка сохранена (постобработка {acw}). Вы свободны", timeout=4)
    console.after_save()
    kb.focus_query()


def transfer(console: EkcConsole) -> None:
    """Ctrl+L: transfer the contact to an agency (`ekc_tui.transfer_dialog`)."""
    from ekc_tui.transfer_dialog import open_transfer

    open_transfer(console)


def keep_draft(console: EkcConsole) -> None:
    """Store the open card (typed text included) so a restart brings it back."""
    card, desk = console.card, console.desk_if_made
    if card is None or desk is None:
        return
    with contextlib.suppress(NoMatches):  # the window is gone at exit: the card has it
        card.summary = console.wrap_pane.summary
    desk.store.put(DRAFT, card.dump())


def restore_draft(console: EkcConsole) -> None:
    """After signing in: the card left open at the last quit or crash comes back."""
    from ekc_tui.cards import Card

    store = console.desk.store
    data = store.get(DRAFT)
    if not data or console.card is not None:
        return
    card = Card.load(data)
    citizen: CitizenPublic | None = None
    history: CitizenHistory | None = None
    if card.citizen_id is not None:
        cached = store.citizen(card.citizen_id)
        if cached is not None:
            citizen, history = cached
    console.post_message(CardReady(card, citizen, history, cached=True, restored=True))


def correct(console: EkcConsole, card: Card) -> None:
    """A refused card reopened: say why, show the reasons by their fields (the wrap-up
    tab; the citizen's form opens at once when the citizen was refused)."""
    from ekc_tui import correction
    from ekc_tui.panes.card import CardPane

    remarks = correction.remarks(card)
    console.notify(
        "Сервер отклонил карточку: " + "; ".join(remarks.values()) + ". Исправьте и "
        "сохраните (F9): запись заменит отклонённую",
        title="Исправление",
        severity="warning",
        timeout=15,
    )
    console.action_wrap()
    if "citizen" in remarks and card.new_citizen is not None:
        console.main.query_one(CardPane).new_citizen(None)


def quit_console(console: EkcConsole) -> None:
    """Ctrl+Q: at once when nothing is open or unsent, else after a question (the card stays
    a draft, the unsent items go at the next start); the operator goes offline first
    (`presence.leave`)."""
    from ekc_tui import presence
    from ekc_tui.screens import ConfirmScreen

    desk = console.desk_if_made
    unsent = desk.unsent() if desk else 0
    if console.card is None and not unsent:
        presence.leave(console)
        return
    question = "Выйти из консоли?"
    if console.card is not None:
        question += (
            " Несохранённая карточка останется черновиком и откроется при следующем запуске."
        )
    if unsent:
        question += f" Не отправлено: {unsent} — уйдёт при следующем запуске."

    def answer(yes: object) -> None:
        if yes:
            presence.leave(console)

    console.push_screen(ConfirmScreen(question), answer)
