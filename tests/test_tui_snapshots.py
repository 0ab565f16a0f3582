"""Snapshots (SVG) of the console's main screens at 80x24 and 120x40.

The console runs offline over a local store filled once from the real backend, with a card
built from fixed data, so that every run draws the same screen. After a deliberate change
of the layout, refresh the files with `EKC_UPDATE_SNAPSHOTS=1 pytest tests/test_tui_snapshots.py`
and look at them (any browser shows SVG) before committing.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList

from ekc_core.credentials import save_credentials
from ekc_core.enums import AppealKind, AppealStatus, ContactStatus
from ekc_core.schemas import (
    AppealPublic,
    CitizenHistory,
    CitizenPublic,
    Handoff,
    HistoryItem,
    Page,
)
from ekc_tui.app import EkcConsole
from ekc_tui.cards import Card
from ekc_tui.messages import CardReady
from tests.tui_support import PASSWORD, settings_for, wait_for
from tests.tui_support import citizen as make_citizen
from tests.tui_support import contact as make_contact

SNAPSHOTS = Path(__file__).parent / "snapshots"
DEAD = "http://127.0.0.1:9"
AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def fixed_card() -> tuple[Card, CitizenPublic, CitizenHistory]:
    contact = make_contact(
        900001,
        status=ContactStatus.active,
        caller_number="+79025550101",
        citizen_id=77,
        operator_id=1,
        external_id="snap-1",
        handoff=Handoff(
            transcript="Муж заключил контракт, когда придёт единовременная выплата?",
            detected_topic="svo.one_time_payments",
            detected_emotion="тревога",
        ),
        queued_at=AT,
        answered_at=AT,
    )
    citizen = make_citizen(
        77, "Карточкина", "Мария", "+79025550101", settlement="Братск", middle="Ивановна"
    )
    appeal = AppealPublic(
        id=5,
        number="122-2026-000005",
        citizen_id=77,
        contact_id=None,
        kind=AppealKind.appeal_59fz,
        topic_code="svo.one_time_payments",
        summary="Не поступила единовременная выплата",
        description="",
        status=AppealStatus.forwarded,
        complex=True,
        agency_code="minsoc_io",
        received_at=datetime(2026, 10, 1, 10, 0, tzinfo=UTC),
        registered_at=datetime(2026, 10, 1, 10, 0, tzinfo=UTC),
        register_due=None,
        forward_due=None,
        answer_due=datetime(2026, 10, 31, 10, 0, tzinfo=UTC),
        extension_days=0,
        forwarded_at=None,
        resolved_at=None,
        closed_at=None,
        assignee_id=None,
        overdue=True,
        version=1,
    )
    earlier = contact.model_copy(
        update={
            "id": 900000,
            "status": ContactStatus.done,
            "topic_code": "svo.contract",
            "summary": "Консультация по документам для контракта",
            "queued_at": datetime(2026, 9, 14, 8, 0, tzinfo=UTC),
        }
    )
    history = CitizenHistory(
        citizen=citizen,
        open_appeals=1,
        overdue_appeals=1,
        open_callbacks=0,
        page=Page[HistoryItem](
            items=[
                HistoryItem(kind="contact", at=AT, contact=contact),
                HistoryItem(kind="appeal", at=appeal.registered_at, appeal=appeal),
                HistoryItem(kind="contact", at=earlier.queued_at, contact=earlier),
            ],
            total=3,
            offset=0,
            limit=50,
        ),
    )
    card = Card.offered(contact)
    card.key = "snapshot"
    card.clock = lambda: card.started + 95.5  # 01:35 (.5: no float rounding down to 94)
    return card, citizen, history


@pytest.fixture(scope="module")
def offline_console_dir(backend, tmp_path_factory) -> Path:
    """A console store filled from the backend once (reference data, KB, login)."""
    import asyncio

    tmp: Path = tmp_path_factory.mktemp("snap")
    settings = settings_for(tmp, backend.url, kb_from=backend.kb_template)

    async def fill() -> None:
        app = EkcConsole(settings, login=("op_tui", PASSWORD), background=False)
        async with app.run_test() as pilot:
            await wait_for(pilot, lambda: app.ref is not None)
            app.desk.sync_kb()
            app.desk.callbacks()

    asyncio.run(fill())
    creds = EkcConsole(settings).desk.saved_login()
    assert creds is not None
    save_credentials(settings.config_dir, creds.model_copy(update={"server_url": DEAD}))
    return tmp


def normalise(svg: str) -> str:
    # ids Rich derives from the content hash; the rest of the SVG is what was drawn
    return re.sub(r"terminal-\d+", "terminal", svg)


def check_snapshot(name: str, svg: str) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("EKC_UPDATE_SNAPSHOTS") or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        if not os.environ.get("EKC_UPDATE_SNAPSHOTS"):
            pytest.fail(f"new snapshot {path.name} written: look at it and commit it")
        return
    expected = path.read_text(encoding="utf-8")
    if normalise(expected) != normalise(svg):
        actual = path.with_suffix(".actual.svg")
        actual.write_text(svg, encoding="utf-8")
        pytest.fail(f"{path.name} differs from the screen: compare it with {actual.name}")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("view", ["idle", "card", "history", "wrapup"])
async def test_main_screens(offline_console_dir: Path, size: tuple[int, int], view: str):
    settings = settings_for(offline_console_dir, DEAD)
    app = EkcConsole(settings, background=False)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.ref is not None and app.kb_count > 0)
        if view != "idle":
            card, citizen, history = fixed_card()
            app.post_message(CardReady(card, citizen, history))
            await wait_for(pilot, lambda: app.card is not None and len(app.kb_hits) > 0)
        if view == "history":
            await pilot.press("f4")
        if view == "wrapup":
            await pilot.press("f5")
        for field in app.query(Input):
            field.cursor_blink = False  # a blinking cursor would make two runs differ
        # the suggestions may be drawn twice (card, then the cleared query): settle both,
        # then put the list at its top so the scrollbar is drawn the same each run
        await pilot.pause(0.3)
        app.main.query_one("#kb-results", OptionList).scroll_home(animate=False)
        # let the footer and the tables settle (bindings refresh after the card arrives)
        for _ in range(3):
            await pilot.pause(0.2)
            await pilot.wait_for_scheduled_animations()
        svg = app.export_screenshot()
    check_snapshot(f"console_{view}_{size[0]}x{size[1]}", svg)
