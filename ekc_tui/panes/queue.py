"""The queue pane: the waiting contacts offered to this operator (their groups' first, then
overflow; the backend decides, the pane shows exactly that), scrolled like any table; the
cursor stays on its contact when the queue changes, so F2 takes the one chosen."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from ekc_tui.text import CHANNELS, fmt_clock

if TYPE_CHECKING:
    from ekc_core.schemas import ContactPublic
    from ekc_tui.desk import Reference


class QueuePane(DataTable[str]):
    """Ждёт, Канал, Номер, Группа (why it is offered here), Тема ГП: one row a contact."""

    def __init__(self) -> None:
        super().__init__(id="queue", cursor_type="row")
        self.contacts: list[ContactPublic] = []

    def on_mount(self) -> None:
        self.add_column("Ждёт", key="wait", width=6)
        self.add_columns("Канал", "Номер", "Группа", "Тема ГП")

    def show(self, contacts: list[ContactPublic], ref: Reference | None) -> None:
        """Redraw the rows; the cursor stays on the contact it was on (if still waiting)."""
        chosen = self.chosen_id()
        row_before = self.cursor_row
        self.contacts = contacts
        self.clear()
        now = datetime.now(UTC)
        for c in contacts:
            channel = CHANNELS.get(c.channel.value, c.channel.value) + (
                f" {c.line.value}" if c.line else ""
            )
            topic = ""
            if c.handoff and c.handoff.detected_topic and ref:
                topic = ref.topic_name(c.handoff.detected_topic)
            self.add_row(
                fmt_clock((now - c.queued_at).total_seconds()),
                channel,
                c.caller_number or c.sender or "—",
                c.route_reason or "",
                topic,
                key=str(c.id),
            )
        ids = [c.id for c in contacts]
        if chosen in ids:
            self.move_cursor(row=ids.index(chosen), scroll=True)
        elif contacts:
            self.move_cursor(row=min(row_before, len(contacts) - 1), scroll=True)

    def chosen_id(self) -> int | None:
        """The contact under the cursor."""
        if not self.row_count:
            return None
        with contextlib.suppress(CellDoesNotExist):
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
            return int(key) if key and key.isdigit() else None
        return None

    def chosen(self) -> ContactPublic | None:
        wanted = self.chosen_id()
        return next((c for c in self.contacts if c.id == wanted), None)

    def tick(self) -> None:
        """The "waiting" column counts up between queue changes."""
        if not self.contacts or not self.ordered_columns:
            return
        now = datetime.now(UTC)
        for c in self.contacts:
            with contextlib.suppress(CellDoesNotExist):  # a row removed meanwhile
                self.update_cell(str(c.id), "wait", fmt_clock((now - c.queued_at).total_seconds()))
