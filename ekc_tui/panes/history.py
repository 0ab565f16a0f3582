"""The history pane: the citizen's contacts and appeals beside the card.

Column widths are worked out for each citizen and each width of the pane: the date, channel,
status, due date and agency take what their texts need (within a cap), «Что» (topic and
summary) takes the rest, and never less than half of the pane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.markup import escape
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static
from textual.worker import Worker

from ekc_tui import failures
from ekc_tui.messages import Notice, OpenScreen
from ekc_tui.text import CHANNELS, OUTCOMES, STATUS_NAMES, fmt_dt

if TYPE_CHECKING:
    from ekc_core.schemas import CitizenHistory
    from ekc_tui.app import EkcConsole
    from ekc_tui.cards import Card
    from ekc_tui.desk import Reference

#: (title, widest, narrowest): "what" (topic, summary) takes the rest
COLUMNS = [
    ("Дата", 14, 8),
    ("Канал", 12, 6),
    ("Статус", 13, 6),
    ("Срок", 16, 8),
    ("Что", 0, 0),
    ("Ведомство", 18, 6),
]
WHAT, DUE, AGENCY, STATUS = 4, 3, 5, 2
#: columns given up, in this order, when the pane is too narrow for all (their text then
#: goes into "Статус" and "Что")
DROPPABLE = (AGENCY, DUE)
WHAT_SHARE = 0.5
PADDING = 2  # a cell's padding, left and right
SCROLLBAR = 2


def plain_len(markup: str) -> int:
    return Text.from_markup(markup).cell_len


def fit_widths(rows: list[tuple[str, ...]], width: int) -> list[int]:
    """Widths of the columns for these rows in `width` cells (0: the column is left out)."""
    dropped: list[int] = []
    for drop in (None, *DROPPABLE):
        if drop is not None:
            dropped.append(drop)
        shown = len(COLUMNS) - len(dropped)
        room = max(0, width - SCROLLBAR - PADDING * shown)
        what_min = max(20, int(room * WHAT_SHARE))
        narrowest = sum(COLUMNS[i][2] for i in range(len(COLUMNS)) if i not in dropped)
        if narrowest + what_min <= room:
            break
    widths = []
    for i, (title, widest, _) in enumerate(COLUMNS):
        need = max([len(title)] + [plain_len(r[i]) for r in rows])
        widths.append(0 if i in dropped else min(need, widest))
    widths[WHAT] = 0
    budget = max(0, room - what_min)
    while sum(widths) > budget:
        # take a cell from the column with the most room above its narrowest
        spare = [w - COLUMNS[i][2] if w else 0 for i, w in enumerate(widths)]
        i = max(range(len(widths)), key=lambda i: spare[i])
        if spare[i] <= 0:
            break
        widths[i] -= 1
    widths[WHAT] = max(what_min, room - sum(widths))
    return widths


class HistoryPane(Vertical):
    """Title and table; Enter opens an appeal or a contact of the history."""

    def __init__(self) -> None:
        super().__init__(id="left")
        self.rows: list[tuple[str, ...]] = []
        self.keys: list[str] = []
        self._width = 0

    @property
    def console(self) -> EkcConsole:
        return cast("EkcConsole", self.app)

    def compose(self) -> ComposeResult:
        yield Static("История гражданина", classes="pane-title", id="history-title")
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._draw()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failures.handle(self.console, event)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._draw()

    def show(
        self,
        history: CitizenHistory | None,
        *,
        card: Card | None,
        ref: Reference | None,
        cached: bool,
    ) -> None:
        """The citizen's contacts and appeals (the current contact: "идёт")."""
        title = self.query_one("#history-title", Static)
        self.rows, self.keys = [], []
        if history is None:
            title.update("История гражданина" + (" — новый" if card and card.new_citizen else ""))
            self._draw()
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
                agency = ref.agency_name(a.agency_code) if ref else a.agency_code or ""
                self.rows.append(
                    (
                        fmt_dt(item.at),
                        "обращение",
                        STATUS_NAMES.get(a.status.value, a.status.value),
                        due,
                        escape(f"{a.number} {a.summary}"),
                        escape(agency),
                    )
                )
                self.keys.append(f"a{a.id}")
            elif item.contact is not None:
                c = item.contact
                channel = CHANNELS.get(c.channel.value, c.channel.value)
                arrow = "⇠" if c.direction.value == "in" else "⇢"
                what = OUTCOMES.get(c.outcome, "") if c.outcome else ""
                topic = ref.topic_name(c.topic_code) if ref and c.topic_code else ""
                status = STATUS_NAMES.get(c.status.value, c.status.value)
                if current is not None and c.id == current.id:
                    status = "идёт"
                self.rows.append(
                    (
                        fmt_dt(item.at),
                        f"{arrow} {channel}",
                        status,
                        "",
                        escape(" — ".join(p for p in (topic, c.summary or what) if p)),
                        "",
                    )
                )
                self.keys.append(f"c{c.id}")
        self._draw()

    def _draw(self) -> None:
        """The rows again, with widths for this citizen and this width of the pane."""
        table = self.query_one("#history", DataTable)
        width = table.size.width or self.size.width or self.app.size.width
        self._width = self.size.width
        widths = fit_widths(self.rows, width)
        cursor = table.cursor_row
        table.clear(columns=True)
        shown = [i for i, w in enumerate(widths) if w]
        for i in shown:
            table.add_column(COLUMNS[i][0], width=widths[i])
        what = widths[WHAT]
        for cells, key in zip(self.rows, self.keys, strict=True):
            row = list(cells)
            if not widths[DUE] and "⚠" in row[DUE]:
                row[STATUS] = f"[b red]⚠[/] {row[STATUS]}"  # overdue, without the due column
            if not widths[AGENCY] and row[AGENCY]:
                row[WHAT] += f" → {row[AGENCY]}"
            text = row[WHAT]
            if plain_len(text) > what:
                text = escape(Text.from_markup(text).plain[: max(0, what - 1)]) + "…"
            row[WHAT] = text
            table.add_row(*(row[i] for i in shown), key=key)
        if self.rows:
            table.move_cursor(row=min(cursor, len(self.rows) - 1))

    @on(DataTable.RowSelected, "#history")
    def _row(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value or ""
        history, ref = self.console.history, self.console.ref
        if key.startswith("a"):
            self._show_appeal(int(key[1:]))
        elif key.startswith("c") and history is not None and ref is not None:
            from ekc_tui.screens import ContactViewScreen

            item = next(
                (i for i in history.page.items if i.contact and f"c{i.contact.id}" == key), None
            )
            if item is not None and item.contact is not None:
                self.app.push_screen(ContactViewScreen(item.contact, ref))

    @work(thread=True, exclusive=True, group="appeal", exit_on_error=False)
    def _show_appeal(self, appeal_id: int) -> None:
        from ekc_core.errors import EkcError
        from ekc_tui.desk import OfflineError
        from ekc_tui.screens import AppealViewScreen

        try:
            appeal = self.console.desk.appeal(appeal_id)
        except (EkcError, OfflineError) as exc:
            self.post_message(Notice(f"Обращение не открыть: {exc}", severity="error"))
            return
        ref = self.console.ref
        if ref is not None:
            self.post_message(OpenScreen(AppealViewScreen(appeal, ref)))
