"""The wallboard screen (F10 for leads and admins, `ekc --wallboard`): figures from the real
backend, clocks that tick without the network, an alert when a threshold is crossed, the
operators' table; one SVG snapshot of a fixed board at 80x24."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ekc_core.credentials import Credentials, save_credentials
from ekc_core.presence import Activity
from ekc_core.wallboard import AgentRow, QueueFigure, ServiceLevel, Wallboard
from ekc_tui.app import EkcConsole
from ekc_tui.messages import BoardChanged
from ekc_tui.wallboard import OperatorsTable, Tile, WallboardScreen
from tests.test_tui_snapshots import DEAD, check_snapshot, offline_console_dir  # noqa: F401
from tests.tui_support import post_call, record_notes, settings_for, wait_for

pytestmark = pytest.mark.usefixtures("empty_queue")


def tile(app: EkcConsole, name: str) -> str:
    shown = app.screen.query_one(f"#t-{name}", Tile).shown
    return " | ".join(shown or ())


def as_admin(backend, tmp_path: Path, **overrides: object) -> EkcConsole:
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    for name, value in overrides.items():
        setattr(settings, name, value)
    save_credentials(
        settings.config_dir,
        Credentials(server_url=backend.url, username="admin_tui", token=backend.admin_token),
    )
    return EkcConsole(settings)


async def test_f10_opens_the_wallboard_for_a_lead(backend, tmp_path, monkeypatch) -> None:
    app = as_admin(backend, tmp_path, wallboard_wait=2.0, wallboard_wait_alert_seconds=2)
    async with app.run_test(size=(100, 30)) as pilot:
        notes = record_notes(app, monkeypatch)
        await wait_for(pilot, lambda: app.presence is not None and app.desk.me is not None)
        await pilot.press("f10")
        await wait_for(pilot, lambda: isinstance(app.screen, WallboardScreen), what="board")
        board_screen = app.screen
        assert isinstance(board_screen, WallboardScreen)
        await wait_for(pilot, lambda: board_screen.board is not None, what="first board")
        assert tile(app, "122").startswith("0 ждут")
        post_call(backend, "+79025550177")
        await wait_for(pilot, lambda: tile(app, "122").startswith("1 ждут"), what="the call")
        boards = board_screen.board
        first = tile(app, "122")
        # "макс. 00:0N" moves on with the console's own clock (a busy machine may take
        # longer than the one-second tick), without a new board from the backend
        await wait_for(pilot, lambda: tile(app, "122") != first, what="the clock")
        assert board_screen.board is boards
        # a call waiting longer than 2 s: the tile turns red and an alert shows once
        await wait_for(pilot, lambda: "bad" in tile(app, "122"), what="red tile")
        await wait_for(pilot, lambda: any("Линия 122: звонок ждёт" in n for n in notes))
        assert sum("Линия 122" in n for n in notes) == 1
        names = [r.name for r in board_screen.query_one(OperatorsTable).rows_shown]
        assert names  # the admin signed in to a console: on the line
        await pilot.press("f2")  # the console's keys do not act beneath the board
        assert app.taking is None
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, WallboardScreen))


async def test_an_operator_has_no_wallboard(backend, tmp_path, monkeypatch) -> None:
    from tests.tui_support import PASSWORD

    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD), wallboard=True)
    async with app.run_test(size=(100, 30)) as pilot:
        notes = record_notes(app, monkeypatch)
        await wait_for(pilot, lambda: app.presence is not None, what="the console instead")
        assert not isinstance(app.screen, WallboardScreen)
        await pilot.press("f10")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, WallboardScreen)
        assert "wallboard" not in {b.binding.action for b in app.active_bindings.values()}
    assert any("Табло — для старших смены" in n for n in notes), notes


def fixed_board() -> Wallboard:
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

    def ago(seconds: int) -> datetime:
        return at - timedelta(seconds=seconds)

    names = ["Романов Л. Р.", "Иванова А. П.", "Петров С. И.", "Сидорова Е. В.", "Ким О. Л."]
    acts = [Activity.free, Activity.contact, Activity.contact, Activity.acw, Activity.away]
    since = [35, 95, 250, 200, 1500]
    return Wallboard(
        version="snap",
        at=at,
        lines={
            "117": QueueFigure(waiting=1, oldest=ago(12)),
            "122": QueueFigure(waiting=4, oldest=ago(95)),
        },
        written=QueueFigure(waiting=2, oldest=ago(700)),
        sl_today=ServiceLevel(offered=180, answered_in=153, value=153 / 180),
        sl_30m=ServiceLevel(offered=24, answered_in=17, value=17 / 24),
        callbacks_due=7,
        callbacks_overdue=2,
        appeals_due_today=3,
        agents=[
            AgentRow(id=i + 1, name=n, act=a, since=ago(s), reason="lunch" if a == "away" else None)
            for i, (n, a, s) in enumerate(zip(names, acts, since, strict=True))
        ],
        offline=41,
    )


async def test_wallboard_snapshot(offline_console_dir: Path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(WallboardScreen, "_poll", lambda self: None)  # a fixed board only
    board = fixed_board()
    monkeypatch.setattr(WallboardScreen, "now", lambda self: board.at.timestamp() + 0.5)
    app = EkcConsole(settings_for(offline_console_dir, DEAD), background=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.ref is not None)
        screen = WallboardScreen(standalone=True)
        await app.push_screen(screen)
        screen.post_message(BoardChanged(board, 0.0))
        await wait_for(pilot, lambda: screen.board is not None)
        app.clear_notifications()  # the alerts of this board: their toasts time out
        for _ in range(3):
            await pilot.pause(0.2)
        svg = app.export_screenshot()
    check_snapshot("wallboard_80x24", svg)
