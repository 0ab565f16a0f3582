"""Finding the card's citizen: by number at once, by what was typed (Ctrl+G), a choice
among several, or a new citizen's form. The base of the card pane."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import work
from textual.containers import Vertical
from textual.worker import Worker

from ekc_tui import failures
from ekc_tui.messages import CitizenOpened, CitizensFound, Notice

if TYPE_CHECKING:
    from ekc_tui.app import EkcConsole

NEW_CITIZEN = "__new__"


class CitizenLookup(Vertical):
    """Workers and dialogs that put a citizen on the open card."""

    @property
    def console(self) -> EkcConsole:
        return cast("EkcConsole", self.app)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failures.handle(self.console, event)

    def ask(self) -> None:
        """Ctrl+G: a phone, a name (or an e-mail) to look for."""
        from ekc_tui.screens import PromptScreen

        if self.console.card is None:
            self.notify("Нет открытой карточки (F2 — принять, Ctrl+N — вручную)")
            return

        def typed(text: object) -> None:
            if isinstance(text, str) and text.strip():
                self._identify(text.strip())

        self.app.push_screen(PromptScreen("Найти гражданина", "Телефон, e-mail или ФИО"), typed)

    def identify_card(self) -> None:
        """A card without a citizen: look up its number (or the text typed for it, or the
        e-mail it came from when the server could not tie that to one citizen)."""
        from ekc_core.addresses import email_of

        card = self.console.card
        if card is None or card.citizen_id is not None or card.new_citizen is not None:
            return
        if card.number:
            from ekc_core.phones import format_phone

            self._identify(format_phone(card.number))
        elif card.lookup:
            self._identify(card.lookup)
        elif email_of(card.sender):  # an e-mail the server could not tie to one card
            self._identify(email_of(card.sender) or "")
        elif card.direction == "in" and card.contact is not None:
            self.notify("Гражданин не определён: Ctrl+G — найти или добавить", timeout=5)

    @work(thread=True, exclusive=True, group="citizen", exit_on_error=False)
    def _identify(self, text: str) -> None:
        found, cached = self.console.desk.find_citizens(text)
        self.post_message(CitizensFound(text, found, cached))

    def on_citizens_found(self, message: CitizensFound) -> None:
        message.stop()
        from ekc_core.phones import format_phone, try_normalize_phone
        from ekc_tui.forms import split_lookup
        from ekc_tui.screens import PickerScreen

        console, text, found = self.console, message.text, message.found
        if console.card is None:
            return
        phone = try_normalize_phone(text) if any(ch.isdigit() for ch in text) else None
        if len(found) == 1 and phone:
            self._open_citizen(found[0].id)
            return
        items = [
            (
                str(c.id),
                f"{c.full_name} · {', '.join(c.phones_masked)} · {c.settlement or ''}"
                + (f" · открытых обращений {c.open_appeals}" if c.open_appeals else ""),
            )
            for c in found
        ]
        items.append((NEW_CITIZEN, "＋ Новый гражданин"))
        if found:
            title = f"Найдено: {len(found)} — выберите гражданина"
        else:
            title = f"Не найдено: «{text}». Enter — новый гражданин"
        if message.cached:
            title += " (из памяти консоли: нет связи)"

        def chosen(value: object) -> None:
            if value == NEW_CITIZEN:
                # digits typed are a phone (even a wrong one: the form says why), never a name
                typed_phone, name = split_lookup(text)
                card = console.card
                number = phone or (card.number if card else None)
                self.new_citizen(format_phone(number) if number else typed_phone, name)
            elif isinstance(value, str):
                self._open_citizen(int(value))

        self.app.push_screen(PickerScreen(title, items), chosen)

    def new_citizen(self, phone: str | None, name_hint: str = "") -> None:
        from ekc_tui import correction
        from ekc_tui.cards import NewCitizen
        from ekc_tui.forms import NewCitizenScreen

        console = self.console
        card = console.card

        def done(value: object) -> None:
            if isinstance(value, NewCitizen) and console.card is not None:
                console.card.new_citizen = value
                console.card.citizen_id = None
                console.card.fix("citizen")
                console.set_citizen(None, None, cached=False)

        draft = card.new_citizen if card else None
        errors = correction.field_errors(card, "citizen") if card else {}
        self.app.push_screen(
            NewCitizenScreen(phone or None, name_hint, draft=draft, errors=errors), done
        )

    @work(thread=True, exclusive=True, group="citizen", exit_on_error=False)
    def _open_citizen(self, citizen_id: int) -> None:
        from ekc_core.errors import EkcError
        from ekc_tui.desk import OfflineError

        try:
            citizen, history, cached = self.console.desk.open_citizen(citizen_id)
        except (EkcError, OfflineError) as exc:
            self.post_message(Notice(str(exc), severity="error"))
            return
        self.post_message(CitizenOpened(citizen, history, cached))

    def on_citizen_opened(self, message: CitizenOpened) -> None:
        message.stop()
        card = self.console.card
        if card is None:
            return
        card.citizen_id = message.citizen.id
        card.citizen_name = message.citizen.full_name
        card.new_citizen = None
        card.fix("citizen")
        self.console.set_citizen(message.citizen, message.history, cached=message.cached)
