"""The console never dies of an error (issue 10, point 6): a failure is injected into each
of its workers in turn (the desk call the worker makes raises), against the real backend;
the console keeps running, says so in Russian, logs the traceback and still answers keys.
A 401 brings the sign-in screen with the open card kept; no answer shows "нет связи".
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

import ekc_tui
from ekc_core.enums import ContactStatus
from ekc_core.errors import AuthenticationRequiredError, ServerUnreachableError
from ekc_core.schemas import CallbackCreate, ContactPublic
from ekc_tui.app import EkcConsole
from ekc_tui.outbox import new_key, step
from ekc_tui.panes.callbacks import CallbacksPane
from ekc_tui.panes.card import CardPane
from ekc_tui.panes.history import HistoryPane
from ekc_tui.screens import HelpScreen, LoginScreen, PickerScreen
from tests.tui_support import (
    PASSWORD,
    Backend,
    citizen_with_history,
    post_call,
    record_notes,
    settings_for,
    signed_in,
    status_text,
    wait_for,
)
from tests.tui_support import contact as make_contact

pytestmark = pytest.mark.usefixtures("empty_queue")

BOOM = "сбой для проверки"


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(BOOM)


class Patch:
    """Instance attributes shadowing methods, removed again on `undo`."""

    def __init__(self) -> None:
        self._done: list[tuple[object, str]] = []

    def __call__(self, obj: object, name: str, value: Any = boom) -> None:
        setattr(obj, name, value)
        self._done.append((obj, name))

    def undo(self) -> None:
        for obj, name in reversed(self._done):
            delattr(obj, name)
        self._done.clear()


Step = Callable[[EkcConsole, Pilot[None], Backend, Patch], Awaitable[None]]


async def nothing(app: EkcConsole, pilot: Pilot[None], backend: Backend, patch: Patch) -> None:
    return None


async def keys_work(app: EkcConsole, pilot: Pilot[None], backend: Backend, patch: Patch) -> None:
    """F1 opens the help and Esc closes it: the console answers the keyboard."""
    await pilot.press("f1")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is app.main, what="back to the console")


@dataclass
class Injection:
    before: Callable[[EkcConsole, Patch], None]
    """Patches made before the console starts (workers that run at sign-in)."""
    trigger: Step = nothing
    """What the operator does that starts the worker (patches made here too)."""
    after: Step = keys_work
    """Once the failure is handled (patches undone): the console still works."""
    background: bool = False
    login: bool = True


def before_nothing(app: EkcConsole, patch: Patch) -> None:
    return None


def at_start(*names: str) -> Callable[[EkcConsole, Patch], None]:
    def before(app: EkcConsole, patch: Patch) -> None:
        for name in names:
            patch(app.desk, name)

    return before


def on_kb(name: str) -> Callable[[EkcConsole, Patch], None]:
    def before(app: EkcConsole, patch: Patch) -> None:
        patch(app.desk.kb.index, name)

    return before


async def login_screen(app: EkcConsole, pilot: Pilot[None]) -> None:
    await wait_for(
        pilot,
        # mounted and focused by its own on_mount (login or password; the server field is
        # only Textual's auto focus, which the form's deferred focus replaces later)
        lambda: (
            isinstance(app.screen, LoginScreen)
            and getattr(app.screen.focused, "id", None) in ("username", "password")
        ),
        what="login screen",
    )


async def type_password(app: EkcConsole, pilot: Pilot[None], operator: str) -> None:
    """Fill the login, put the cursor in the password, type it and press Enter."""
    app.screen.query_one("#username").value = operator  # type: ignore[attr-defined]
    password = app.screen.query_one("#password")
    password.focus()
    await wait_for(pilot, lambda: app.screen.focused is password, what="password focused")
    await pilot.press(*PASSWORD, "enter")


async def sign_in_again(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await login_screen(app, pilot)
    assert "Не удалось войти" in str(app.screen.query_one("#login-error").render())
    await type_password(app, pilot, backend.operator)
    await wait_for(pilot, lambda: app.desk.me is not None, what="signed in after the failure")


async def sign_in_form(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await login_screen(app, pilot)
    p(app.desk, "sign_in")
    await type_password(app, pilot, backend.operator)


async def the_loop_runs_again(name: str, app: EkcConsole, pilot: Pilot[None]) -> None:
    await wait_for(
        pilot,
        lambda: any(w.name == name and not w.is_finished for w in app.workers),
        what=f"{name} started again",
    )


async def offers_again(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await the_loop_runs_again("_offers_loop", app, pilot)
    contact_id = post_call(backend, "+79025550901")
    await wait_for(pilot, lambda: any(c.id == contact_id for c in app.offers), what="offer")


async def outbox_item(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await signed_in(app, pilot)
    p(app.desk, "flush")
    app.desk.enqueue(new_key(), "Проверка связи", [step("me", "/me", method="GET")])


async def outbox_again(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await the_loop_runs_again("_outbox_loop", app, pilot)
    await wait_for(pilot, lambda: app.desk.unsent() == 0, what="the item sent after the restart")


def restarted(name: str) -> Step:
    async def after(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
        await the_loop_runs_again(name, app, pilot)
        await keys_work(app, pilot, backend, p)

    return after


async def take_offer(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await signed_in(app, pilot)
    contact_id = post_call(backend, "+79025550902")
    await wait_for(pilot, lambda: any(c.id == contact_id for c in app.offers), what="offer")
    p(app.desk, "take")
    await pilot.press("f2")


async def manual_card(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await signed_in(app, pilot)
    p(app.desk, "find_citizens")
    await pilot.press("ctrl+n", *"Сбоев Иван", "enter")


async def known_caller(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    phone = "+79025550903"
    citizen_with_history(backend, phone, "Известный")
    await signed_in(app, pilot)
    p(app.desk, "open_citizen")
    await pilot.press("ctrl+n", *phone, "enter")


async def an_appeal(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await signed_in(app, pilot)
    p(app.desk, "appeal")
    app.main.query_one(HistoryPane)._show_appeal(1)


async def kb_typing(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await signed_in(app, pilot)
    p(app.desk.kb.index, "search")
    await pilot.press("f3", *"контракт")


async def kb_again(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await the_loop_runs_again("_kb_pump", app, pilot)
    app.main.query_one("#kb-query").value = ""  # type: ignore[attr-defined]
    await pilot.press("f3", *"субсидия")
    await wait_for(pilot, lambda: bool(app.kb_hits), what="search works again")


async def suggest(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await signed_in(app, pilot)
    p(app.desk.kb.index, "more_like_this")
    p(app.desk.kb.index, "search")
    contact_id = post_call(backend, "+79025550904", transcript="выплаты по контракту")
    await wait_for(pilot, lambda: any(c.id == contact_id for c in app.offers), what="offer")
    await pilot.press("f2")


async def close_picker(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    """The unknown caller's citizen picker is up: Esc, then the keys."""
    await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="citizen picker")
    await pilot.press("escape")
    await keys_work(app, pilot, backend, p)


