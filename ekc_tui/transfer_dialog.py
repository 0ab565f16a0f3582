"""Transfer onward to an agency from the call card (Ctrl+L; imported when first opened).

The dialog: an agency picked by typing part of its name over the cached reference data (the
card's topic's default agency first), the agency's line shown as soon as it is highlighted,
the reason and a summary for the receiving side (prefilled from the card's notes), and,
when the contact has an appeal, a box to forward the appeal to the same agency in the same
step. Ctrl+S sends it through the outbox (offline too); Esc closes it and keeps what was
typed for the next opening. The transfer ends the conversation (after-call work starts),
sets the outcome «переведено в ведомство» and puts a result line on the card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from ekc_core.transfer_wire import MAX_TRANSFER_REASON, MAX_TRANSFER_SUMMARY
from ekc_tui import topic_match
from ekc_tui.screens import Dialog
from ekc_tui.transfers import Transfer, TransferDraft, has_appeal, transfer_steps

if TYPE_CHECKING:
    from ekc_tui.app import EkcConsole
    from ekc_tui.cards import Card
    from ekc_tui.desk import Reference

#: agencies listed at once under the filter (the list scrolls)
SHOWN = 200


@dataclass
class Typed:
    """The dialog's fields as the operator left them (Esc keeps them)."""

    agency_code: str | None
    filter_text: str
    reason: str
    summary: str
    forward_appeal: bool
    appeal_offered: bool = False
    """The box was there: its state is the operator's (else it starts ticked)."""


def agency_items(ref: Reference) -> list[tuple[str, str]]:
    """(code, label) of the active agencies: the short name first (what operators say),
    then the full name (what the filter also matches)."""
    return [(a.code, f"{a.short_name} — {a.name}") for a in ref.agencies if a.active]


def default_agency(ref: Reference, topic_code: str | None) -> str | None:
    """The agency of the topic (`Topic.default_agency`), else of its parent topic."""
    topic = ref.topic_by_code.get(topic_code or "")
    while topic is not None:
        if topic.default_agency_code:
            agency = ref.agency_by_code.get(topic.default_agency_code)
            return agency.code if agency is not None and agency.active else None
        topic = ref.topic_by_code.get(topic.parent_code or "")
    return None


