"""Ready / away at the console (F12) against a real backend: the state after sign-in, the
reason dialog, the footer and status bar, no queue polling while away, and a change made
offline that reaches the backend later with the time it happened."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from ekc_core.credentials import save_credentials
from ekc_server.db import create_db_engine
from ekc_server.models_performance import AgentPresence, AgentStateEvent
from ekc_tui.app import EkcConsole
from ekc_tui.presence_dialog import ReasonScreen
from tests.tui_support import PASSWORD, card_text, settings_for, signed_in, status_text, wait_for

pytestmark = pytest.mark.usefixtures("empty_queue")

DEAD = "http://127.0.0.1:9"


def server_state(backend, operator_id: int) -> tuple[str, str | None] | None:
    engine = create_db_engine(backend.db_url)
    with Session(engine) as session:
        row = session.get(AgentPresence, operator_id)
        result = (row.state, row.reason) if row is not None else None
    engine.dispose()
    return result


def logged(backend, operator_id: int) -> list[tuple[str, str | None, datetime]]:
    engine = create_db_engine(backend.db_url)
    with Session(engine) as session:
        rows = session.exec(
            select(AgentStateEvent)
            .where(AgentStateEvent.staff_id == operator_id)
            .order_by(col(AgentStateEvent.id))
        ).all()
        result = [(e.state, e.reason, e.at) for e in rows]
    engine.dispose()
    return result


def footer_keys(app: EkcConsole) -> set[str]:
    return {b.binding.action for b in app.active_bindings.values() if b.enabled}


async def test_f12_away_with_a_reason_and_back(backend, tmp_path) -> None:
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        # signed in: on the line, at the backend too
        await wait_for(pilot, lambda: server_state(backend, backend.operator_id) == ("ready", None))
        assert "на линии" in status_text(app)
        assert "presence" in footer_keys(app)

        await pilot.press("f12")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonScreen), what="reasons")
        pressed = datetime.now(UTC)
        await pilot.press("2")  # обед
        await wait_for(
            pilot, lambda: server_state(backend, backend.operator_id) == ("away", "lunch")
        )
        assert "не на линии: обед" in status_text(app)
        assert "в очереди: —" in status_text(app)  # the queue is not polled
        assert "Не на линии (обед)" in card_text(app)
        state, reason, at = logged(backend, backend.operator_id)[-1]
        assert (state, reason) == ("away", "lunch") and abs(at - pressed) < timedelta(seconds=2)
        # the long poll stops (a busy machine may take more than a moment)
        await wait_for(
            pilot,
            lambda: all(w.is_finished for w in app.controller.workers if w.group == "offers"),
            what="the offers long poll to stop",
        )
        await pilot.press("f2")
        assert app.taking is None and app.card is None  # no take while away

        await pilot.press("f12")  # back on the line
        await wait_for(pilot, lambda: server_state(backend, backend.operator_id) == ("ready", None))
        assert "на линии" in status_text(app) and "не на линии" not in status_text(app)
        await wait_for(
            pilot,
            lambda: any(not w.is_finished for w in app.controller.workers if w.group == "offers"),
            what="the queue polled again",
        )
        # Esc in the dialog: stays on the line
        await pilot.press("f12")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonScreen))
        await pilot.press("escape")
        assert app.presence is not None and app.presence.state == "ready"


async def test_away_offline_reaches_the_backend_later_with_its_time(backend, tmp_path) -> None:
    online = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(online, login=(backend.operator, PASSWORD), background=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.ref is not None)
        await wait_for(pilot, lambda: server_state(backend, backend.operator_id) == ("ready", None))
    creds = app.desk.saved_login()
    assert creds is not None
    # the link is down: away (training) is kept in the outbox
    save_credentials(online.config_dir, creds.model_copy(update={"server_url": DEAD}))
    app = EkcConsole(settings_for(tmp_path, DEAD), background=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.presence is not None and app.ref is not None)
        assert "нет связи" in status_text(app)
        await pilot.press("f12", "3")
        pressed = datetime.now(UTC)
        await wait_for(pilot, lambda: app.presence is not None and app.presence.away)
        assert app.desk.store.background_pending() >= 2  # ready at the start, then away
        assert app.desk.unsent() == 0  # not counted as unsent work
    assert server_state(backend, backend.operator_id) == ("ready", None)
    time.sleep(1.5)  # the record must keep the time of F12, not of the sending
    # the link is back: sent, with the time it happened; the console comes back away
    save_credentials(online.config_dir, creds)
    app = EkcConsole(online, background=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot, lambda: server_state(backend, backend.operator_id) == ("away", "training")
        )
        await wait_for(pilot, lambda: app.desk.store.background_pending() == 0)
        assert app.presence is not None and app.presence.away  # a crash while away: away
    away = [e for e in logged(backend, backend.operator_id) if e[1] == "training"]
    assert away and abs(away[0][2] - pressed) < timedelta(seconds=1)


async def test_ctrl_q_sends_offline_before_closing(backend, tmp_path) -> None:
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        await wait_for(pilot, lambda: server_state(backend, backend.operator_id) == ("ready", None))
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what="closed")
    assert server_state(backend, backend.operator_id) == ("offline", None)


async def test_back_from_a_long_outage_the_state_is_sent_again(backend, tmp_path) -> None:
    """The backend counted the silent console offline; when the link returns after 30 s or
    more the console sends its state again, and the operator is on the line there too."""
    from sqlalchemy import update

    from ekc_tui import presence

    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        await wait_for(pilot, lambda: server_state(backend, backend.operator_id) == ("ready", None))
        engine = create_db_engine(backend.db_url)
        with Session(engine) as session:  # silent for 10 minutes
            session.execute(
                update(AgentPresence)
                .where(col(AgentPresence.staff_id) == backend.operator_id)
                .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=10))
            )
            session.commit()
        engine.dispose()
        with backend.admin() as admin:
            row = next(a for a in admin.agents().agents if a.staff_id == backend.operator_id)
        assert (row.state.value, row.reason) == ("offline", "silent")
        presence.link_changed(app, False)
        assert app.presence is not None and app.presence.down_since is not None
        app.presence.down_since -= 45  # the link was down for 45 s
        presence.link_changed(app, True)
        await wait_for(pilot, lambda: server_state(backend, backend.operator_id) == ("ready", None))
