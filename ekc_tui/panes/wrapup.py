"""The wrap-up pane: topic, outcome (a digit picks it), the summary, the appeal and the
callback drafted, what is missing, and the server's reasons when a card was refused."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from rich.markup import escape
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import OptionList, Static, TextArea
from textual.widgets.option_list import Option

from ekc_tui.text import CALLBACK_RESULTS, OUTCOMES, fmt_dt

if TYPE_CHECKING:
    from ekc_tui.app import EkcConsole


class WrapPane(Vertical):
    """Everything the card needs before F9."""

    def __init__(self) -> None:
        super().__init__(id="wrap-pane")
        self._draft_timer: Timer | None = None

    @property
    def console(self) -> EkcConsole:
        return cast("EkcConsole", self.app)

    def compose(self) -> ComposeResult:
        yield Static("", id="wrap-message")
        yield Static("", id="wrap-topic")
        yield OptionList(id="outcomes")
        yield TextArea(id="summary", soft_wrap=True)
        yield Static("", id="wrap-extra")

    # --- the summary ---------------------------------------------------------------------

    @property
    def summary(self) -> str:
        with contextlib.suppress(NoMatches):  # the window is being torn down
            return self.query_one("#summary", TextArea).text
        return ""

    @summary.setter
    def summary(self, text: str) -> None:
        self.query_one("#summary", TextArea).text = text

    def append_summary(self, text: str) -> None:
        area = self.query_one("#summary", TextArea)
        area.text = (area.text + "\n" + text).strip() if area.text else text

    @on(TextArea.Changed, "#summary")
    def _summary_changed(self, event: TextArea.Changed) -> None:
        card = self.console.card
        if card is None:
            return
        card.summary = event.text_area.text
        # at most two writes a second while typing
        if self._draft_timer is None:
            self._draft_timer = self.set_timer(0.5, self._draft_due)

    def _draft_due(self) -> None:
        self._draft_timer = None
        self.console.keep_draft()

    # --- outcomes --------------------------------------------------------------------------

    def focus_outcomes(self) -> None:
        outcomes = self.query_one("#outcomes", OptionList)
        outcomes.focus()
        # a dialog that just closed may hand the focus back after this: take it again
        self.call_after_refresh(outcomes.focus)

    def on_key(self, event: events.Key) -> None:
        """Digits pick the outcome while the outcome list has the focus."""
        if not (event.character and event.character.isdigit()):
            return
        outcomes = self.query_one("#outcomes", OptionList)
        if self.app.focused is not outcomes:
            return
        index = int(event.character) - 1
        if 0 <= index < outcomes.option_count:
            outcomes.highlighted = index
            self.pick(outcomes.get_option_at_index(index).id)
            event.stop()

    @on(OptionList.OptionSelected, "#outcomes")
    def _outcome_selected(self, event: OptionList.OptionSelected) -> None:
        self.pick(event.option.id)

    def pick(self, value: str | None) -> None:
        from ekc_core.enums import CallbackResult, ContactOutcome

        console = self.console
        card = console.card
        if card is None or value is None:
            return
        if card.callback is not None:
            card.callback_result = CallbackResult(value)
            card.outcome = (
                ContactOutcome.consultation
                if card.callback_result == CallbackResult.reached
                else ContactOutcome.no_answer
            )
        else:
            card.outcome = ContactOutcome(value)
            card.fix("outcome")
            if card.outcome == ContactOutcome.appeal_registered and card.appeal is None:
                self.show()
                self.appeal()
                return
            if card.outcome == ContactOutcome.callback_needed and card.callback_request is None:
                self.show()
                self.callback()
                return
        self.show()
        console.keep_draft()
        if not card.problems():
            self.query_one("#summary", TextArea).focus()

    # --- the dialogs of the wrap-up --------------------------------------------------------

    def topic(self) -> None:
        """Ctrl+T: the topic tree, the card's topic (the suggested one) highlighted."""
        from ekc_tui.screens import PickerScreen, topic_items

        console = self.console
        card, ref = console.card, console.ref
        if card is None or ref is None:
            self.notify("Нет открытой карточки")
            return

        def chosen(code: object) -> None:
            if isinstance(code, str):
                card.topic_code = code
                card.fix("topic")
                self.show()
                console.show_card()
                console.keep_draft()
                if not console.kb_pane.query_text:
                    console.kb_pane.suggest()

        self.app.push_screen(
            PickerScreen("Тематика", topic_items(ref), first=card.topic_code), chosen
        )

    def appeal(self) -> None:
        """Ctrl+R: the appeal to register with the card."""
        from ekc_core.enums import ContactOutcome
        from ekc_tui import correction
        from ekc_tui.cards import AppealDraft
        from ekc_tui.forms import AppealFormScreen

        console = self.console
        card, ref = console.card, console.ref
        if card is None or ref is None:
            self.notify("Нет открытой карточки")
            return
        if not card.topic_code:
            self.notify("Сначала выберите тематику (Ctrl+T)", severity="warning")
            return

        def done(draft: object) -> None:
            if isinstance(draft, AppealDraft):
                card.appeal = draft
                card.fix("appeal")
                card.outcome = card.outcome or ContactOutcome.appeal_registered
                if not card.has_citizen:
                    self.notify("Для обращения нужен гражданин: Ctrl+G", severity="warning")
            self.show()
            console.keep_draft()

        error = correction.remarks(card).get("appeal", "")
        self.app.push_screen(
            AppealFormScreen(
                ref,
                card.topic_code,
                self.summary,
                draft=card.appeal,
                error=error,
                card_key=card.key,
                has_citizen=card.has_citizen,
            ),
            done,
        )

    def callback(self) -> None:
        """Ctrl+B: a callback to schedule with the card."""
        from ekc_core.enums import ContactOutcome
        from ekc_tui import correction
        from ekc_tui.cards import CallbackDraft
        from ekc_tui.forms import CallbackFormScreen

        console = self.console
        card = console.card
        if card is None:
            self.notify("Нет открытой карточки")
            return

        def done(draft: object) -> None:
            if isinstance(draft, CallbackDraft):
                card.callback_request = draft
                card.fix("callback")
                card.outcome = card.outcome or ContactOutcome.callback_needed
            self.show()
            console.keep_draft()

        error = correction.remarks(card).get("callback", "")
        self.app.push_screen(CallbackFormScreen(draft=card.callback_request, error=error), done)

    # --- drawing ---------------------------------------------------------------------------

    def show(self) -> None:
        """The wrap-up of the open card (or "no card")."""
        console = self.console
        card, ref = console.card, console.ref
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
        from ekc_core.enums import Channel, ContactOutcome
        from ekc_tui import correction

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
