"""The console's background work: sign-in, the loops (offers, outbox, heartbeat, KB sync),
reference data, takes and held contacts.

Each runs in a thread worker (`@work(thread=True, exit_on_error=False)`) and reports to the
UI thread with a typed message (`ekc_tui.messages`); a worker that raises is handled by
`ekc_tui.failures`. The controller is a widget that is never shown: it owns the workers, so
their state changes come to it.

Nothing here imports the wire schemas, httpx or the desk before the first frame: the desk
is made (and those modules imported) by the first worker, after the main window is drawn.
Thread workers run on daemon threads (`DaemonExecutor`): quitting never waits for a long
poll or a slow request to end.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual import work
from textual.widget import Widget
from textual.worker import Worker, get_current_worker

from ekc_tui import failures
from ekc_tui.messages import (
    AppealsRegistered,
    HeldContacts,
    KbCount,
    LinkState,
    NeedLogin,
    Notice,
    OffersChanged,
    ReferenceLoaded,
    SignedIn,
)

if TYPE_CHECKING:
    from ekc_core.schemas import ContactPublic
    from ekc_tui.app import EkcConsole
    from ekc_tui.desk import Desk
    from ekc_tui.screens import LoginRequest

T = TypeVar("T")

EXPIRED = "Срок входа истёк: войдите снова"


class DaemonExecutor(concurrent.futures.ThreadPoolExecutor):
    """One daemon thread per call, never joined: the asyncio loop's default executor, so
    Textual's thread workers do not hold the process when the console quits (a long poll
    in flight would keep a `ThreadPoolExecutor` thread, and the exit, for up to a minute).
    The outbox is durable and idempotent: a write cut short is sent again next time.
    (asyncio takes only a `ThreadPoolExecutor`; its pool is never used.)"""

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the awaiting coroutine
                future.set_exception(exc)

        threading.Thread(target=run, daemon=True, name="ekc-worker").start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: the threads are daemons."""


