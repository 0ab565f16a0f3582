"""The console's main window: status bar, card panel, history, and the work tabs
(knowledge base, wrap-up, queue, callbacks), with how each draws its data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Input,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)
from textual.widgets.option_list import Option

from ekc_core.enums import Channel, ContactOutcome
from ekc_core.phones import format_phone
from ekc_core.schemas import CitizenHistory, CitizenPublic, ContactPublic
from ekc_tui import correction
from ekc_tui.cards import Card
from ekc_tui.desk import Reference
from ekc_tui.text import CALLBACK_RESULTS, CHANNELS, OUTCOMES, STATUS_NAMES, fmt_clock, fmt_dt

if TYPE_CHECKING:
    from ekc_tui.app import EkcConsole


def short_name(full_name: str) -> str:
    """ "Романов Лев Романович" -> "Романов Л. Р." (the status bar is one line at 80 columns)."""
    last, *rest = full_name.split() or [""]
    return " ".join([last, *(f"{p[0]}." for p in rest if p)])


class Redrawn(Static):
    """A Static redrawn once a second: an unchanged text is not drawn again, and a new
    text with as many lines as the old one needs no layout of the screen."""

    _shown: str | None = None

    def show_text(self, text: str) -> None:
        old, self._shown = self._shown, text
        if text != old:
            self.update(text, layout=old is None or old.count("\n") != text.count("\n"))


class StatusBar(Redrawn):
    """Who is signed in, online/offline, unsent items, contacts waiting."""

    def render_state(
        self, *, who: str, online: bool, unsent: int, failed: int, waiting: int, kb: int
    ) -> None:
        link = "[green]● на связи[/]" if online else "[b red]● нет связи[/]"
        parts = [escape(who), link]
        if unsent:
            parts.append(f"[yellow]не отправлено: {unsent}[/]")
        else:
            parts.append("всё отправлено")
        if failed:
            parts.append(f"[b red]отклонено: {failed} (Ctrl+O)[/]")
        parts.append(f"в очереди: {waiting}")
        parts.append(f"статей: {kb}")
        self.show_text(" · ".join(parts))


class CardPanel(Redrawn):
    """The current contact in two or three lines."""

    def show(
        self,
        card: Card | None,
        *,
        citizen: CitizenPublic | None,
        history: CitizenHistory | None,
        ref: Reference | None,
        offers: list[ContactPublic],
        taking: bool,
    ) -> None:
        if card is None and taking:
            self.show_text("[b]Принимаю контакт…[/b] ждём ответа сервера")
            return
        if card is None:
            waiting = len(offers)
            hint = "F2 — принять" if waiting else "ожидание контактов"
            self.show_text(
                f"[b]Свободен[/b] · в очереди {waiting} · {hint} · Ctrl+N — карточка вручную"
            )
            return
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
        counters = ""
        if history is not None:
            counters = (
                f"открытых обращений {history.open_appeals}, просрочено "
                f"{history.overdue_appeals}, перезвонов {history.open_callbacks}"
            )
        if card.callback is not None:
            lines.append(
                f"Перезвон: {escape(card.callback.reason)}"
                + (
                    f" · обращение {card.callback.appeal_number}"
                    if card.callback.appeal_number
                    else ""
                )
            )
        handoff = card.contact.handoff if card.contact else None
        if handoff and (handoff.transcript or handoff.detected_topic):
            topic = ref.topic_name(handoff.detected_topic) if ref else handoff.detected_topic
            emotion = handoff.detected_emotion
            mood = f" · настроение: {escape(emotion)}" if emotion else ""
            lines.append(
                f"[i]Помощник[/i]: «{escape((handoff.transcript or '')[:300])}»{mood} · "
                f"тема: {escape(topic or '—')}"
            )
        elif card.text:
            lines.append(f"Сообщение: «{escape(card.text[:200])}»")
        if counters:
            lines.append(counters)
        self.show_text("\n".join(lines))


class ConsoleFooter(Footer):
    """Textual's Footer without its leak (Textual 8.2): each FooterKey it composes is
    data-bound to the footer's `compact`, which puts a watcher holding the key in the
    footer's own list, and Textual prunes that list only when `compact` changes (never).
    So every recompose (each `refresh_bindings`: a card opened or saved, the queue changed,
    the focus moved, a dialog closed) kept all the removed keys alive, ~100 KB a time."""

    async def recompose(self) -> None:
        await super().recompose()
        for watchers in getattr(self, "__watchers", {}).values():
            watchers[:] = [(node, callback) for node, callback in watchers if node.is_attached]


class ConsoleScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 - Textual's type

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield CardPanel(id="card")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Static("История гражданина", classes="pane-title", id="history-title")
                table: DataTable[str] = DataTable(
                    id="history", cursor_type="row", zebra_stripes=True
                )
                yield table
            with TabbedContent(id="work", initial="tab-kb"):
                with TabPane("База знаний", id="tab-kb"):
                    yield Input(placeholder="Поиск в базе знаний (F3)…", id="kb-query")
                    yield Static("", id="kb-info", classes="dim")
                    yield OptionList(id="kb-results")
                with TabPane("Итог", id="tab-wrap"):
                    yield Static("", id="wrap-message")
                    yield Static("", id="wrap-topic")
                    yield OptionList(id="outcomes")
                    yield TextArea(id="summary", soft_wrap=True)
                    yield Static("", id="wrap-extra")
                with TabPane("Очередь", id="tab-queue"):
                    queue: DataTable[str] = DataTable(id="queue", cursor_type="row")
                    yield queue
                with TabPane("Перезвоны", id="tab-callbacks"):
                    cbs: DataTable[str] = DataTable(id="callbacks", cursor_type="row")
                    yield cbs
        yield ConsoleFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        cast("EkcConsole", self.app).console_ready()

    def show_history(
        self,
        history: CitizenHistory | None,
        *,
        card: Card | None,
        ref: Reference | None,
        cached: bool,
    ) -> None:
        """The citizen's contacts and appeals beside the card (the current contact: "идёт")."""
        table = self.query_one("#history", DataTable)
        table.clear()
        title = self.query_one("#history-title", Static)
        if history is None:
            title.update("История гражданина" + (" — новый" if card and card.new_citizen else ""))
            return
        title.update(
            f"История: {escape(history.citizen.full_name)}"
            + (" [yellow](из памяти консоли)[/]" if cached else "")
        )
        current = card.contact if card else None
        for item in history.page.items:
            if item.appeal is not None:
                a = item.appeal
                due = fmt_dt(a.answer_due)
                if a.overdue:
                    due = f"[b red]⚠ {due}[/]"
                table.add_row(
                    fmt_dt(item.at),
                    "обращение",
                    STATUS_NAMES.get(a.status.value, a.status.value),
                    due,
                    escape(f"{a.number} {a.summary}"[:60]),
                    escape(ref.agency_name(a.agency_code) if ref else a.agency_code or ""),
                    key=f"a{a.id}",
                )
            elif item.contact is not None:
                c = item.contact
                channel = CHANNELS.get(c.channel.value, c.channel.value)
                arrow = "⇠" if c.direction.value == "in" else "⇢"
                what = OUTCOMES.get(c.outcome, "") if c.outcome else ""
                topic = ref.topic_name(c.topic_code) if ref and c.topic_code else ""
                table.add_row(
                    fmt_dt(item.at),
                    f"{arrow} {channel}",
                    "идёт"
                    if current is not None and c.id == current.id
                    else STATUS_NAMES.get(c.status.value, c.status.value),
                    "",
                    escape(" — ".join(p for p in (topic, c.summary or what) if p)[:80]),
                    "",
                    key=f"c{c.id}",
                )

    def show_wrap(self, card: Card | None, ref: Reference | None) -> None:
        """The wrap-up tab: topic, outcomes, the appeal and callback drafted, what is missing,
        and the server's reasons by their fields when the card was refused."""
        message = self.query_one("#wrap-message", Static)
        message.update(
            f"[b]Сообщение:[/b] {escape(card.text)}" if card is not None and card.text else ""
        )
        message.display = bool(card is not None and card.text)
        topic = self.query_one("#wrap-topic", Static)
        outcomes = self.query_one("#outcomes", OptionList)
        extra = self.query_one("#wrap-extra", Static)
        if card is None:
            topic.update("Нет открытой карточки")
            outcomes.clear_options()
            extra.update("")
            return
        self.query_one("#summary", TextArea).border_title = (
            "Итог разговора" if card.channel == Channel.phone else "Ответ гражданину и итог"
        )
        name = ref.topic_path(card.topic_code) if ref and card.topic_code else ""
        remarks = correction.remarks(card)
        refused = {k: f"\n[b red]⚠ сервер: {escape(v)}[/]" for k, v in remarks.items()}
        topic.update(
            f"Тематика: [b]{escape(name) or '— не выбрана'}[/b] (Ctrl+T)" + refused.get("topic", "")
        )
        choices: Iterable[tuple[str, str]]
        if card.callback is not None:
            choices = ((r.value, label) for r, label in CALLBACK_RESULTS.items())
            chosen = card.callback_result.value if card.callback_result else None
        else:
            choices = (
                (o.value, label) for o, label in OUTCOMES.items() if o != ContactOutcome.no_answer
            )
            chosen = card.outcome.value if card.outcome else None
        highlighted = outcomes.highlighted
        outcomes.clear_options()
        outcomes.add_options(
            [
                Option(f"{i}. {'●' if value == chosen else '○'} {label}", id=value)
                for i, (value, label) in enumerate(choices, 1)
            ]
        )
        if highlighted is not None:
            outcomes.highlighted = highlighted
        parts = [
            refused[area].strip() + (" (Ctrl+G)" if area == "citizen" else "")
            for area in ("citizen", "outcome", "summary", "other")
            if area in refused
        ]
        if card.appeal is not None:
            parts.append(
                f"Обращение: {escape(card.appeal.summary[:60])} (Ctrl+R — изменить)"
                + refused.get("appeal", "")
            )
        if card.callback_request is not None:
            parts.append(
                f"Перезвон: {fmt_dt(card.callback_request.due_at)} (Ctrl+B — изменить)"
                + refused.get("callback", "")
            )
        problems = card.problems()
        parts.append(
            "[yellow]Не заполнено: " + ", ".join(problems) + "[/]"
            if problems
            else "[green]Готово к сохранению: F9[/]"
        )
        extra.update("\n".join(parts))
