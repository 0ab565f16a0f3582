"""The card pane: the current contact in a few lines (the header), the voice assistant's
hand-off as its own block, and the appeal number once the server has registered it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from textual.app import ComposeResult
from textual.widgets import Static

from ekc_tui.panes.citizen import CitizenLookup
from ekc_tui.text import CHANNELS, fmt_clock

if TYPE_CHECKING:
    from ekc_core.schemas import (
        CitizenHistory,
        CitizenPublic,
        ContactPublic,
        Handoff,
    )
    from ekc_tui.app import EkcConsole
    from ekc_tui.cards import Card
    from ekc_tui.desk import Reference

#: the transcript shown in the hand-off block (it wraps; the block has at most 5 lines)
TRANSCRIPT_CHARS = 300


def suggested_topic(handoff: Handoff | None, ref: Reference | None) -> str | None:
    """The topic the card starts with (Ctrl+T Enter keeps it): the deepest sub-topic that
    matches the assistant's topic and transcript."""
    if handoff is None:
        return None
    if ref is None:
        return handoff.detected_topic
    from ekc_tui.topic_match import suggest_topic

    return suggest_topic(handoff.detected_topic, handoff.transcript or "", ref.topics)


class CardPanel(Static):
    """The current contact in two or three lines (one line each: they do not wrap).

    Redrawn every second while a card is open (its talk clock): an unchanged text is not
    drawn again, and a new one with as many lines needs no layout of the screen."""

    _shown: str | None = None

    def _draw(self, text: str) -> None:
        old, self._shown = self._shown, text
        if text != old:
            self.update(text, layout=old is None or old.count("\n") != text.count("\n"))

    def show(
        self,
        card: Card | None,
        *,
        citizen: CitizenPublic | None,
        history: CitizenHistory | None,
        offers: list[ContactPublic],
        taking: bool,
        online: bool = True,
        appeal_note: str = "",
        away: str | None = None,
    ) -> None:
        """`away`: off the line, and why (F12): said instead of "free"."""
        note = [f"[b]{escape(appeal_note)}[/b]"] if appeal_note else []
        if card is None and taking:
            self._draw("[b]Принимаю контакт…[/b] ждём ответа сервера")
            return
        if card is None and away is not None:
            why = f" ({away})" if away else ""
            line = f"[b]Не на линии{why}[/b] · F12 — вернуться на линию · Ctrl+N — карточка вручную"
            self._draw("\n".join([line, *note]))
            return
        if card is None:
            waiting = len(offers)
            if not online:
                queue = "очередь неизвестна (нет связи)"
            else:
                queue = f"в очереди {waiting} · " + ("F2 — принять" if waiting else "ожидание")
            self._draw("\n".join([f"[b]Свободен[/b] · {queue} · Ctrl+N — карточка вручную", *note]))
            return
        from ekc_core.phones import format_phone

        arrow = "⇠ входящий" if card.direction == "in" else "⇢ исходящий"
        channel = CHANNELS.get(card.channel.value, card.channel.value)
        if card.line:
            channel += f" {card.line.value}"
        number = (
            format_phone(card.number)
            if card.number
            else (card.sender or ("номер скрыт" if card.contact else "номер не указан"))
        )
        if citizen is not None:
            who = f"[b]{escape(citizen.full_name)}[/b]"
            if citizen.settlement:
                who += f" ({escape(citizen.settlement)})"
        elif card.new_citizen is not None:
            who = f"[b]{escape(card.new_citizen.full_name)}[/b] (новый)"
        else:
            who = "[yellow]гражданин не определён (Ctrl+G)[/]"
        timer = f"разговор {fmt_clock(card.handle_seconds)}"
        if card.ended is not None:
            timer += f" · постобработка {fmt_clock(card.acw_seconds)}"
        lines = [f"{arrow} {timer} · {channel} · {escape(number)} · {who}"]
        if card.callback is not None:
            number_of = card.callback.appeal_number
            lines.append(
                f"Перезвон: {escape(card.callback.reason)}"
                + (f" · обращение {number_of}" if number_of else "")
            )
        handoff = card.contact.handoff if card.contact else None
        if not (handoff and (handoff.transcript or handoff.detected_topic)) and card.text:
            lines.append(f"Сообщение: «{escape(card.text[:200])}»")
        if card.transfer is not None:
            lines.append(f"[b]→ {escape(card.transfer.line())}[/b]")
        if history is not None:
            lines.append(
                f"открытых обращений {history.open_appeals}, просрочено "
                f"{history.overdue_appeals}, перезвонов {history.open_callbacks}"
            )
        if card.contact is not None and card.contact.route_reason:  # routing (issue 14)
            lines.append(f"Группа: {escape(card.contact.route_reason)}")
        self._draw("\n".join([*lines, *note]))


class HandoffBlock(Static):
    """What the voice assistant heard: the transcript (wrapped), then the emotion and the
    suggested topic on a line of their own.

    `show` runs every second with the card's clock: the block is drawn (and the topic
    suggested, which lemmatises the transcript) only when the hand-off or the reference
    data change, not on every tick (it kept a third of a core busy while a card was open)."""

    _shown_for: tuple[object, object] | None = None

    def show(self, card: Card | None, ref: Reference | None) -> None:
        handoff = card.contact.handoff if card is not None and card.contact else None
        shown = self._shown_for
        if shown is not None and shown[0] is handoff and shown[1] is ref:
            return
        self._shown_for = (handoff, ref)  # held, so that an id is never reused meanwhile
        if handoff is None or not (handoff.transcript or handoff.detected_topic):
            self.display = False
            self.update("")
            return
        self.display = True
        lines = []
        if handoff.transcript:
            text = handoff.transcript.strip()
            if len(text) > TRANSCRIPT_CHARS:
                text = text[: TRANSCRIPT_CHARS - 1].rstrip() + "…"
            lines.append(f"[i]Помощник:[/i] «{escape(text)}»")
        code = suggested_topic(handoff, ref)
        topic = (ref.topic_name(code) if ref else code) or "—"
        facts = [f"тема: [b]{escape(topic)}[/b]"]
        if handoff.detected_emotion:
            facts.insert(0, f"настроение: [b]{escape(handoff.detected_emotion)}[/b]")
        lines.append(" · ".join(facts))
        self.update("\n".join(lines))


class CardPane(CitizenLookup):
    """The header of the card and the hand-off beneath it; finds the card's citizen."""

    def compose(self) -> ComposeResult:
        yield CardPanel(id="card")
        yield HandoffBlock(id="handoff")

    def show(self) -> None:
        console = self.console
        self.query_one(CardPanel).show(
            console.card,
            citizen=console.citizen,
            history=console.history,
            offers=console.offers,
            taking=console.taking is not None,
            online=console.online,
            appeal_note=console.appeal_note,
            away=away_reason(console),
        )
        self.query_one(HandoffBlock).show(console.card, console.ref)


def away_reason(console: EkcConsole) -> str | None:
    """The reason the operator is off the line ("" if none), or None while on it."""
    from ekc_tui.presence import REASON_RU

    state = console.presence
    if state is None or not state.away:
        return None
    return REASON_RU.get(state.reason or "", "")
