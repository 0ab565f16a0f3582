"""The operator console: call card, citizen history, knowledge search, wrap-up, callbacks.

The UI thread never waits on the network: every call to the `Desk` (HTTP, SQLite, Whoosh)
runs in a thread worker that posts its result back as a message.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    DataTable,
    Input,
    OptionList,
    Static,
    TabbedContent,
    TextArea,
)
from textual.widgets.data_table import CellDoesNotExist
from textual.widgets.option_list import Option
from textual.worker import Worker, get_current_worker

if TYPE_CHECKING:
    from kb_index import SearchHit

from ekc_core.enums import Channel, ContactOutcome, Line
from ekc_core.errors import (
    AuthenticationRequiredError,
    EkcError,
    ServerError,
    ServerUnreachableError,
)
from ekc_core.phones import format_phone, try_normalize_phone
from ekc_core.schemas import (
    CallbackPublic,
    CitizenHistory,
    CitizenListItem,
    CitizenPublic,
    ContactPublic,
)
from ekc_tui import correction, failures, taking
from ekc_tui.cards import Card, NewCitizen
from ekc_tui.desk import Desk, OfflineError, Reference
from ekc_tui.forms import (
    AppealFormScreen,
    CallbackFormScreen,
    ManualCardScreen,
    ManualRequest,
    NewCitizenScreen,
    split_lookup,
)
from ekc_tui.messages import (
    CardReady,
    HeldContacts,
    KbResults,
    LinkState,
    NeedLogin,
    OffersChanged,
)
from ekc_tui.outbox import new_key
from ekc_tui.screens import (
    AppealViewScreen,
    ArticleScreen,
    ConfirmScreen,
    ContactViewScreen,
    HelpScreen,
    LoginRequest,
    LoginScreen,
    OutboxScreen,
    PickerScreen,
    PromptScreen,
    RussianPalette,
    topic_items,
)
from ekc_tui.settings import ConsoleSettings
from ekc_tui.text import (
    CHANNELS,
    fmt_clock,
    fmt_dt,
    highlight,
)
from ekc_tui.widgets import CardPanel, ConsoleScreen, StatusBar, short_name

NEW_CITIZEN = "__new__"
#: as-you-type search starts at the 3rd letter (shorter prefixes match half the base)
MIN_QUERY = 3
HEARTBEAT_SECONDS = 15.0
DRAFT = "draft"


class EkcConsole(App[None]):
    """ЕКЦ 122: the operator's single window."""

    TITLE = "ЕКЦ 122"
    CSS_PATH = "console.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Справка", id="help", tooltip="Все клавиши и что они делают"),
        Binding("f2", "take", "Принять", id="take", tooltip="Принять контакт из очереди"),
        Binding("f3", "kb", "Поиск", id="kb", tooltip="Поиск в базе знаний"),
        Binding("f4", "history", "История", id="history", tooltip="История гражданина"),
        Binding("f5", "wrap", "Итог", id="wrap", tooltip="Тематика, результат, итог разговора"),
        Binding("f6", "callbacks", "Перезвоны", id="callbacks", tooltip="Мои перезвоны"),
        Binding("f7", "queue", "Очередь", id="queue", tooltip="Контакты, ожидающие оператора"),
        Binding("f8", "end_call", "Конец", id="end_call", tooltip="Разговор окончен"),
        Binding("f9", "save", "Сохранить", id="save", tooltip="Сохранить карточку"),
        Binding("ctrl+t", "topic", "Тема", id="topic", tooltip="Выбрать тематику из дерева"),
        Binding("ctrl+r", "appeal", "Обращение", id="appeal", tooltip="Зарегистрировать обращение"),
        Binding("ctrl+b", "callback", "Перезвон", id="callback", tooltip="Запланировать перезвон"),
        Binding("ctrl+g", "citizen", "Гражданин", id="citizen", tooltip="Найти гражданина"),
        Binding("ctrl+n", "manual", "Вручную", id="manual", tooltip="Карточка без телефонии"),
        Binding("ctrl+o", "outbox", "Неотправл.", id="outbox", tooltip="Что не дошло до сервера"),
        Binding("ctrl+q", "quit_console", "Выход", id="quit", tooltip="Выйти из консоли"),
        Binding(
            "ctrl+p",
            "command_palette",
            "Команды",
            id="palette",
            tooltip="Найти действие по названию",
            show=False,
            priority=True,
        ),
    ]
    # the footer shows what fits the moment: with a card open, its actions; else the rest
    CARD_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"end_call", "save", "topic", "appeal", "callback", "citizen", "wrap", "history"}
    )
    IDLE_ACTIONS: ClassVar[frozenset[str]] = frozenset({"take", "manual", "queue", "callbacks"})

    def __init__(
        self,
        settings: ConsoleSettings,
        *,
        login: tuple[str, str] | None = None,
        background: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.desk = Desk(settings)
        self._login = login
        self._background = background
        self.ref: Reference | None = None
        self.card: Card | None = None
        self.citizen: CitizenPublic | None = None
        self.history: CitizenHistory | None = None
        self.offers: list[ContactPublic] = []
        self.callback_list: list[CallbackPublic] = []
        self.kb_seq = 0
        self.kb_hits: list[SearchHit] = []
        self.kb_count = 0
        self.stopping = False
        self._offer_version: str | None = None
        self._draft_timer: Timer | None = None
        self._footer_for_card = False
        """Whether the footer's keys were last refreshed for an open card (show_card)."""
        self._kb_event = threading.Event()
        self._kb_lock = threading.Lock()
        self._kb_wanted: tuple[int, str] | None = None
        self._main: ConsoleScreen | None = None
        self.last_card_ready: float | None = None
        """time.perf_counter() when the last card with history was on screen (bench)."""
        self.last_kb_results: tuple[float, str] | None = None
        """time.perf_counter() and the query of the last search results shown (bench)."""
        self.worker_failures: deque[failures.Failure] = deque(maxlen=failures.KEEP)
        """The last workers that raised, as the failure handler saw it (tests read it); each
        holds its traceback's frames, so a shift on a bad link keeps only the last few."""
        self.loop_deaths: dict[str, int] = {}
        self.loop_restart_seconds = 5.0
        """Pause before a dead background loop is started again (doubles each time)."""
        self.taking: int | None = None
        """The contact a take is under way for (its answer may be lost: asked again)."""

    def get_key_display(self, binding: Binding) -> str:
        """F1 … F9 and ^T as operators know them (Textual writes f1)."""
        key = binding.key
        if key.startswith("f") and key[1:].isdigit():
            return key.upper()
        if key.startswith("ctrl+") and len(key) == 6:
            return "^" + key[-1].upper()
        return super().get_key_display(binding)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.CARD_ACTIONS:
            return self.card is not None
        if action in self.IDLE_ACTIONS:
            return self.card is None
        return True

    def get_default_screen(self) -> Screen[Any]:
        return self.main

    @property
    def main(self) -> ConsoleScreen:
        """The main window (queries go here: a dialog may be on top of it)."""
        if self._main is None:
            self._main = ConsoleScreen(id="console")
        return self._main

    # --- start and sign-in --------------------------------------------------------------

    def console_ready(self) -> None:
        self.main.query_one("#history", DataTable).add_columns(
            "Дата", "Канал", "Статус", "Срок", "Что", "Ведомство"
        )
        self.main.query_one("#queue", DataTable).add_columns("Ждёт", "Канал", "Номер", "Тема ГП")
        self.main.query_one("#callbacks", DataTable).add_columns(
            "Срок", "Гражданин", "Номер", "Обращение", "Причина"
        )
        self.show_card()
        self._show_wrap()
        self.refresh_status()
        self.set_interval(1.0, self._tick)
        self._start()

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def _start(self) -> None:
        desk = self.desk
        if self._login is not None:
            username, password = self._login
            try:
                desk.sign_in(self.settings.server_url, username, password)
            except EkcError as exc:
                self.post_message(NeedLogin(f"Не удалось войти: {exc}"))
                return
            self.call_from_thread(self._signed_in)
            return
        creds = desk.saved_login()
        if creds is None:
            self.post_message(NeedLogin(""))
            return
        if not desk.resume(creds):
            self.post_message(NeedLogin("Срок входа истёк: войдите снова"))
            return
        self.call_from_thread(self._signed_in)

    def on_need_login(self, message: NeedLogin) -> None:
        if isinstance(self.screen, LoginScreen):
            self.screen.show_error(message.message)
            return
        creds = self.desk.saved_login()
        server = creds.server_url if creds else self.settings.server_url
        username = (creds.username if creds else "") or (self._login[0] if self._login else "")

        def done(result: object) -> None:
            if isinstance(result, LoginRequest):
                self._sign_in(result)
            elif self.desk.me is None and self.desk.username is None:
                self.exit()

        self.push_screen(LoginScreen(server, username, message.message), done)

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def _sign_in(self, request: LoginRequest) -> None:
        try:
            self.desk.sign_in(request.server, request.username, request.password)
        except (ServerUnreachableError, ServerError) as exc:
            self.post_message(NeedLogin(f"Нет связи: {exc}"))
            return
        except EkcError as exc:
            self.post_message(NeedLogin(f"Не удалось войти: {exc}"))
            return
        self.call_from_thread(self._signed_in)

    def _signed_in(self) -> None:
        self.refresh_status()
        self._restore_draft()
        self._load_reference()
        self._kb_pump()
        if self._background:
            self._offers_loop()
            self._outbox_loop()
            self._kb_loop()
            self._heartbeat_loop()
        else:
            self._kb_open()
        self._load_callbacks()
        self._check_held()

    # --- a worker that fails does not end the console (ekc_tui.failures) ---------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failures.handle(self, event)

    # --- background loops ---------------------------------------------------------------

    def alive(self) -> bool:
        return not self.stopping and not get_current_worker().is_cancelled

    @work(thread=True, exclusive=True, group="offers", exit_on_error=False)
    def _offers_loop(self) -> None:
        """Long poll: the backend answers when the queue changes (or after `offer_wait`)."""
        pause = 1.0
        while self.alive():
            try:
                offers = self.desk.offers(self._offer_version)
            except AuthenticationRequiredError:
                self.post_message(NeedLogin("Срок входа истёк: войдите снова"))
                return
            except (EkcError, OfflineError):
                self.post_link()
                time.sleep(min(pause, 15.0))
                pause *= 2
                continue
            pause = 1.0
            if offers.version != self._offer_version:
                self._offer_version = offers.version
                self.post_message(OffersChanged(offers.contacts))
            self.post_link()

    @work(thread=True, exclusive=True, group="outbox", exit_on_error=False)
    def _outbox_loop(self) -> None:
        while self.alive():
            if self.desk.unsent():
                result = self.desk.flush()
                if result.auth_needed:
                    self.post_message(NeedLogin("Срок входа истёк: войдите снова"))
                for number in result.appeals:
                    self.call_from_thread(
                        self.notify,
                        f"Обращение зарегистрировано: № {number}",
                        title="Номер для гражданина",
                        timeout=15,
                    )
                if result.failed:
                    self.call_from_thread(
                        self.notify,
                        "Сервер отклонил запись: " + "; ".join(result.errors)[:300],
                        severity="error",
                        timeout=10,
                    )
                self.post_link()
                if result.offline or result.auth_needed:
                    time.sleep(self.settings.outbox_retry_seconds)
                    continue
            time.sleep(0.3)

    @work(thread=True, exclusive=True, group="heartbeat", exit_on_error=False)
    def _heartbeat_loop(self) -> None:
        """While idle, a small request every HEARTBEAT_SECONDS: the status bar learns of a
        lost link within seconds, and a warm connection spares the next take a round trip."""
        while self.alive():
            try:
                self.desk.heartbeat()
            except AuthenticationRequiredError:
                self.post_message(NeedLogin("Срок входа истёк: войдите снова"))
                return
            self.post_link()
            for _ in range(int(HEARTBEAT_SECONDS * 10)):
                if not self.alive():
                    return
                time.sleep(0.1)

    def post_link(self) -> None:
        self.post_message(LinkState(self.desk.online, self.desk.unsent(), self.desk.failed()))

    @work(thread=True, exclusive=True, group="kb-sync", exit_on_error=False)
    def _kb_loop(self) -> None:
        self._kb_open_now()
        while self.alive():
            try:
                result = self.desk.sync_kb()
                self.kb_count = self.desk.kb.index.count()
                if result.upserted or result.deleted:
                    self.call_from_thread(self.refresh_status)
            except (EkcError, OfflineError):
                pass
            for _ in range(int(self.settings.kb_sync_seconds * 10)):
                if not self.alive():
                    return
                time.sleep(0.1)

    @work(thread=True, group="kb-sync", exit_on_error=False)
    def _kb_open(self) -> None:
        self._kb_open_now()

    def _kb_open_now(self) -> None:
        self.kb_count = self.desk.kb.index.count()
        self.call_from_thread(self.refresh_status)

    def on_link_state(self, message: LinkState) -> None:
        self.refresh_status()

    # --- status and card panel ----------------------------------------------------------

    def refresh_status(self) -> None:
        if self.stopping or not self.main.is_mounted:
            return  # before the window is built, or while it is torn down
        with contextlib.suppress(NoMatches):
            self._draw_status()

    def _draw_status(self) -> None:
        desk = self.desk
        who = short_name(desk.me.full_name) if desk.me else (desk.username or "вход не выполнен")
        self.main.query_one(StatusBar).render_state(
            who=who,
            online=desk.online,
            unsent=desk.unsent(),
            failed=desk.failed(),
            waiting=len(self.offers),
            kb=self.kb_count,
        )

    def _tick(self) -> None:
        """Once a second: the card's clocks and the queue's waits (only what is seen)."""
        if self.stopping:
            return
        with contextlib.suppress(NoMatches):  # the screen is being torn down
            self.refresh_status()
            if self.card is not None:
                self._draw_card()  # not show_card: the footer's keys change with the card only
            if self.offers and self.main.query_one("#work", TabbedContent).active == "tab-queue":
                self._queue_waits()

    def show_card(self) -> None:
        # the footer's keys depend only on whether a card is open (check_action), and
        # Textual rebuilds the whole footer on refresh_bindings: only when that changes
        if (self.card is not None) != self._footer_for_card:
            self._footer_for_card = self.card is not None
            self.refresh_bindings()
        self._draw_card()

    def _draw_card(self) -> None:
        self.main.query_one(CardPanel).show(
            self.card,
            citizen=self.citizen,
            history=self.history,
            ref=self.ref,
            offers=self.offers,
            taking=self.taking is not None,
        )

    # --- offers and taking a contact ----------------------------------------------------

    def on_offers_changed(self, message: OffersChanged) -> None:
        new = {c.id for c in message.contacts} - {c.id for c in self.offers}
        self.offers = message.contacts
        table = self.main.query_one("#queue", DataTable)
        table.clear()
        now = datetime.now(UTC)
        for c in self.offers:
            channel = CHANNELS.get(c.channel.value, c.channel.value) + (
                f" {c.line.value}" if c.line else ""
            )
            topic = ""
            if c.handoff and c.handoff.detected_topic and self.ref:
                topic = self.ref.topic_name(c.handoff.detected_topic)
            table.add_row(
                fmt_clock((now - c.queued_at).total_seconds()),
                channel,
                c.caller_number or c.sender or "—",
                topic,
                key=str(c.id),
            )
        if new and self.card is None:
            self.bell()
            self.notify(f"Новый контакт в очереди ({len(self.offers)}). F2 — принять", timeout=4)
        self.show_card()
        self.refresh_status()

    def _queue_waits(self) -> None:
        """The "waiting" column counts up between queue changes."""
        table = self.main.query_one("#queue", DataTable)
        if not table.ordered_columns:
            return
        now = datetime.now(UTC)
        column = table.ordered_columns[0].key
        for c in self.offers:
            with contextlib.suppress(CellDoesNotExist):  # a row removed meanwhile
                table.update_cell(str(c.id), column, fmt_clock((now - c.queued_at).total_seconds()))

    def _busy(self) -> bool:
        """A card is open, or a take waits for its answer: no second card (say so)."""
        if self.card is not None:
            self.notify("Сначала сохраните текущую карточку (F9)", severity="warning")
        elif self.taking is not None:
            self.notify("Ждём ответа сервера на принятие контакта", severity="warning")
        return self.card is not None or self.taking is not None

    def action_take(self) -> None:
        if self._busy():
            return
        if not self.offers:
            self.notify("Очередь пуста", timeout=3)
            return
        contact = self.offers[0]
        table = self.main.query_one("#queue", DataTable)
        if self.main.query_one("#work", TabbedContent).active == "tab-queue" and table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            contact = next((c for c in self.offers if str(c.id) == key), contact)
        self.taking = contact.id
        self.show_card()
        self._take(contact)

    @work(thread=True, exclusive=True, group="card", exit_on_error=False)
    def _take(self, contact: ContactPublic) -> None:
        taking.take(self, contact)

    @work(thread=True, exclusive=True, group="held", exit_on_error=False)
    def _check_held(self) -> None:
        taking.check_held(self)

    def on_held_contacts(self, message: HeldContacts) -> None:
        if self.card is not None or self.taking is not None:
            return

        def answer(yes: object) -> None:
            if yes and self.card is None:
                self._open_held(message.contacts[0])

        self.push_screen(ConfirmScreen(taking.held_question(message.contacts)), answer)

    @work(thread=True, exclusive=True, group="card", exit_on_error=False)
    def _open_held(self, contact: ContactPublic) -> None:
        taking.open_held(self, contact)

    def has_draft(self) -> bool:
        return self.desk.store.get(DRAFT) is not None

    def on_card_ready(self, message: CardReady) -> None:
        self.clear_notifications()
        if message.restored:
            self.notify("Восстановлена несохранённая карточка: F9 — сохранить", timeout=6)
        self.card = message.card
        if message.citizen is not None:
            self.card.citizen_id = message.citizen.id
            self.card.citizen_name = message.citizen.full_name
        self.citizen, self.history = message.citizen, message.history
        contact = self.card.contact
        if contact and contact.handoff and contact.handoff.detected_topic:
            self.card.topic_code = self.card.topic_code or contact.handoff.detected_topic
        self.main.query_one("#summary", TextArea).text = self.card.summary
        self._show_history(message.cached)
        self.show_card()
        self._show_wrap()
        self.last_card_ready = time.perf_counter()
        self.main.query_one("#kb-query", Input).value = ""
        self._suggest()
        self.keep_draft()
        if self.card.citizen_id is None and self.card.new_citizen is None:
            if self.card.number:
                self._identify(format_phone(self.card.number))
            elif self.card.lookup:
                self._identify(self.card.lookup)
            elif self.card.direction == "in" and self.card.contact is not None:
                self.notify("Гражданин не определён: Ctrl+G — найти или добавить", timeout=5)
        if self.card.server_problems:
            self._correct_card(self.card)
        else:
            self.action_kb()

    def _correct_card(self, card: Card) -> None:
        """A refused card reopened: say why, show the reasons by their fields (the wrap-up
        tab; the citizen's form opens at once when the citizen was refused)."""
        remarks = correction.remarks(card)
        self.notify(
            "Сервер отклонил карточку: " + "; ".join(remarks.values()) + ". Исправьте и "
            "сохраните (F9): запись заменит отклонённую",
            title="Исправление",
            severity="warning",
            timeout=15,
        )
        self.action_wrap()
        if "citizen" in remarks and card.new_citizen is not None:
            self._new_citizen(None)

    # --- citizen ------------------------------------------------------------------------

    def action_citizen(self) -> None:
        if self.card is None:
            self.notify("Нет открытой карточки (F2 — принять, Ctrl+N — вручную)")
            return

        def typed(text: object) -> None:
            if isinstance(text, str) and text.strip():
                self._identify(text.strip())

        self.push_screen(PromptScreen("Найти гражданина", "Телефон или ФИО"), typed)

    @work(thread=True, exclusive=True, group="citizen", exit_on_error=False)
    def _identify(self, text: str) -> None:
        found, cached = self.desk.find_citizens(text)
        self.call_from_thread(self._choose_citizen, text, found, cached)

    def _choose_citizen(self, text: str, found: list[CitizenListItem], cached: bool) -> None:
        if self.card is None:
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
        if cached:
            title += " (из памяти консоли: нет связи)"

        def chosen(value: object) -> None:
            if value == NEW_CITIZEN:
                # digits typed are a phone (even a wrong one: the form says why), never a name
                typed_phone, name = split_lookup(text)
                number = phone or (self.card.number if self.card else None)
                self._new_citizen(format_phone(number) if number else typed_phone, name)
            elif isinstance(value, str):
                self._open_citizen(int(value))

        self.push_screen(PickerScreen(title, items), chosen)

    def _new_citizen(self, phone: str | None, name_hint: str = "") -> None:
        card = self.card

        def done(value: object) -> None:
            if isinstance(value, NewCitizen) and self.card is not None:
                self.card.new_citizen = value
                self.card.citizen_id = None
                self.card.fix("citizen")
                self.citizen, self.history = None, None
                self._show_history(False)
                self.show_card()
                self._show_wrap()
                self.keep_draft()

        draft = card.new_citizen if card else None
        errors = correction.field_errors(card, "citizen") if card else {}
        self.push_screen(
            NewCitizenScreen(phone or None, name_hint, draft=draft, errors=errors), done
        )

    @work(thread=True, exclusive=True, group="citizen", exit_on_error=False)
    def _open_citizen(self, citizen_id: int) -> None:
        try:
            citizen, history, cached = self.desk.open_citizen(citizen_id)
        except (EkcError, OfflineError) as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.call_from_thread(self._citizen_opened, citizen, history, cached)

    def _citizen_opened(
        self, citizen: CitizenPublic, history: CitizenHistory | None, cached: bool
    ) -> None:
        if self.card is None:
            return
        self.card.citizen_id = citizen.id
        self.card.citizen_name = citizen.full_name
        self.card.new_citizen = None
        self.card.fix("citizen")
        self.citizen, self.history = citizen, history
        self._show_history(cached)
        self.show_card()
        self._show_wrap()
        self.keep_draft()

    def _show_history(self, cached: bool) -> None:
        self.main.show_history(self.history, card=self.card, ref=self.ref, cached=cached)

    @on(DataTable.RowSelected, "#history")
    def _history_row(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value or ""
        if key.startswith("a"):
            self._show_appeal(int(key[1:]))
        elif key.startswith("c") and self.history is not None and self.ref is not None:
            item = next(
                (i for i in self.history.page.items if i.contact and f"c{i.contact.id}" == key),
                None,
            )
            if item is not None and item.contact is not None:
                self.push_screen(ContactViewScreen(item.contact, self.ref))

    @work(thread=True, exclusive=True, group="appeal", exit_on_error=False)
    def _show_appeal(self, appeal_id: int) -> None:
        try:
            appeal = self.desk.appeal(appeal_id)
        except (EkcError, OfflineError) as exc:
            self.call_from_thread(self.notify, f"Обращение не открыть: {exc}", severity="error")
            return
        if self.ref is not None:
            ref = self.ref
            self.call_from_thread(self.push_screen, AppealViewScreen(appeal, ref))

    # --- knowledge base -----------------------------------------------------------------

    def action_kb(self) -> None:
        self._narrow("work")
        self.main.query_one("#work", TabbedContent).active = "tab-kb"
        self.main.query_one("#kb-query", Input).focus()

    @on(Input.Changed, "#kb-query")
    def _kb_changed(self, event: Input.Changed) -> None:
        self.kb_seq += 1
        text = event.value.strip()
        if len(text) >= MIN_QUERY:
            with self._kb_lock:
                self._kb_wanted = (self.kb_seq, event.value)
            self._kb_event.set()
        elif not text:
            self._suggest()

    @on(Input.Submitted, "#kb-query")
    def _kb_submit(self) -> None:
        results = self.main.query_one("#kb-results", OptionList)
        if self.kb_hits:
            results.focus()
            if results.highlighted is None:
                results.highlighted = 0
            self._open_article(self.kb_hits[results.highlighted or 0].id)

    @work(thread=True, exclusive=True, group="kb-pump", exit_on_error=False)
    def _kb_pump(self) -> None:
        """One search at a time, always for the newest text: keystrokes typed while a search
        runs are folded into the next one instead of queueing behind it."""
        while self.alive():
            if not self._kb_event.wait(0.5):
                continue
            self._kb_event.clear()
            time.sleep(self.settings.search_debounce)
            with self._kb_lock:
                wanted, self._kb_wanted = self._kb_wanted, None
            if wanted is None:
                continue
            seq, text = wanted
            if seq != self.kb_seq:
                continue  # already stale: the newer text is queued
            hits = self.desk.kb.index.search(text, limit=20, as_you_type=True)
            self.post_message(KbResults(seq, text, hits))

    def _suggest(self) -> None:
        card = self.card
        if card is None:
            self._kb_show([], "Подсказки появятся, когда будет контакт")
            return
        handoff = card.contact.handoff if card.contact else None
        text = " ".join(t for t in ((handoff.transcript if handoff else None), card.text) if t)
        self.kb_seq += 1
        self._kb_suggest(self.kb_seq, text, card.topic_code)

    @work(thread=True, exclusive=True, group="kb", exit_on_error=False)
    def _kb_suggest(self, seq: int, text: str, topic: str | None) -> None:
        from kb_index import SearchFilters  # after the first frame: the index is heavy

        index = self.desk.kb.index
        hits: list[SearchHit] = []
        if text:
            hits = index.more_like_this(text, limit=8, filters=SearchFilters(topic=topic))
            if not hits:
                hits = index.more_like_this(text, limit=8)
        if not hits and topic and self.ref:
            name = self.ref.topic_name(topic)
            hits = index.search(name, limit=8, filters=SearchFilters(topic=topic))
        self.post_message(KbResults(seq, "", hits, suggested=True))

    def on_kb_results(self, message: KbResults) -> None:
        if message.seq != self.kb_seq:
            return  # stale
        if message.suggested:
            info = (
                f"Подсказки по обращению: {len(message.hits)}" if message.hits else "Подсказок нет"
            )
        else:
            info = f"Найдено: {len(message.hits)}" if message.hits else "Ничего не найдено"
        self._kb_show(message.hits, info)
        self.last_kb_results = (time.perf_counter(), message.query)

    def _kb_show(self, hits: list[SearchHit], info: str) -> None:
        self.kb_hits = hits
        self.main.query_one("#kb-info", Static).update(info + " · Enter — открыть статью")
        results = self.main.query_one("#kb-results", OptionList)
        results.clear_options()
        ref = self.ref
        options = []
        for h in hits:
            topic = ref.topic_name(h.topic) if ref and h.topic else ""
            fragment = highlight(h.highlights[0][:160]) if h.highlights else ""
            label = f"[b]{highlight(h.title)}[/b]\n  [i]{escape(topic)}[/i]"
            if fragment:
                label += f"\n  [dim]{fragment}[/]"
            options.append(Option(label, id=h.id))
        results.add_options(options)
        if options:
            results.highlighted = 0

    @on(OptionList.OptionSelected, "#kb-results")
    def _kb_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self._open_article(event.option.id)

    def _open_article(self, article_id: str) -> None:
        article = self.desk.kb.index.get(article_id)
        if article is None:
            return
        topic = self.ref.topic_path(article.topic) if self.ref else article.topic or ""

        def copied(text: object) -> None:
            if isinstance(text, str) and text:
                area = self.main.query_one("#summary", TextArea)
                area.text = (area.text + "\n" + text).strip() if area.text else text
                self.notify("Ответ вставлен в итог (F5)", timeout=3)

        self.push_screen(ArticleScreen(article, topic), copied)

    # --- wrap-up ------------------------------------------------------------------------

    def _show_wrap(self) -> None:
        self.main.show_wrap(self.card, self.ref)

    def action_wrap(self) -> None:
        self._narrow("work")
        self.main.query_one("#work", TabbedContent).active = "tab-wrap"
        outcomes = self.main.query_one("#outcomes", OptionList)
        outcomes.focus()
        # a dialog that just closed may hand the focus back after this: take it again
        self.call_after_refresh(outcomes.focus)

    def on_key(self, event: Any) -> None:
        """Digits pick the outcome while the outcome list has the focus."""
        outcomes = self.main.query_one("#outcomes", OptionList)
        on_wrap = self.main.query_one("#work", TabbedContent).active == "tab-wrap"
        typing = isinstance(self.focused, (Input, TextArea))
        if (
            self.screen is self.main
            and on_wrap
            and not typing
            and event.character
            and event.character.isdigit()
        ):
            index = int(event.character) - 1
            if 0 <= index < outcomes.option_count:
                outcomes.highlighted = index
                self._pick_outcome(outcomes.get_option_at_index(index).id)
                event.stop()

    @on(OptionList.OptionSelected, "#outcomes")
    def _outcome_selected(self, event: OptionList.OptionSelected) -> None:
        self._pick_outcome(event.option.id)

    def _pick_outcome(self, value: str | None) -> None:
        card = self.card
        if card is None or value is None:
            return
        if card.callback is not None:
            from ekc_core.enums import CallbackResult

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
                self._show_wrap()
                self.action_appeal()
                return
            if card.outcome == ContactOutcome.callback_needed and card.callback_request is None:
                self._show_wrap()
                self.action_callback()
                return
        self._show_wrap()
        self.keep_draft()
        if not card.problems():
            self.main.query_one("#summary", TextArea).focus()

    def action_topic(self) -> None:
        if self.card is None or self.ref is None:
            self.notify("Нет открытой карточки")
            return
        card = self.card

        def chosen(code: object) -> None:
            if isinstance(code, str):
                card.topic_code = code
                card.fix("topic")
                self._show_wrap()
                self.show_card()
                self.keep_draft()
                if not self.main.query_one("#kb-query", Input).value:
                    self._suggest()

        self.push_screen(
            PickerScreen("Тематика", topic_items(self.ref), first=card.topic_code), chosen
        )

    def action_appeal(self) -> None:
        if self.card is None or self.ref is None:
            self.notify("Нет открытой карточки")
            return
        card = self.card
        if not card.topic_code:
            self.notify("Сначала выберите тематику (Ctrl+T)", severity="warning")
            return

        def done(draft: object) -> None:
            from ekc_tui.cards import AppealDraft

            if isinstance(draft, AppealDraft):
                card.appeal = draft
                card.fix("appeal")
                card.outcome = card.outcome or ContactOutcome.appeal_registered
                if not card.has_citizen:
                    self.notify("Для обращения нужен гражданин: Ctrl+G", severity="warning")
            self._show_wrap()
            self.keep_draft()

        summary = self.main.query_one("#summary", TextArea).text
        error = correction.remarks(card).get("appeal", "")
        self.push_screen(
            AppealFormScreen(self.ref, card.topic_code, summary, draft=card.appeal, error=error),
            done,
        )

    def action_callback(self) -> None:
        if self.card is None:
            self.notify("Нет открытой карточки")
            return
        card = self.card

        def done(draft: object) -> None:
            from ekc_tui.cards import CallbackDraft

            if isinstance(draft, CallbackDraft):
                card.callback_request = draft
                card.fix("callback")
                card.outcome = card.outcome or ContactOutcome.callback_needed
            self._show_wrap()
            self.keep_draft()

        error = correction.remarks(card).get("callback", "")
        self.push_screen(CallbackFormScreen(draft=card.callback_request, error=error), done)

    def action_end_call(self) -> None:
        card = self.card
        if card is None or card.ended is not None:
            return
        card.end_now()
        if card.contact is not None or card.start_item is not None:
            card.end_item = new_key()
            card.end_sent = True
            self.desk.enqueue(
                card.end_item, f"Конец разговора: {card.title()}", card.end_steps(), card.dump()
            )
        self.refresh_status()
        self.show_card()
        self.keep_draft()
        self.action_wrap()

    def action_save(self) -> None:
        card = self.card
        if card is None:
            self.notify("Нет открытой карточки")
            return
        card.summary = self.main.query_one("#summary", TextArea).text.strip()
        problems = card.problems()
        if problems:
            self.notify("Не заполнено: " + ", ".join(problems), severity="warning")
            self.action_wrap()
            return
        card.end_now()
        correction.enqueue_save(self.desk.store, card, datetime.now(UTC))
        if card.callback is not None:
            done_id = card.callback.id
            self._show_callbacks([c for c in self.callback_list if c.id != done_id], False)
        acw = fmt_clock(card.acw_seconds)
        self.card, self.citizen, self.history = None, None, None
        self.desk.store.put(DRAFT, None)
        self.main.query_one("#summary", TextArea).text = ""
        self.main.query_one("#kb-query", Input).value = ""
        self._show_history(False)
        self.show_card()
        self._show_wrap()
        self.refresh_status()
        self._suggest()
        self.notify(f"Карточка сохранена (постобработка {acw}). Вы свободны", timeout=4)
        if not self._background:
            self._flush_now()
        self.main.query_one("#kb-query", Input).focus()

    # --- the open card survives a crash or a quit ---------------------------------------

    def keep_draft(self) -> None:
        """Store the open card (typed text included) so a restart brings it back."""
        if self.card is not None:
            with contextlib.suppress(NoMatches):  # what is typed, even if not yet seen
                self.card.summary = self.main.query_one("#summary", TextArea).text
            self.desk.store.put(DRAFT, self.card.dump())

    @on(TextArea.Changed, "#summary")
    def _summary_changed(self, event: TextArea.Changed) -> None:
        if self.card is None:
            return
        self.card.summary = event.text_area.text
        # at most two writes a second while typing
        if self._draft_timer is None:
            self._draft_timer = self.set_timer(0.5, self._draft_due)

    def _draft_due(self) -> None:
        self._draft_timer = None
        self.keep_draft()

    def _restore_draft(self) -> None:
        data = self.desk.store.get(DRAFT)
        if not data or self.card is not None:
            return
        card = Card.load(data)
        citizen: CitizenPublic | None = None
        history: CitizenHistory | None = None
        if card.citizen_id is not None:
            cached = self.desk.store.citizen(card.citizen_id)
            if cached is not None:
                citizen, history = cached
        self.post_message(CardReady(card, citizen, history, cached=True, restored=True))

    @work(thread=True, group="outbox-once", exit_on_error=False)
    def _flush_now(self) -> None:
        self.desk.flush()
        self.post_link()

    # --- a card opened by hand ----------------------------------------------------------

    def action_manual(self) -> None:
        if self._busy():
            return

        def done(request: object) -> None:
            if isinstance(request, ManualRequest):
                self._open_manual(request)

        self.push_screen(ManualCardScreen(), done)

    def _open_manual(self, request: ManualRequest) -> None:
        text = request.text.strip()
        phone = try_normalize_phone(text) if any(ch.isdigit() for ch in text) else None
        card = Card(
            key=new_key(),
            direction="in",
            channel=request.channel,
            line=request.line or (Line.l122 if request.channel == Channel.phone else None),
            number=phone,
        )
        card.start_item = new_key()
        self.desk.enqueue(
            card.start_item,
            f"Начало: {CHANNELS.get(card.channel.value, '')}",
            card.manual_start_steps(),
            card.dump(),
        )
        card.lookup = text if text and not phone else None
        self.post_message(CardReady(card, None, None))

    # --- callbacks ----------------------------------------------------------------------

    def action_callbacks(self) -> None:
        self._narrow("work")
        self.main.query_one("#work", TabbedContent).active = "tab-callbacks"
        self.main.query_one("#callbacks", DataTable).focus()
        self._load_callbacks()

    @work(thread=True, exclusive=True, group="callbacks", exit_on_error=False)
    def _load_callbacks(self) -> None:
        try:
            items, cached = self.desk.callbacks()
        except (EkcError, OfflineError):
            return
        self.call_from_thread(self._show_callbacks, items, cached)

    def _show_callbacks(self, items: list[CallbackPublic], cached: bool) -> None:
        self.callback_list = items
        table = self.main.query_one("#callbacks", DataTable)
        table.clear()
        for cb in items:
            due = fmt_dt(cb.due_at)
            if cb.overdue:
                due = f"[b red]{due} просрочен[/]"
            table.add_row(
                due,
                escape(cb.citizen_name),
                cb.phone,  # masked by the server in lists
                cb.appeal_number or "",
                escape(cb.reason[:50]),
                key=str(cb.id),
            )

    @on(DataTable.RowSelected, "#callbacks")
    def _callback_row(self, event: DataTable.RowSelected) -> None:
        cb = next((c for c in self.callback_list if str(c.id) == event.row_key.value), None)
        if cb is None or self._busy():
            return
        self._open_callback(cb)

    @work(thread=True, exclusive=True, group="card", exit_on_error=False)
    def _open_callback(self, cb: CallbackPublic) -> None:
        try:
            task = self.desk.call(lambda c: c.callback(cb.id))
        except (EkcError, OfflineError):
            task = cb  # offline: the list's copy (number masked in lists is full here)
        card = Card.for_callback(task)
        card.start_item = new_key()
        self.desk.enqueue(
            card.start_item,
            f"Звонок: {task.citizen_name}",
            card.outbound_start_steps(),
            card.dump(),
        )
        citizen: CitizenPublic | None = None
        history: CitizenHistory | None = None
        cached = False
        with contextlib.suppress(EkcError, OfflineError):
            citizen, history, cached = self.desk.open_citizen(task.citizen_id)
        appeal = None
        if task.appeal_id is not None:
            with contextlib.suppress(EkcError, OfflineError):
                appeal = self.desk.appeal(task.appeal_id)
        if appeal is not None:
            card.topic_code = appeal.topic_code  # the call is about this appeal
        self.post_message(CardReady(card, citizen, history, cached))
        if appeal is not None and self.ref is not None:
            self.call_from_thread(self.push_screen, AppealViewScreen(appeal, self.ref))

    # --- queue, history, outbox, help ---------------------------------------------------

    def action_queue(self) -> None:
        self._narrow("work")
        self.main.query_one("#work", TabbedContent).active = "tab-queue"
        self.main.query_one("#queue", DataTable).focus()

    @on(DataTable.RowSelected, "#queue")
    def _queue_row(self) -> None:
        self.action_take()

    def action_history(self) -> None:
        self._narrow("history")
        self.main.query_one("#history", DataTable).focus()

    def _narrow(self, pane: str) -> None:
        """On a narrow screen one of history / work is shown at a time."""
        self.main.set_class(pane == "history", "-show-history")

    def action_outbox(self) -> None:
        items = self.desk.store.outbox(states=("pending", "failed"))

        def done(choice: object) -> None:
            if isinstance(choice, tuple):
                self._outbox_choice(*choice)
                self.refresh_status()

        self.push_screen(OutboxScreen.of(items), done)

    def _outbox_choice(self, what: str, item_id: int) -> None:
        """Retry, give up (the contact is closed on the server) or correct a refused item."""
        store = self.desk.store
        item = store.item_by_id(item_id)
        if item is None or item.state != "failed":
            self.notify("Эта запись не отклонена: она уйдёт на сервер, когда будет связь")
            return
        if what == "retry":
            store.retry(item_id)
        elif what == "discard":
            closing = correction.give_up(store, item)
            if closing is not None:
                self.notify("Запись отменена; контакт будет закрыт на сервере", timeout=5)
        elif self.card is not None:
            self.notify("Сначала сохраните текущую карточку (F9)", severity="warning")
        else:
            card = correction.reopen(store, item)
            if card is None:
                self.notify("Эту запись нельзя исправить: повторите или откажитесь")
                return
            cached = store.citizen(card.citizen_id) if card.citizen_id else None
            citizen, history = cached if cached else (None, None)
            self.post_message(CardReady(card, citizen, history, cached=True))

    def _binding_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            key = self.get_key_display(binding).replace("^", "Ctrl+")
            rows.append((key, binding.description, binding.tooltip))
        rows += [
            ("Enter", "Открыть", "статью в результатах поиска, обращение в истории, перезвон"),
            ("1–5", "Результат", "в списке результатов (F5) — выбрать цифрой"),
            ("Ctrl+Y", "Ответ в итог", "в открытой статье — вставить ответ гражданину в итог"),
            ("Esc", "Назад", "закрыть окно без изменений"),
            ("Tab", "Дальше", "следующее поле"),
            ("Ctrl+P", "Команды", "найти действие по названию"),
        ]
        return rows

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        if self.card is None:
            context = (
                "Сейчас: свободны. F2 — принять контакт из очереди, "
                "Ctrl+N — карточка вручную, F6 — перезвоны."
            )
        elif self.card.callback is not None:
            context = "Сейчас: перезвон. F5 — итог перезвона (цифрой), F9 — сохранить."
        else:
            context = (
                "Сейчас: карточка контакта. Ctrl+T — тематика, F5 — результат, F9 — сохранить."
            )
        self.push_screen(HelpScreen(self._binding_rows(), context))

    def action_command_palette(self) -> None:
        if not CommandPalette.is_open(self):  # type: ignore[arg-type]  # App[None] is fine
            self.push_screen(RussianPalette(placeholder="Найти действие…", id="--command-palette"))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action == "command_palette":
                continue
            yield SystemCommand(
                f"{binding.description} ({self.get_key_display(binding).replace('^', 'Ctrl+')})",
                binding.tooltip,
                getattr(self, f"action_{binding.action}"),
            )

    def action_help_quit(self) -> None:
        """Ctrl+C out of habit: say how to quit (Textual's own hint is in English)."""
        self.notify("Выход из консоли — Ctrl+Q", title="Выйти?")

    def action_quit_console(self) -> None:
        unsent = self.desk.unsent()
        if self.card is None and not unsent:
            self.exit()
            return
        question = "Выйти из консоли?"
        if self.card is not None:
            question += (
                " Несохранённая карточка останется черновиком и откроется при следующем запуске."
            )
        if unsent:
            question += f" Не отправлено: {unsent} — уйдёт при следующем запуске."

        def answer(yes: object) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(question), answer)

    @work(thread=True, exclusive=True, group="reference", exit_on_error=False)
    def _load_reference(self) -> None:
        try:
            ref = self.desk.reference()
        except (EkcError, OfflineError) as exc:
            self.call_from_thread(self.notify, f"Справочники недоступны: {exc}", severity="error")
            return
        self.call_from_thread(self._reference_loaded, ref)

    def _reference_loaded(self, ref: Reference) -> None:
        self.ref = ref
        self._show_wrap()
        self.show_card()

    def on_unmount(self) -> None:
        self.keep_draft()
        self.stopping = True
        self.workers.cancel_all()
        # a long poll may be waiting on the server: closing the client ends it at once
        self.desk.interrupt()

    def _exit_cleanup(self) -> None:
        self.desk.close()