async def flush_now(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await signed_in(app, pilot)
    p(app.desk, "flush")
    app.controller._flush_now()


async def a_callback(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    citizen_id = citizen_with_history(backend, "+79025550905", "Перезвонова")
    with backend.admin() as admin:
        task = admin.create_callback(
            CallbackCreate(
                citizen_id=citizen_id,
                reason="Проверка",
                due_at=datetime.now(UTC) + timedelta(hours=1),
                assignee_id=backend.operator_id,
            )
        )
    await signed_in(app, pilot)
    p(app.desk, "open_citizen")
    app.main.query_one(CallbacksPane)._open_callback(task)


def held_contact() -> ContactPublic:
    now = datetime.now(UTC)
    return make_contact(
        999_999,
        status=ContactStatus.active,
        caller_number="+79025550906",
        citizen_id=77,
        queued_at=now,
        answered_at=now,
    )


async def open_held(app: EkcConsole, pilot: Pilot[None], backend: Backend, p: Patch) -> None:
    await signed_in(app, pilot)
    p(app.desk, "open_citizen")
    app.controller._open_held(held_contact())


async def open_wallboard(
    app: EkcConsole, pilot: Pilot[None], backend: Backend, patch: Patch
) -> None:
    from ekc_tui.wallboard import WallboardScreen

    await signed_in(app, pilot)
    patch(app.desk, "call")  # the board's long poll is the only worker calling now
    await app.push_screen(WallboardScreen(standalone=False))


async def close_wallboard(
    app: EkcConsole, pilot: Pilot[None], backend: Backend, patch: Patch
) -> None:
    await pilot.press("escape")
    await keys_work(app, pilot, backend, patch)


INJECTIONS: dict[str, Injection] = {
    "_start": Injection(at_start("sign_in"), after=sign_in_again),
    "_sign_in": Injection(before_nothing, sign_in_form, sign_in_again, login=False),
    "_offers_loop": Injection(at_start("offers"), after=offers_again, background=True),
    "_outbox_loop": Injection(before_nothing, outbox_item, outbox_again, background=True),
    "_heartbeat_loop": Injection(
        at_start("heartbeat"), after=restarted("_heartbeat_loop"), background=True
    ),
    "_kb_loop": Injection(at_start("sync_kb"), after=restarted("_kb_loop"), background=True),
    "_kb_open": Injection(on_kb("count")),
    "_kb_pump": Injection(before_nothing, kb_typing, kb_again),
    "_kb_suggest": Injection(before_nothing, suggest, close_picker, background=True),
    "_take": Injection(before_nothing, take_offer, background=True),
    "_identify": Injection(before_nothing, manual_card),
    "_open_citizen": Injection(before_nothing, known_caller),
    "_show_appeal": Injection(before_nothing, an_appeal),
    "_flush_now": Injection(before_nothing, flush_now),
    "_open_callback": Injection(before_nothing, a_callback),
    "_load_callbacks": Injection(at_start("callbacks")),
    "_load_reference": Injection(at_start("reference")),
    "_check_held": Injection(at_start("my_contacts")),
    "_open_held": Injection(before_nothing, open_held),
    # issue 12, wallboard: the lead's board (its long poll dies; Esc leaves it)
    "_poll": Injection(before_nothing, open_wallboard, after=close_wallboard),
}


def test_every_worker_of_the_console_is_covered_and_none_ends_the_app() -> None:
    """Every `@work` in the console says `exit_on_error=False`, and the table above names
    every one of them (a new worker must be added to it)."""
    workers: dict[str, bool] = {}
    for path in Path(ekc_tui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "work":
                    keywords = {k.arg: k.value for k in deco.keywords}
                    off = keywords.get("exit_on_error")
                    workers[node.name] = isinstance(off, ast.Constant) and off.value is False
    assert set(workers) == set(INJECTIONS)
    assert all(workers.values()), [name for name, off in workers.items() if not off]


@pytest.mark.parametrize("worker", sorted(INJECTIONS))
async def test_a_failing_worker_leaves_the_console_usable(
    worker: str,
    backend: Backend,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    injection = INJECTIONS[worker]
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    login = (backend.operator, PASSWORD) if injection.login else None
    app = EkcConsole(settings, login=login, background=injection.background)
    app.loop_restart_seconds = 0.2
    said = record_notes(app, monkeypatch)
    patch = Patch()
    injection.before(app, patch)
    caplog.set_level(logging.ERROR, logger="ekc_tui")
    async with app.run_test(size=(100, 30)) as pilot:
        await injection.trigger(app, pilot, backend, patch)
        await wait_for(
            pilot,
            lambda: any(f.worker == worker for f in app.worker_failures),
            what=f"the failure of {worker}",
        )
        failure = next(f for f in app.worker_failures if f.worker == worker)
        assert (failure.kind, str(failure.error)) == ("error", BOOM)
        assert app.is_running
        assert any(n.startswith("Сбой консоли") and BOOM in n for n in said), said
        logged = [r for r in caplog.records if r.exc_info and worker in r.getMessage()]
        assert logged and logged[0].exc_info is not None
        assert logged[0].exc_info[1] is failure.error  # the traceback is in the log
        patch.undo()
        await injection.after(app, pilot, backend, patch)
        assert app.is_running


async def test_a_401_in_a_worker_asks_to_sign_in_and_keeps_the_open_card(
    backend: Backend, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD), background=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        await pilot.press("ctrl+n", *"Входов Пётр", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main and app.card is not None)
        app.main.query_one("#summary", TextArea).text = "Гражданин спросил о субсидии"
        key = app.card.key if app.card else ""

        def expired(*args: Any, **kwargs: Any) -> Any:
            raise AuthenticationRequiredError("токен истёк", status_code=401)

        monkeypatch.setattr(app.desk, "find_citizens", expired)
        app.main.query_one(CardPane)._identify("Входов")
        await login_screen(app, pilot)
        assert [f.kind for f in app.worker_failures] == ["auth"]
        # the work is kept: on screen and as the draft a restart would bring back
        assert app.card is not None and app.card.key == key
        draft = app.desk.store.get("draft")
        assert draft["key"] == key and draft["summary"] == "Гражданин спросил о субсидии"
        monkeypatch.undo()
        await pilot.press(*PASSWORD, "enter")
        await wait_for(pilot, lambda: app.screen is app.main, what="back at the card")
        assert app.card is not None and app.card.key == key
        assert app.main.query_one("#summary", TextArea).text == "Гражданин спросил о субсидии"


async def test_no_answer_in_a_worker_shows_the_offline_state(
    backend: Backend, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD), background=False)
    said = record_notes(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        assert "на связи" in status_text(app)

        def away(*args: Any, **kwargs: Any) -> Any:
            raise ServerUnreachableError("сервер не ответил вовремя")

        monkeypatch.setattr(app.desk, "find_citizens", away)
        app.main.query_one(CardPane)._identify("Связев")
        await wait_for(pilot, lambda: "нет связи" in status_text(app), what="offline state")
        assert [f.kind for f in app.worker_failures] == ["offline"]
        assert not any(n.startswith("Сбой консоли") for n in said)
        await keys_work(app, pilot, backend, Patch())
