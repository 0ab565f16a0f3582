"""The operator console: call card, citizen history, knowledge search, wrap-up, callbacks.

The app holds the session's shared state (the desk, reference data, the open card, its
citizen and history, the queue) and the global keys; each pane of the main window
(`ekc_tui.panes`) draws its part and owns its own keys, state and workers; the controller
(`ekc_tui.controller`) runs sign-in and the background loops. The UI thread never waits on
the network: every call to the `Desk` runs in a thread worker that posts its result back as
a message (`ekc_tui.messages`).

Nothing heavy is imported before the first frame: the desk (httpx, the wire schemas, SQLite)
is made by the controller's first worker, and the dialogs are imported when first opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen

from ekc_tui import card_flow, failures, keys, presence
from ekc_tui.controller import Controller, DaemonExecutor
from ekc_tui.messages import (
    AppealsRegistered,
    CardReady,
    KbCount,
    LinkState,
    NeedLogin,
    Notice,
    OffersChanged,
    OpenScreen,
    ReferenceLoaded,
    SignedIn,
    TakeEnded,
)
from ekc_tui.panes.callbacks import CallbacksPane
from ekc_tui.panes.card import CardPane, suggested_topic
from ekc_tui.panes.history import HistoryPane
from ekc_tui.panes.kb import KbPane
from ekc_tui.panes.queue import QueuePane
from ekc_tui.panes.status import StatusBar
from ekc_tui.panes.wrapup import WrapPane
from ekc_tui.presence import PresenceKeys
from ekc_tui.typeahead import TypeAhead
from ekc_tui.widgets import ConsoleScreen

if TYPE_CHECKING:
    from ekc_core.schemas import CallbackPublic, CitizenHistory, CitizenPublic, ContactPublic
    from ekc_tui.cards import Card
    from ekc_tui.desk import Desk, Reference
    from ekc_tui.presence import Presence
    from ekc_tui.settings import ConsoleSettings
    from kb_index import SearchHit


H = TypeVar("H", bound=Callable[..., None])


def live(handler: H) -> H:
    """A worker's message that arrives while the console shuts down is dropped (the main
    window is gone)."""

    @functools.wraps(handler)
    def run(self: EkcConsole, *args: Any) -> None:
        if self.is_running and not self.stopping:
            handler(self, *args)

    return cast(H, run)


class EkcConsole(PresenceKeys, keys.HelpKeys, App[None]):
    """ЕКЦ 122: the operator's single window."""

    TITLE = "ЕКЦ 122"
    CSS_PATH = "console.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"

    BINDINGS: ClassVar[list[BindingType]] = keys.BINDINGS
    CARD_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"end_call", "save", "topic", "appeal", "callback", "citizen", "wrap", "history"}
    ) | {"transfer"}
    IDLE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"take", "manual", "queue", "callbacks"})

    def __init__(
        self,
        settings: ConsoleSettings | Callable[[], ConsoleSettings],
        *,
        login: tuple[str, str] | None = None,
        background: bool = True,
        log_file: bool = False,
        wallboard: bool = False,
    ) -> None:
        """`settings` may be a function making them: the `ekc` command passes one, so that
        pydantic-settings is imported after the first frame (by the first worker)."""
        super().__init__()
        self._settings = settings if not callable(settings) else None
        self._make_settings = settings if callable(settings) else None
        self.log_file = log_file
        """Log to `<console dir>/console.log` (set up by the first worker)."""
        self.login = login
        self._background = background
        self._desk: Desk | None = None
        self._desk_lock = threading.Lock()
        self.ref: Reference | None = None
        self.card: Card | None = None
        self.citizen: CitizenPublic | None = None
        self.history: CitizenHistory | None = None
        self.offers: list[ContactPublic] = []
        self.kb_count = 0
        self.appeal_note = ""
        """The last appeal registered (or to be), on the card pane to read to the caller."""
        self.stopping = False
        self._main: ConsoleScreen | None = None
        self.typeahead = TypeAhead(self)
        self.last_card_ready: float | None = None
        """time.perf_counter() when the last card with history was on screen (bench)."""
        self.last_kb_results: tuple[float, str] | None = None
        """time.perf_counter() and the query of the last search results shown (bench)."""
        self.worker_failures: deque[failures.Failure] = deque(maxlen=failures.KEEP)
        self._footer_for_card = False
        """Every worker that raised, as the failure handler saw it (tests read it)."""
        self.loop_deaths: dict[str, int] = {}
        self.loop_restart_seconds = 5.0
        """Pause before a dead background loop is started again (doubles each time)."""
        self.taking: int | None = None
        """The contact a take is under way for (its answer may be lost: asked again)."""
        self.presence: Presence | None = None
        """On the line or not (F12, `ekc_tui.presence`); None before signing in."""
        self.wallboard_only = wallboard
        """`ekc --wallboard`: the lead's wallboard alone (no queue, no state of one's own)."""

    # --- the session's parts --------------------------------------------------------------

    @property
    def settings(self) -> ConsoleSettings:
        with self._desk_lock:
            if self._settings is None:
                assert self._make_settings is not None
                self._settings = self._make_settings()
            return self._settings

    @property
    def desk(self) -> Desk:
        """The headless session (made on first use: it imports httpx and the schemas)."""
        settings = self.settings
        with self._desk_lock:
            if self._desk is None:
                from ekc_tui.desk import Desk

                self._desk = Desk(settings)
                self._desk.add_link_listener(self._link_changed)
            return self._desk

    def _link_changed(self, up: bool) -> None:
        """The desk saw the link go down or come back (any request, any thread)."""
        desk = self._desk
        if desk is not None:
            self.post_message(LinkState(up, desk.unsent(), desk.failed()))

    @property
    def desk_if_made(self) -> Desk | None:
        return self._desk

    @property
    def online(self) -> bool:
        return self._desk is not None and self._desk.online

    @property
    def main(self) -> ConsoleScreen:
        """The main window (queries go here: a dialog may be on top of it)."""
        if self._main is None:
            self._main = ConsoleScreen(id="console")
        return self._main

    @property
    def controller(self) -> Controller:
        return self.main.query_one(Controller)

    @property
    def kb_pane(self) -> KbPane:
        return self.main.query_one(KbPane)

    @property
    def wrap_pane(self) -> WrapPane:
        return self.main.query_one(WrapPane)

    @property
    def kb_hits(self) -> list[SearchHit]:
        return self.kb_pane.hits

    @property
    def callback_list(self) -> list[CallbackPublic]:
        return self.main.query_one(CallbacksPane).items

    def get_default_screen(self) -> Screen[Any]:
        return self.main

    def get_key_display(self, binding: Binding) -> str:
        return keys.display(binding, super().get_key_display)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = self.presence_allows(action)
        if allowed is not None:
            return allowed
        if action in self.CARD_ACTIONS:
            return self.card is not None
        if action in self.IDLE_ACTIONS:
            return self.card is None
        return True

    # --- keys typed while a dialog opens (ekc_tui.typeahead) --------------------------------

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        result = super().push_screen(screen, *args, **kwargs)
        if isinstance(screen, Screen):
            self.typeahead.hold(screen)
        return result

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            if self.typeahead.held_back(event):
                return
            typed = not event.is_forwarded  # from the terminal (forwarding sets the flag)
            await super().on_event(event)
            if typed:
                self.typeahead.dispatched(event)
            else:  # back from the focused widget: its binding has run
                self.typeahead.returned(event)
            return
        await super().on_event(event)

    # --- start and sign-in ------------------------------------------------------------------

    def on_load(self) -> None:
        # thread workers on daemon threads: quitting does not wait for a long poll
        asyncio.get_running_loop().set_default_executor(DaemonExecutor())

    def console_ready(self) -> None:
        """The main window is mounted: draw it, then start (after the first frame)."""
        self.show_card()
        self.wrap_pane.show()
        self.refresh_status()
        self.set_interval(1.0, self._tick)
        self.call_after_refresh(self.controller._start)

    @live
    def on_need_login(self, message: NeedLogin) -> None:
        self.controller.ask_login(message.message)

    @live
    def on_signed_in(self, message: SignedIn) -> None:
        if self.wallboard_only and self.open_wallboard():
            return
        presence.signed_in(self)
        self.refresh_status()
        card_flow.restore_draft(self)
        self.kb_pane._kb_pump()
        self.controller.run_session(self._background)
        self.main.query_one(CallbacksPane).load()

    @live
    def on_reference_loaded(self, message: ReferenceLoaded) -> None:
        self.ref = message.ref
        self.wrap_pane.show()
        self.show_card()

    @live
    def on_kb_count(self, message: KbCount) -> None:
        self.kb_count = message.count
        self.refresh_status()

    def on_notice(self, message: Notice) -> None:
        self.notify(
            message.text, title=message.title, severity=message.severity, timeout=message.timeout
        )

    @live
    def on_open_screen(self, message: OpenScreen) -> None:
        self.push_screen(message.screen)

    # --- status, card header, the queue ----------------------------------------------------

    @live
    def on_link_state(self, message: LinkState) -> None:
        presence.link_changed(self, message.online)
        self.refresh_status()
        self.show_card()

    def refresh_status(self) -> None:
        if self.stopping or not self.is_running or not self.main.is_mounted:
            return  # before the window is built, or while it is torn down
        with contextlib.suppress(NoMatches):
            self.main.query_one(StatusBar).show_session(self)

    def _tick(self) -> None:
        if self.stopping:
            return
        try:
            self.refresh_status()
            if self.card is not None or not self.online:
                self.show_card()
            if self.main.query_one("#work").active == "tab-queue":  # type: ignore[attr-defined]
                self.main.query_one(QueuePane).tick()  # its clocks, only while it is seen
        except NoMatches:  # the screen is being torn down
            return

    def show_card(self) -> None:
        # the footer's keys depend only on whether a card is open (check_action), and
        # Textual rebuilds the whole footer on refresh_bindings: only when that changes
        has_card = self.card is not None
        if has_card != self._footer_for_card:
            self._footer_for_card = has_card
            self.refresh_bindings()
        self.main.query_one(CardPane).show()

    @live
    def on_offers_changed(self, message: OffersChanged) -> None:
        new = {c.id for c in message.contacts} - {c.id for c in self.offers}
        self.offers = message.contacts
        self.main.query_one(QueuePane).show(message.contacts, self.ref)
        if new and self.card is None:
            self.bell()
            self.notify(f"Новый контакт в очереди ({len(self.offers)}). F2 — принять", timeout=4)
        self.show_card()
        self.refresh_status()

    def busy(self) -> bool:
        """A card is open, or a take waits for its answer: no second card (say so)."""
        if self.card is not None:
            self.notify("Сначала сохраните текущую карточку (F9)", severity="warning")
        elif self.taking is not None:
            self.notify("Ждём ответа сервера на принятие контакта", severity="warning")
        return self.card is not None or self.taking is not None

    def action_take(self) -> None:
        if self.busy() or self.away_refusal():
            return
        if not self.offers:
            self.notify("Очередь пуста", timeout=3)
            return
        contact = self.offers[0]
        queue = self.main.query_one(QueuePane)
        if self.main.query_one("#work").active == "tab-queue":  # type: ignore[attr-defined]
            contact = queue.chosen() or contact
        self.taking = contact.id
        self.show_card()
        self.controller._take(contact)

    @live
    def on_take_ended(self, message: TakeEnded) -> None:
        self.taking = None
        self.show_card()

    def on_data_table_row_selected(self, event: Any) -> None:
        if event.data_table.id == "queue":
            self.action_take()

    # --- the card -----------------------------------------------------------------------------

    @live
    def on_card_ready(self, message: CardReady) -> None:
        self.clear_notifications()
        if message.restored:
            self.notify("Восстановлена несохранённая карточка: F9 — сохранить", timeout=6)
        if self.appeal_note != card_flow.APPEAL_SOON:
            self.appeal_note = ""  # the number was on screen while free
        card = self.card = message.card
        if message.citizen is not None:
            card.citizen_id = message.citizen.id
            card.citizen_name = message.citizen.full_name
        self.citizen, self.history = message.citizen, message.history
        handoff = card.contact.handoff if card.contact else None
        card.topic_code = card.topic_code or suggested_topic(handoff, self.ref)
        self.wrap_pane.summary = card.summary
        self.show_history(message.cached)
        self.show_card()
        self.wrap_pane.show()
        self.last_card_ready = time.perf_counter()
        self.kb_pane.clear_query()
        self.kb_pane.suggest()
        self.keep_draft()
        self.main.query_one(CardPane).identify_card()
        if card.server_problems:
            card_flow.correct(self, card)
        else:
            self.action_kb()

    def set_citizen(
        self, citizen: CitizenPublic | None, history: CitizenHistory | None, *, cached: bool
    ) -> None:
        """The card's citizen chosen (None: a new one, on the card only)."""
        self.citizen, self.history = citizen, history
        self.show_history(cached)
        self.show_card()
        self.wrap_pane.show()
        self.keep_draft()

    def show_history(self, cached: bool) -> None:
        self.main.query_one(HistoryPane).show(
            self.history, card=self.card, ref=self.ref, cached=cached
        )

    @live
    def on_appeals_registered(self, message: AppealsRegistered) -> None:
        numbers = ", ".join(f"№ {n}" for n in message.numbers)
        self.appeal_note = f"Обращение зарегистрировано: {numbers} — сообщите номер гражданину"
        self.notify(f"Обращение зарегистрировано: {numbers}", title="Номер для гражданина")
        self.show_card()

    def action_end_call(self) -> None:
        card_flow.end_call(self)

    def action_save(self) -> None:
        card_flow.save(self)

    def after_save(self) -> None:
        if not self._background:
            self.controller._flush_now()

    def keep_draft(self) -> None:
        card_flow.keep_draft(self)

    def has_draft(self) -> bool:
        return self.desk.store.get(card_flow.DRAFT) is not None

    # --- keys of the main window -------------------------------------------------------------

    def action_kb(self) -> None:
        self.main.show_tab("tab-kb")
        self.kb_pane.focus_query()

    def action_history(self) -> None:
        self.main.show_history()
        self.main.query_one("#history").focus()

    def action_wrap(self) -> None:
        self.main.show_tab("tab-wrap")
        self.wrap_pane.focus_outcomes()

    def action_queue(self) -> None:
        self.main.show_tab("tab-queue")
        self.main.query_one(QueuePane).focus()

    def action_callbacks(self) -> None:
        self.main.show_tab("tab-callbacks")
        pane = self.main.query_one(CallbacksPane)
        pane.focus()
        pane.load()

    def action_topic(self) -> None:
        self.wrap_pane.topic()

    def action_appeal(self) -> None:
        self.wrap_pane.appeal()

    def action_callback(self) -> None:
        self.wrap_pane.callback()

    def action_transfer(self) -> None:
        card_flow.transfer(self)

    def action_citizen(self) -> None:
        self.main.query_one(CardPane).ask()

    def action_manual(self) -> None:
        from ekc_tui import manual

        if not self.busy():
            manual.ask(self)

    def action_outbox(self) -> None:
        from ekc_tui import manual

        manual.outbox(self)

    def action_quit_console(self) -> None:
        card_flow.quit_console(self)

    def on_unmount(self) -> None:
        self.keep_draft()
        self.stopping = True
        self.workers.cancel_all()
        # a long poll may be waiting on the server: closing the client ends it at once
        if self._desk is not None:
            self._desk.interrupt()

    def close(self) -> None:
        """Close the desk (if one was made): the client, the KB index, the store."""
        if self._desk is not None:
            self._desk.close()
