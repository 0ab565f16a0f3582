"""The callbacks pane: my callbacks and my group's due today (overdue in red); Enter opens
an outgoing card for one (with the appeal it is about)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, cast

from rich.markup import escape
from textual import on, work
from textual.widgets import DataTable
from textual.worker import Worker

from ekc_tui import failures
from ekc_tui.messages import CallbacksLoaded, CardReady, OpenScreen
from ekc_tui.text import fmt_dt

if TYPE_CHECKING:
    from ekc_core.schemas import CallbackPublic, CitizenHistory, CitizenPublic
    from ekc_tui.app import EkcConsole


class CallbacksPane(DataTable[str]):
    """Срок, Гражданин, Номер, Обращение, Причина."""

    def __init__(self) -> None:
        super().__init__(id="callbacks", cursor_type="row")
        self.items: list[CallbackPublic] = []

    @property
    def console(self) -> EkcConsole:
        return cast("EkcConsole", self.app)

    def on_mount(self) -> None:
        self.add_columns("Срок", "Гражданин", "Номер", "Обращение", "Причина")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failures.handle(self.console, event)

    def load(self) -> None:
        self._load_callbacks()

    @work(thread=True, exclusive=True, group="callbacks", exit_on_error=False)
    def _load_callbacks(self) -> None:
        from ekc_core.errors import EkcError
        from ekc_tui.desk import OfflineError

        try:
            items, cached = self.console.desk.callbacks()
        except (EkcError, OfflineError):
            return
        self.post_message(CallbacksLoaded(items, cached))

    def on_callbacks_loaded(self, message: CallbacksLoaded) -> None:
        message.stop()
        self.show(message.items)

    def done(self, callback_id: int) -> None:
        """A callback saved: off the list."""
        self.show([c for c in self.items if c.id != callback_id])

    def show(self, items: list[CallbackPublic]) -> None:
        self.items = items
        self.clear()
        for cb in items:
            due = fmt_dt(cb.due_at)
            if cb.overdue:
                due = f"[b red]{due} просрочен[/]"
            self.add_row(
                due,
                escape(cb.citizen_name),
                cb.phone,  # masked by the server in lists
                cb.appeal_number or "",
                escape(cb.reason[:50]),
                key=str(cb.id),
            )

    @on(DataTable.RowSelected)
    def _row(self, event: DataTable.RowSelected) -> None:
        event.stop()
        cb = next((c for c in self.items if str(c.id) == event.row_key.value), None)
        if cb is None or self.console.busy():
            return
        self._open_callback(cb)

    @work(thread=True, exclusive=True, group="card", exit_on_error=False)
    def _open_callback(self, cb: CallbackPublic) -> None:
        from ekc_core.errors import EkcError
        from ekc_tui.cards import Card
        from ekc_tui.desk import OfflineError
        from ekc_tui.outbox import new_key
        from ekc_tui.screens import AppealViewScreen

        desk = self.console.desk
        try:
            task = desk.call(lambda c: c.callback(cb.id))
        except (EkcError, OfflineError):
            task = cb  # offline: the list's copy (number masked in lists is full here)
        card = Card.for_callback(task)
        card.start_item = new_key()
        desk.enqueue(
            card.start_item,
            f"Звонок: {task.citizen_name}",
            card.outbound_start_steps(),
            card.dump(),
        )
        citizen: CitizenPublic | None = None
        history: CitizenHistory | None = None
        cached = False
        with contextlib.suppress(EkcError, OfflineError):
            citizen, history, cached = desk.open_citizen(task.citizen_id)
        appeal = None
        if task.appeal_id is not None:
            with contextlib.suppress(EkcError, OfflineError):
                appeal = desk.appeal(task.appeal_id)
        if appeal is not None:
            card.topic_code = appeal.topic_code  # the call is about this appeal
        self.post_message(CardReady(card, citizen, history, cached))
        ref = self.console.ref
        if appeal is not None and ref is not None:
            self.post_message(OpenScreen(AppealViewScreen(appeal, ref)))