class Controller(Widget):
    """Starts and runs the session's background work (never displayed)."""

    DEFAULT_CSS = "Controller { display: none; }"

    def __init__(self) -> None:
        super().__init__(id="controller")
        self._offer_version: str | None = None

    @property
    def console(self) -> EkcConsole:
        return cast("EkcConsole", self.app)

    @property
    def desk(self) -> Desk:
        return self.console.desk

    def alive(self) -> bool:
        return not self.console.stopping and not get_current_worker().is_cancelled

    def sleep(self, seconds: float) -> bool:
        """Sleep in small steps; False as soon as the worker is cancelled or the app stops."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.alive():
                return False
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
        return self.alive()

    def post_link(self) -> None:
        desk = self.desk
        self.post_message(LinkState(desk.online, desk.unsent(), desk.failed()))

    def notice(self, text: str, **kwargs: Any) -> None:
        self.post_message(Notice(text, **kwargs))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failures.handle(self.console, event)

    # --- sign-in ------------------------------------------------------------------------

    def ask_login(self, text: str) -> None:
        """The sign-in form (the saved server and login filled in), or its error line."""
        from ekc_tui.screens import LoginRequest, LoginScreen

        console = self.console
        if isinstance(console.screen, LoginScreen):
            console.screen.show_error(text)
            return
        creds = self.desk.saved_login()
        server = creds.server_url if creds else console.settings.server_url
        login = console.login
        username = (creds.username if creds else "") or (login[0] if login else "")

        def done(result: object) -> None:
            if isinstance(result, LoginRequest):
                self._sign_in(result)
            elif self.desk.me is None and self.desk.username is None:
                console.exit()

        console.push_screen(LoginScreen(server, username, text), done)

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def _start(self) -> None:
        console = self.console
        if console.log_file:
            failures.setup_logging(console.settings.console_dir)
        desk = self.desk  # made here, off the UI thread (imports httpx and the schemas)
        login = self.console.login
        if login is not None:
            from ekc_core.errors import EkcError

            try:
                desk.sign_in(self.console.settings.server_url, *login)
            except EkcError as exc:
                self.post_message(NeedLogin(f"Не удалось войти: {exc}"))
                return
            self.post_message(SignedIn())
            return
        creds = desk.saved_login()
        if creds is None:
            self.post_message(NeedLogin(""))
            return
        if not desk.resume(creds):
            self.post_message(NeedLogin(EXPIRED))
            return
        self.post_message(SignedIn())

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def _sign_in(self, request: LoginRequest) -> None:
        from ekc_core.errors import EkcError, ServerError, ServerUnreachableError

        try:
            self.desk.sign_in(request.server, request.username, request.password)
        except (ServerUnreachableError, ServerError) as exc:
            self.post_message(NeedLogin(f"Нет связи: {exc}"))
            return
        except EkcError as exc:
            self.post_message(NeedLogin(f"Не удалось войти: {exc}"))
            return
        self.post_message(SignedIn())

    def run_session(self, background: bool) -> None:
        """After signing in: reference data, the loops (or one KB open without them)."""
        self._load_reference()
        if background:
            self._offers_loop()
            self._outbox_loop()
            self._kb_loop()
            self._heartbeat_loop()
        else:
            self._kb_open()
        self._check_held()

    # --- loops --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="offers", exit_on_error=False)
    def _offers_loop(self) -> None:
        """Long poll: the backend answers when the queue changes (or after `offer_wait`)."""
        from ekc_core.errors import AuthenticationRequiredError, EkcError
        from ekc_tui.desk import OfflineError

        pause = 1.0
        while self.alive():
            presence = self.console.presence
            if presence is not None and presence.away:
                # off the line: no queue polling (the link's biggest steady cost); F12 back
                # calls `resume_offers`, which starts this loop anew
                return
            try:
                offers = self.desk.offers(self._offer_version)
            except AuthenticationRequiredError:
                self.post_message(NeedLogin(EXPIRED))
                return
            except (EkcError, OfflineError):
                self.post_link()
                self.sleep(min(pause, 15.0))
                pause *= 2
                continue
            pause = 1.0
            if offers.version != self._offer_version:
                self._offer_version = offers.version
                self.post_message(OffersChanged(offers.contacts))
            self.post_link()

    def resume_offers(self) -> None:
        """Back on the line: the queue long poll again (its first answer comes at once)."""
        if self.console._background:
            self._offer_version = None
            self._offers_loop()

    def leave_after(self, key: str, wait: float) -> None:
        """Quit once the outbox item `key` (the "offline" state) is sent, the link is lost or
        `wait` seconds passed, waiting in a thread so the screen stays live. Whatever
        happens meanwhile, the console quits: this is a plain thread worker whose failure
        must not keep the operator in (the item goes with the next start)."""

        def wait_then_quit() -> None:
            from ekc_tui.messages import QuitNow

            try:
                end = time.monotonic() + wait
                store = self.desk.store
                while time.monotonic() < end and self.desk.online and not self.console.stopping:
                    item = store.item(key)
                    if item is None or item.state != "pending":
                        break
                    time.sleep(0.05)
            finally:
                self.post_message(QuitNow())

        self.run_worker(wait_then_quit, thread=True, group="leave", exit_on_error=False)

    @work(thread=True, exclusive=True, group="outbox", exit_on_error=False)
    def _outbox_loop(self) -> None:
        while self.alive():
            if self.desk.to_send():
                self._flush()
                if not self.desk.online:
                    self.sleep(self.console.settings.outbox_retry_seconds)
                    continue
            self.sleep(0.3)

    def _flush(self) -> None:
        result = self.desk.flush()
        if result.auth_needed:
            self.post_message(NeedLogin(EXPIRED))
        if result.appeals:
            self.post_message(AppealsRegistered(list(result.appeals)))
        if result.failed:
            self.notice(
                "Сервер отклонил запись: " + "; ".join(result.errors)[:300],
                severity="error",
                timeout=10,
            )
        self.post_link()
        if result.auth_needed:
            self.sleep(self.console.settings.outbox_retry_seconds)

    @work(thread=True, group="outbox-once", exit_on_error=False)
    def _flush_now(self) -> None:
        self._flush()

    @work(thread=True, exclusive=True, group="heartbeat", exit_on_error=False)
    def _heartbeat_loop(self) -> None:
        """A small request every `settings.heartbeat_seconds`: the status bar learns of a lost
        link while the offers long poll waits (on a real link its socket's TCP keep-alive
        usually tells first, `ekc_core.client.TCP_KEEPIDLE`; any failed request turns the
        desk offline at once), and a warm connection spares the next take a round trip."""
        from ekc_core.errors import AuthenticationRequiredError

        while self.alive():
            try:
                self.desk.heartbeat()
            except AuthenticationRequiredError:
                self.post_message(NeedLogin(EXPIRED))
                return
            self.post_link()
            if not self.sleep(self.console.settings.heartbeat_seconds):
                return

    @work(thread=True, exclusive=True, group="kb-sync", exit_on_error=False)
    def _kb_loop(self) -> None:
        from ekc_core.errors import EkcError
        from ekc_tui.desk import OfflineError

        self._kb_count()
        while self.alive():
            try:
                result = self.desk.sync_kb()
                if result.upserted or result.deleted:
                    self._kb_count()
            except (EkcError, OfflineError):
                pass
            if not self.sleep(self.console.settings.kb_sync_seconds):
                return

    @work(thread=True, group="kb-sync", exit_on_error=False)
    def _kb_open(self) -> None:
        self._kb_count()

    def _kb_count(self) -> None:
        self.post_message(KbCount(self.desk.kb.index.count()))

    @work(thread=True, exclusive=True, group="reference", exit_on_error=False)
    def _load_reference(self) -> None:
        from ekc_core.errors import EkcError
        from ekc_tui.desk import OfflineError

        try:
            ref = self.desk.reference()
        except (EkcError, OfflineError) as exc:
            self.notice(f"Справочники недоступны: {exc}", severity="error")
            return
        self.post_message(ReferenceLoaded(ref))

    # --- taking a contact, contacts held ------------------------------------------------

    @work(thread=True, exclusive=True, group="card", exit_on_error=False)
    def _take(self, contact: ContactPublic) -> None:
        from ekc_tui import taking

        taking.take(self, contact)

    @work(thread=True, exclusive=True, group="held", exit_on_error=False)
    def _check_held(self) -> None:
        from ekc_tui import taking

        taking.check_held(self)

    def on_held_contacts(self, message: HeldContacts) -> None:
        """Offer to reopen a contact the server says this operator still holds."""
        from ekc_tui import taking
        from ekc_tui.screens import ConfirmScreen

        message.stop()
        console = self.console
        if console.card is not None or console.taking is not None or console.stopping:
            return

        def answer(yes: object) -> None:
            if yes and console.card is None:
                self._open_held(message.contacts[0])

        console.push_screen(ConfirmScreen(taking.held_question(message.contacts)), answer)

    @work(thread=True, exclusive=True, group="card", exit_on_error=False)
    def _open_held(self, contact: ContactPublic) -> None:
        from ekc_tui import taking

        taking.open_held(self, contact)
