"""A console left running: what its once-a-second tick redraws (bench/console_soak.py has
the numbers). No backend: the console starts offline with a saved login."""

from __future__ import annotations

import gc
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from textual.widgets import Footer
from textual.widgets._footer import FooterKey
from textual.worker import WorkerState

from ekc_core.credentials import Credentials, save_credentials
from ekc_core.enums import Channel, Line
from ekc_tui import failures, manual
from ekc_tui.app import EkcConsole
from ekc_tui.desk import OfflineError
from ekc_tui.forms import ManualRequest
from ekc_tui.settings import ConsoleSettings
from ekc_tui.widgets import CardPanel, StatusBar
from tests.tui_support import wait_for

NOWHERE = "http://127.0.0.1:9"  # nothing listens: the console works offline


def offline_console(tmp_path: Path) -> EkcConsole:
    settings = ConsoleSettings(
        server_url=NOWHERE, console_dir=tmp_path / "console", config_dir=tmp_path / "config"
    )
    save_credentials(
        settings.config_dir, Credentials(server_url=NOWHERE, username="op_soak", token="t")
    )
    return EkcConsole(settings, background=False)


async def test_the_tick_with_a_card_open_keeps_the_footer_and_an_unchanged_status(tmp_path):
    """Before: every tick with a card open rebuilt the footer (refresh_bindings → Footer
    recompose: ~20 widgets removed and mounted a second) and re-laid out the screen for a
    status bar that had not changed: a third of a core on a thin client."""
    app = offline_console(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.desk.username == "op_soak" and app.screen is app.main)
        manual.open_manual(app, ManualRequest(channel=Channel.phone, line=Line.l122, text=""))
        await wait_for(pilot, lambda: app.card is not None, what="the manual card")
        await pilot.pause(0.2)
        footer = app.main.query_one(Footer)
        await wait_for(pilot, lambda: len(footer.children) > 0, what="the footer's keys")
        keys = list(footer.children)
        status = app.main.query_one(StatusBar)
        app._tick()
        await pilot.pause()
        drawn: list[str] = []
        status.update = lambda *a, **k: drawn.append("status")  # type: ignore[method-assign]
        for _ in range(3):
            app._tick()
            app.show_card()  # as each queue change does
            await pilot.pause()
        assert list(footer.children) == keys, "the footer was rebuilt by the clock tick"
        assert all(a is b for a, b in zip(footer.children, keys, strict=True))
        assert drawn == [], "an unchanged status bar was drawn again"
        assert "разговор" in str(app.main.query_one(CardPanel).render())  # the clock still runs


async def test_rebuilding_the_footer_keeps_no_removed_keys_alive(tmp_path):
    """Before: Textual's Footer kept every FooterKey it had ever composed (a data-bind
    watcher per key on the footer, never pruned): the footer is rebuilt on each card
    opened or saved, queue change and focus move, ~100 KB each, for the whole shift."""
    app = offline_console(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.desk.username == "op_soak" and app.screen is app.main)
        footer = app.main.query_one(Footer)
        await wait_for(pilot, lambda: len(footer.children) > 0, what="the footer's keys")
        before = footer_keys_alive()
        for _ in range(30):
            app.refresh_bindings()
            await pilot.pause()
        # a leak keeps every rebuild's keys: ~6 × 30 here. Allowed: one footer's worth more
        # than before (the last recompose may still hold its old keys, and the line key F12
        # appears once the console knows the operator's state, whenever that lands)
        allowed = before + len(footer.children) + 1
        await wait_for(
            pilot, lambda: footer_keys_alive() <= allowed, timeout=5, what="old footer keys freed"
        )


def footer_keys_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))


def test_a_shift_of_worker_failures_keeps_only_the_newest(tmp_path):
    """Before: every failed worker stayed in `worker_failures` with its traceback (frames
    and their locals) for the whole session: on a bad link, a growing pile."""
    app = offline_console(tmp_path)
    for n in range(failures.KEEP + 30):
        worker = SimpleNamespace(name="_identify", group="citizen", error=OfflineError(str(n)))
        failures.handle(app, cast(Any, SimpleNamespace(state=WorkerState.ERROR, worker=worker)))
    assert len(app.worker_failures) == failures.KEEP
    assert str(app.worker_failures[-1].error) == str(failures.KEEP + 29)
    app.desk.close()


async def test_the_tick_does_not_draw_the_handoff_again(tmp_path):
    """Before: every tick with a card open drew the hand-off block again and lemmatised its
    transcript for the suggested topic (pymorphy over the transcript and every sub-topic):
    7.5 % of a core on the main thread with a card left open."""
    from ekc_tui.messages import CardReady
    from ekc_tui.panes.card import HandoffBlock
    from tests.test_tui_snapshots import fixed_card

    app = offline_console(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.desk.username == "op_soak" and app.screen is app.main)
        card, citizen, history = fixed_card()
        app.post_message(CardReady(card, citizen, history))
        await wait_for(pilot, lambda: app.card is not None, what="card")
        await pilot.pause(0.2)
        block = app.main.query_one(HandoffBlock)
        drawn: list[str] = []
        real_update = block.update

        def spy(*args: Any, **kwargs: Any) -> None:
            drawn.append("handoff")
            real_update(*args, **kwargs)

        block.update = spy  # type: ignore[method-assign]
        for _ in range(5):
            app._tick()
            await pilot.pause()
        assert drawn == [], "the clock tick drew the hand-off again"
        second, *_ = fixed_card()
        app.card = None
        app.post_message(CardReady(second, citizen, history))  # a new card: drawn again
        await wait_for(pilot, lambda: drawn != [], what="the new card's hand-off")
