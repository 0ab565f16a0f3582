"""The shift lead's wallboard (`ekc --wallboard`, or F10 in the console for leads).

A screen of widgets that own their state: a tile per indicator (calls waiting per line and
the longest wait, service level in the last 30 minutes and today against 80/20, written
messages and the oldest, callbacks due and overdue, appeals due today, operators by what
they do) and the operators' table (sorted by what they do, the longest in it first). A
worker keeps a long poll on `GET /wallboard` open (an unchanged board costs a bodiless
304 every `wallboard_wait` seconds); between answers the clocks tick here, from the
board's own time (`Wallboard.at`), so a desk clock that is off does not matter. Crossing a
threshold (console settings `wallboard_*`) turns its tile red and shows a notification
once, with a bell.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import Worker, get_current_worker

from ekc_tui.messages import BoardChanged, BoardLink, NeedLogin

if TYPE_CHECKING:
    from ekc_core.client import EkcClient
    from ekc_core.wallboard import AgentRow, QueueFigure, ServiceLevel, Wallboard
    from ekc_tui.app import EkcConsole
    from ekc_tui.settings import ConsoleSettings

ACTS = {
    "free": ("свободен", "green"),
    "contact": ("на контакте", "cyan"),
    "acw": ("постобработка", "yellow"),
    "away": ("не на линии", "magenta"),
}
REASONS = {
    "break": "перерыв",
    "lunch": "обед",
    "training": "обучение",
    "meeting": "совещание",
    "other": "не на линии",
}


def _long_poll(client: EkcClient, *, shown: Wallboard | None, wait: float) -> Wallboard:
    return client.wallboard(shown=shown, wait=wait, retries=0)


def fmt_age(seconds: float) -> str:
    """mm:ss, or h:mm:ss from an hour on."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    if hours:
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{rest // 60:02d}:{rest % 60:02d}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


class Tile(Static):
    """One indicator: a title, the value in large type, a detail line; `-ok`, `-warn` or
    `-bad` colours it. Redraws only when what it shows changes."""

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(id=id, classes="tile")
        self.title = title
        self.shown: tuple[str, str, str] | None = None

    def show(self, value: str, detail: str = "", level: str = "") -> None:
        if (value, detail, level) == self.shown:
            return
        self.shown = (value, detail, level)
        self.update(
            f"{self.title}\n[b]{value}[/]\n[dim]{detail}[/]"
            if detail
            else f"{self.title}\n[b]{value}[/]"
        )
        for name in ("ok", "warn", "bad"):
            self.set_class(level == name, f"-{name}")


class OperatorsTable(DataTable[Text]):
    """Who does what and since when; the clocks tick without the network."""

    def __init__(self) -> None:
        super().__init__(id="wb-agents", cursor_type="row", zebra_stripes=False)
        self.rows_shown: list[AgentRow] = []

    def on_mount(self) -> None:
        self.add_column("Оператор", key="name", width=20)
        self.add_column("Состояние", key="act", width=14)
        self.add_column("Время", key="time", width=8)

    def show(self, rows: list[AgentRow], now: float, settings: ConsoleSettings) -> None:
        self.clear()
        self.rows_shown = list(rows)
        for row in rows:
            label, colour = ACTS.get(row.act.value, (row.act.value, ""))
            if row.act.value == "away" and row.reason:
                label = REASONS.get(row.reason, label)
            self.add_row(
                Text(row.name),
                Text(label, style=colour),
                self._time(row, now, settings),
                key=str(row.id),
            )

    def tick(self, now: float, settings: ConsoleSettings) -> None:
        for row in self.rows_shown:
            self.update_cell(str(row.id), "time", self._time(row, now, settings))

    @staticmethod
    def _time(row: AgentRow, now: float, settings: ConsoleSettings) -> Text:
        if row.since is None:
            return Text("")
        spent = now - row.since.timestamp()
        late = (row.act.value == "acw" and spent > settings.wallboard_acw_warn_seconds) or (
            row.act.value == "away" and spent > settings.wallboard_away_warn_minutes * 60
        )
        return Text(fmt_age(spent), style="b red" if late else "")


class WallboardScreen(ModalScreen[None]):
    """The board: tiles, the operators' table, a line of keys. Modal, so the console's own
    keys (F2 would take a contact) do not act beneath it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Назад", id="wallboard.close", tooltip="Вернуться в консоль"),
        Binding("ctrl+q", "quit", "Выход", id="wallboard.quit", tooltip="Выйти из консоли"),
    ]

    DEFAULT_CSS = """
    WallboardScreen { background: $background; layout: vertical; }
    #wb-head { height: 1; background: $primary-background; padding: 0 1; }
    #wb-tiles { grid-size: 4 2; grid-gutter: 0 1; height: 8; margin: 1 0 0 0; padding: 0 1; }
    .tile { height: 3; padding: 0 1; background: $boost; text-wrap: nowrap;
            text-overflow: ellipsis; }
    .tile.-ok { background: $success 30%; }
    .tile.-warn { background: $warning 35%; }
    .tile.-bad { background: $error 55%; }
    #wb-agents { height: 1fr; margin: 0 1; }
    #wb-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, *, standalone: bool) -> None:
        super().__init__(id="wallboard")
        self.standalone = standalone
        self.board: Wallboard | None = None
        self.received = 0.0
        self.alerts: set[str] = set()
        """Alerts now on (each is notified once when it comes on)."""
        self.problem = ""

    @property
    def console(self) -> EkcConsole:
        from ekc_tui.app import EkcConsole

        assert isinstance(self.app, EkcConsole)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static("Табло смены · ждём данные…", id="wb-head")
        with Grid(id="wb-tiles"):
            yield Tile("Линия 122", id="t-122")
            yield Tile("Линия 117", id="t-117")
            yield Tile("SL 30 мин", id="t-sl30")
            yield Tile("SL сегодня", id="t-sltoday")
            yield Tile("Письменные", id="t-written")
            yield Tile("Перезвоны", id="t-callbacks")
            yield Tile("Обращения", id="t-appeals")
            yield Tile("Операторы", id="t-agents")
        yield OperatorsTable()
        back = "Ctrl+Q — выход" if self.standalone else "Esc — назад в консоль · Ctrl+Q — выход"
        yield Static(back, id="wb-keys")

    def on_mount(self) -> None:
        self._poll()
        self.set_interval(1.0, self.tick)

    def now(self) -> float:
        """The backend's clock now (its last board's time plus what passed here since)."""
        if self.board is None:
            return time.time()
        return self.board.at.timestamp() + (time.monotonic() - self.received)

    # --- the long poll --------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="wallboard", exit_on_error=False)
    def _poll(self) -> None:
        from ekc_core.errors import AuthenticationRequiredError, EkcError
        from ekc_tui.desk import OfflineError

        worker = get_current_worker()
        desk = self.console.desk
        wait = self.console.settings.wallboard_wait
        shown: Wallboard | None = None
        pause = 1.0
        while not worker.is_cancelled and not self.console.stopping:
            try:
                board = desk.call(partial(_long_poll, shown=shown, wait=wait))
            except AuthenticationRequiredError:
                self.app.post_message(NeedLogin("Срок входа истёк: войдите снова"))
                return
            except (EkcError, OfflineError) as exc:
                self.post_message(BoardLink(str(exc)))
                end = time.monotonic() + min(pause, 15.0)
                while time.monotonic() < end and not worker.is_cancelled:
                    time.sleep(0.1)
                pause *= 2
                continue
            pause = 1.0
            if board is not shown:
                shown = board
                self.post_message(BoardChanged(board, time.monotonic()))
            elif self.problem:
                self.post_message(BoardLink(""))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        from ekc_tui import failures

        failures.handle(self.console, event)  # a dead poll is started again after a pause

    def on_board_changed(self, message: BoardChanged) -> None:
        self.board, self.received, self.problem = message.board, message.received, ""
        settings = self.console.settings
        self.query_one(OperatorsTable).show(message.board.agents, self.now(), settings)
        self.tick()

    def on_board_link(self, message: BoardLink) -> None:
        self.problem = message.text
        self.show_head()

    # --- drawing ----------------------------------------------------------------------------

    def show_head(self) -> None:
        board = self.board
        if board is None:
            text = "Табло смены · " + (
                f"[b red]нет данных: {self.problem}[/]" if self.problem else "ждём данные…"
            )
        else:
            from ekc_core.localtime import CENTRE_TZ

            at = board.at.astimezone(CENTRE_TZ).strftime("%H:%M:%S")
            link = (
                f"[b red]● нет связи[/] (данные на {at})"
                if self.problem
                else (f"[green]● на связи[/] · данные на {at}")
            )
            alerts = f" · [b red]тревог: {len(self.alerts)}[/]" if self.alerts else ""
            text = f"[b]Табло смены[/] · {link}{alerts}"
        self.query_one("#wb-head", Static).update(text)

    def tick(self) -> None:
        """Every second: the clocks, the levels and the alerts, from the last board."""
        board = self.board
        if board is None:
            self.show_head()
            return
        now = self.now()
        settings = self.console.settings
        alerts: dict[str, str] = {}
        for line in ("122", "117"):
            figure = board.lines.get(line)
            age = self._queue_tile(
                f"#t-{line}",
                figure,
                now,
                settings.wallboard_wait_alert_seconds,
                warn_after=board.sl_seconds,
            )
            if age > settings.wallboard_wait_alert_seconds:
                alerts[f"wait:{line}"] = f"Линия {line}: звонок ждёт {fmt_age(age)}"
        written_limit = settings.wallboard_written_alert_minutes * 60
        age = self._queue_tile(
            "#t-written", board.written, now, written_limit, warn_after=written_limit / 2
        )
        if age > written_limit:
            alerts["written"] = f"Письменное обращение ждёт {fmt_age(age)}"
        below = self._sl_tile("#t-sl30", board.sl_30m, board.sl_target, board.sl_seconds)
        if below and settings.wallboard_sl_alert:
            alerts["sl"] = (
                f"SL за 30 мин {percent(board.sl_30m.value)} — ниже цели "
                f"{board.sl_target * 100:.0f}/{board.sl_seconds}"
            )
        self._sl_tile("#t-sltoday", board.sl_today, board.sl_target, board.sl_seconds)
        overdue = board.callbacks_overdue
        self.tile("#t-callbacks").show(
            f"{board.callbacks_due} к звонку",
            f"просрочено: {overdue}" if overdue else "просроченных нет",
            "bad" if overdue else "ok",
        )
        if overdue and settings.wallboard_overdue_callbacks_alert:
            alerts["callbacks"] = f"Просроченные перезвоны: {overdue}"
        due = board.appeals_due_today
        self.tile("#t-appeals").show(str(due), "срок сегодня", "warn" if due else "ok")
        counts = dict.fromkeys(ACTS, 0)
        for row in board.agents:
            counts[row.act.value] = counts.get(row.act.value, 0) + 1
        waiting = sum(f.waiting for f in board.lines.values())
        self.tile("#t-agents").show(
            f"{counts['free']} своб · {counts['contact']} разг",
            f"{counts['acw']} пост · {counts['away']} перер",
            "bad" if waiting and not counts["free"] else "",
        )
        self.query_one(OperatorsTable).tick(now, settings)
        self._alert(alerts)
        self.show_head()

    def tile(self, selector: str) -> Tile:
        return self.query_one(selector, Tile)

    def _queue_tile(
        self,
        selector: str,
        figure: QueueFigure | None,
        now: float,
        limit: float,
        *,
        warn_after: float,
    ) -> float:
        """Waiting and the longest wait; returns that wait in seconds (0: nobody)."""
        if figure is None or not figure.waiting or figure.oldest is None:
            self.tile(selector).show("0 ждут", "очередь пуста", "ok")
            return 0.0
        age = now - figure.oldest.timestamp()
        level = "bad" if age > limit else "warn" if age > warn_after else "ok"
        self.tile(selector).show(f"{figure.waiting} ждут", f"макс. {fmt_age(age)}", level)
        return age

    def _sl_tile(self, selector: str, sl: ServiceLevel, target: float, seconds: int) -> bool:
        """The service level against its target; True when below it."""
        if sl.value is None:
            self.tile(selector).show("—", "звонков не было")
            return False
        below = sl.value < target
        detail = f"{sl.answered_in}/{sl.offered} · цель {target * 100:.0f} %"
        self.tile(selector).show(percent(sl.value), detail, "bad" if below else "ok")
        return below

    def _alert(self, alerts: dict[str, str]) -> None:
        """Notify each alert once when it comes on (with a bell)."""
        new = [text for key, text in alerts.items() if key not in self.alerts]
        self.alerts = set(alerts)
        if new:
            self.app.bell()
            self.notify("\n".join(new), title="Табло: порог", severity="error", timeout=10)

    # --- keys ---------------------------------------------------------------------------

    def action_close(self) -> None:
        if not self.standalone:
            self.dismiss(None)

    def action_quit(self) -> None:
        self.console.action_quit_console()
