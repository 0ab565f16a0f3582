"""The console's main window: the status bar, the card, the history and the work tabs
(knowledge base, wrap-up, queue, callbacks), each a pane of `ekc_tui.panes`, and the
controller of the background work."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from ekc_tui.controller import Controller
from ekc_tui.panes.callbacks import CallbacksPane
from ekc_tui.panes.card import CardPane, CardPanel, HandoffBlock
from ekc_tui.panes.history import HistoryPane
from ekc_tui.panes.kb import KbPane
from ekc_tui.panes.queue import QueuePane
from ekc_tui.panes.status import StatusBar, short_name
from ekc_tui.panes.wrapup import WrapPane

if TYPE_CHECKING:
    from ekc_tui.app import EkcConsole

__all__ = ["CardPanel", "ConsoleScreen", "HandoffBlock", "StatusBar", "short_name"]


class ConsoleFooter(Footer):
    """Textual's Footer without its leak (Textual 8.2): each FooterKey it composes is
    data-bound to the footer's `compact`, which puts a watcher holding the key in the
    footer's own list, and Textual prunes that list only when `compact` changes (never).
    So every recompose (each `refresh_bindings`: a card opened or saved, the focus moved, a
    dialog closed) kept all the removed keys alive, ~100 KB a time, and made the next bind
    slower (found by bench/console_soak.py with tracemalloc)."""

    async def recompose(self) -> None:
        await super().recompose()
        for watchers in getattr(self, "__watchers", {}).values():
            watchers[:] = [(node, callback) for node, callback in watchers if node.is_attached]


class ConsoleScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 - Textual's type

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield CardPane(id="card-pane")
        with Horizontal(id="main"):
            yield HistoryPane()
            with TabbedContent(id="work", initial="tab-kb"):
                with TabPane("База знаний", id="tab-kb"):
                    yield KbPane()
                with TabPane("Итог", id="tab-wrap"):
                    yield WrapPane()
                with TabPane("Очередь", id="tab-queue"):
                    yield QueuePane()
                with TabPane("Перезвоны", id="tab-callbacks"):
                    yield CallbacksPane()
        yield Controller()
        yield ConsoleFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        cast("EkcConsole", self.app).console_ready()

    def show_tab(self, tab: str) -> None:
        """One of the work tabs (on a narrow screen: the work side, not the history)."""
        self.set_class(False, "-show-history")
        self.query_one("#work", TabbedContent).active = tab

    def show_history(self) -> None:
        self.set_class(True, "-show-history")