class TransferScreen(Dialog):
    """Pick the agency, say why and what the receiving side should know; Ctrl+S sends."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s",
            "send",
            "Перевести",
            id="transfer.send",
            tooltip="Перевести контакт в выбранное ведомство (уйдёт через очередь отправки)",
        ),
        Binding(
            "escape",
            "cancel",
            "Отмена",
            id="transfer.cancel",
            tooltip="Закрыть; набранное сохранится до следующего открытия",
        ),
    ]

    #: what was typed in a dialog closed with Esc, by card key (the latest few cards)
    unsaved: ClassVar[dict[str, Typed]] = {}
    UNSAVED_KEPT: ClassVar[int] = 20

    def __init__(
        self,
        ref: Reference,
        *,
        card_key: str,
        agency_code: str | None,
        summary: str,
        appeal: str | None = None,
    ) -> None:
        """`appeal`: how to name the contact's appeal (None: it has none)."""
        super().__init__(id="transfer")
        self.ref = ref
        self._items = agency_items(ref)
        self._card_key = card_key
        self._appeal = appeal
        self._typed = self.unsaved.get(card_key) or Typed(
            agency_code=agency_code,
            filter_text="",
            reason="",
            summary=summary,
            forward_appeal=appeal is not None,
        )
        if appeal is not None and not self._typed.appeal_offered:
            self._typed.forward_appeal = True  # an appeal drafted since the last opening
        self.agency_code = self._typed.agency_code

    def compose(self) -> ComposeResult:
        typed = self._typed
        with Vertical(classes="dialog wide"):
            yield Static("[b]Перевод в ведомство[/b] (Ctrl+L)", id="transfer-title")
            yield Input(
                typed.filter_text, placeholder="Ведомство: часть названия…", id="agency-filter"
            )
            yield OptionList(id="agencies")
            yield Static("", id="agency-line")
            yield Input(
                typed.reason,
                placeholder="Причина перевода",
                id="reason",
                max_length=MAX_TRANSFER_REASON,
            )
            area = TextArea(typed.summary, id="transfer-summary", soft_wrap=True)
            area.border_title = "Суть для ведомства"
            yield area
            if self._appeal is not None:
                yield Checkbox(
                    f"Направить {self._appeal} в это же ведомство",
                    typed.forward_appeal,
                    id="forward",
                )
            yield Static("", classes="error", id="transfer-error")  # shown with a text
            yield Static("Ctrl+S — перевести, Tab — дальше, Esc — отмена", classes="hint")

    def on_mount(self) -> None:
        # ↑↓ in the filter move through the list: Tab goes from the filter to the reason
        self.query_one("#agencies", OptionList).can_focus = False
        self._fill(self._typed.filter_text)
        self.query_one("#agency-filter", Input).focus()

    # --- the agency picker ------------------------------------------------------------------

    def _fill(self, text: str) -> None:
        options = self.query_one("#agencies", OptionList)
        options.clear_options()
        items = topic_match.filter_items(self._items, text)
        if self.agency_code and not text.split():
            items.sort(key=lambda item: item[0] != self.agency_code)
        options.add_options([Option(escape(label), id=code) for code, label in items[:SHOWN]])
        if items:
            options.highlighted = 0
            self.agency_code = items[0][0]
        elif text.split():
            self.agency_code = None
        self._show_agency()

    @on(Input.Changed, "#agency-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(OptionList.OptionHighlighted, "#agencies")
    def _highlighted(self) -> None:
        # the list as it is now: a highlight of a list refilled since must not come back
        option = self.query_one("#agencies", OptionList).highlighted_option
        if option is not None:
            self.agency_code = option.id
        self._show_agency()

    @on(OptionList.OptionSelected, "#agencies")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.agency_code = event.option.id
        self._show_agency()
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#agency-filter")
    def _filter_done(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_key(self, event: object) -> None:
        """↑↓ in the filter move through the agencies (the focus stays in the filter)."""
        key = getattr(event, "key", "")
        if key not in ("up", "down") or self.focused is not self.query_one("#agency-filter"):
            return
        options = self.query_one("#agencies", OptionList)
        if key == "down":
            options.action_cursor_down()
        else:
            options.action_cursor_up()
        getattr(event, "stop", lambda: None)()

    def _show_agency(self) -> None:
        agency = self.ref.agency_by_code.get(self.agency_code or "")
        line = self.query_one("#agency-line", Static)
        if agency is None:
            line.update("[yellow]Ведомство не выбрано: введите часть названия[/]")
            return
        phone = f"линия [b]{escape(agency.phone)}[/b]" if agency.phone else "телефона нет"
        line.update(f"→ [b]{escape(agency.short_name)}[/b] · {phone}")

    # --- the answer ---------------------------------------------------------------------------

    def typed(self) -> Typed:
        forward = self.query("#forward")
        return Typed(
            agency_code=self.agency_code,
            filter_text=self.query_one("#agency-filter", Input).value,
            reason=self.query_one("#reason", Input).value,
            summary=self.query_one("#transfer-summary", TextArea).text,
            forward_appeal=bool(forward and self.query_one("#forward", Checkbox).value),
            appeal_offered=bool(forward),
        )

    def _refuse(self, text: str, field: str) -> None:
        error = self.query_one("#transfer-error", Static)
        error.update(text)
        error.display = True
        self.query_one(field).focus()

    def action_cancel(self) -> None:
        self.unsaved.pop(self._card_key, None)
        self.unsaved[self._card_key] = self.typed()
        while len(self.unsaved) > self.UNSAVED_KEPT:
            self.unsaved.pop(next(iter(self.unsaved)))
        self.dismiss(None)

    @on(Input.Submitted, "#reason")
    def action_send(self) -> None:
        typed = self.typed()
        if typed.agency_code is None:
            self._refuse("Выберите ведомство", "#agency-filter")
            return
        if not typed.reason.strip():
            self._refuse("Укажите причину перевода", "#reason")
            return
        if not typed.summary.strip():
            self._refuse("Напишите суть для ведомства", "#transfer-summary")
            return
        if len(typed.summary.strip()) > MAX_TRANSFER_SUMMARY:
            self._refuse(
                f"Суть для ведомства длиннее {MAX_TRANSFER_SUMMARY} знаков: сократите",
                "#transfer-summary",
            )
            return
        self.unsaved.pop(self._card_key, None)
        self.dismiss(
            TransferDraft(
                agency_code=typed.agency_code,
                reason=typed.reason.strip(),
                summary=typed.summary.strip(),
                forward_appeal=typed.forward_appeal,
            )
        )


# --- from the card ----------------------------------------------------------------------------


def card_topic(console: EkcConsole, card: Card) -> str | None:
    """The card's topic, else the one the assistant's hand-off suggests."""
    from ekc_tui.panes.card import suggested_topic

    handoff = card.contact.handoff if card.contact else None
    return card.topic_code or suggested_topic(handoff, console.ref)


def prefilled_summary(console: EkcConsole, card: Card) -> str:
    """The card's notes, else what the citizen said or wrote."""
    notes = console.wrap_pane.summary.strip() or card.summary.strip()
    handoff = card.contact.handoff if card.contact else None
    if not notes and handoff is not None and handoff.transcript:
        notes = handoff.transcript.strip()
    return (notes or (card.text or "").strip())[:MAX_TRANSFER_SUMMARY]


def appeal_label(card: Card) -> str | None:
    if not has_appeal(card):
        return None
    if card.contact is not None and card.contact.appeal_id is not None:
        return f"обращение № {card.contact.appeal_id}"
    return "обращение (уйдёт с карточкой)"


def open_transfer(console: EkcConsole) -> None:
    """Ctrl+L on the card: the dialog, then the transfer through the outbox."""
    card, ref = console.card, console.ref
    if card is None:
        console.notify("Нет открытой карточки")
        return
    if ref is None:
        console.notify("Справочники ещё не загружены", severity="warning")
        return
    if card.transfer is not None:
        console.notify(f"Контакт уже переведён: {card.transfer.agency_name}", severity="warning")
        return

    def done(result: object) -> None:
        if isinstance(result, TransferDraft) and console.card is card:
            send(console, card, result)

    console.push_screen(
        TransferScreen(
            ref,
            card_key=card.key,
            agency_code=default_agency(ref, card_topic(console, card)),
            summary=prefilled_summary(console, card),
            appeal=appeal_label(card),
        ),
        done,
    )


def send(console: EkcConsole, card: Card, draft: TransferDraft) -> None:
    """The transfer into the outbox; the card shows it at once (the line to dial)."""
    from ekc_core.enums import ContactOutcome
    from ekc_tui.outbox import new_key

    assert console.ref is not None
    agency = console.ref.agency_by_code[draft.agency_code]
    transfer = Transfer(
        agency_code=agency.code,
        agency_name=agency.short_name or agency.name,
        phone=agency.phone,
        reason=draft.reason,
        summary=draft.summary,
        forward_appeal=draft.forward_appeal,
        item=new_key(),
    )
    at = datetime.now(UTC)
    # the item keeps the card as it was before the transfer: corrected after a refusal,
    # the card comes back untransferred
    before = card.dump()
    assert transfer.item is not None
    console.desk.enqueue(
        transfer.item,
        f"Перевод в ведомство: {card.title()}",
        transfer_steps(card, transfer, at),
        before,
    )
    card.transfer = transfer
    card.end_now()  # the transfer ends the conversation; after-call work starts
    card.end_sent = True
    card.outcome = ContactOutcome.transferred
    card.fix("outcome")
    if card.appeal is not None and transfer.forward_appeal:
        card.appeal.agency_code = agency.code
    console.keep_draft()
    console.show_card()
    console.wrap_pane.show()
    console.refresh_status()
    console.notify(
        f"Переводим в {transfer.agency_name}"
        + (f": линия {transfer.phone}" if transfer.phone else "")
        + ". Заполните итог и сохраните (F9)",
        title="Перевод",
        timeout=8,
    )
    console.after_save()  # send now when the link is up
