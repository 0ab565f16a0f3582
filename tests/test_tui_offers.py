"""Offers by group in the console (issue 14, point 3): the queue pane lists only what the
backend offers this operator, with the group and the reason; the card says them too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import DataTable

from ekc_core.schemas import ContactPublic
from ekc_tui.app import EkcConsole
from ekc_tui.messages import OffersChanged
from ekc_tui.panes.queue import QueuePane
from tests.tui_support import PASSWORD, card_text, post_call, settings_for, signed_in, wait_for
from tests.tui_support import contact as make_contact

pytestmark = pytest.mark.usefixtures("empty_queue")


def row_texts(table: DataTable[str]) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_the_queue_shows_only_what_is_offered_with_group_and_reason(backend, tmp_path):
    """op_tui is in СВО, ЖКХ, medicine and the general group: a transport call is not
    offered to them before its overflow (60 s), an SVO one is, at once."""
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        transport = post_call(backend, "89025550202", detected_topic="transport")
        svo = post_call(backend, "89025550101", detected_topic="svo.contract")
        await wait_for(pilot, lambda: any(c.id == svo for c in app.offers), what="offer")
        assert [c.id for c in app.offers] == [svo]  # the transport call is not theirs yet
        with backend.admin() as admin:  # it waits all the same: the whole queue has it
            assert {c.id for c in admin.queue(limit=100)} == {svo, transport}
            assert [c.id for c in admin.queue(group="transport")] == [transport]
        await pilot.press("f7")
        table = app.main.query_one(QueuePane)
        await wait_for(pilot, lambda: table.row_count == 1, what="one row")
        row = row_texts(table)[0]
        assert "СВО, по теме помощника" in row
        assert "по контракту" in row[-1]  # the assistant's topic, named

        await pilot.press("f2")
        await wait_for(pilot, lambda: app.card is not None, what="card")
        await wait_for(pilot, lambda: "Группа:" in card_text(app), what="group on the card")
        assert "Группа: СВО, по теме помощника" in card_text(app)


def waiting(contact_id: int, reason: str | None) -> ContactPublic:
    return make_contact(
        contact_id,
        caller_number="+7 902 ***-**-34",
        queued_at=datetime.now(UTC) - timedelta(seconds=75),
        group_code="housing",
        route_reason=reason,
    )


async def test_the_longest_reason_fits_a_100_column_queue(backend, tmp_path):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD), background=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        longest = "переполнение из группы «Психологическая помощь» через 150 с"
        queue = [waiting(7001, "переполнение из ЖКХ через 60 с"), waiting(7002, longest)]
        app.post_message(OffersChanged(queue))
        await pilot.press("f7")
        table = app.main.query_one(QueuePane)
        await wait_for(pilot, lambda: table.row_count == 2, what="two rows")
        await pilot.pause(0.1)
        widths = {c.label.plain: c.get_render_width(table) for c in table.columns.values()}
        assert widths["Группа"] >= len(longest)
        shown = ["Ждёт", "Канал", "Номер", "Группа"]
        assert sum(widths[name] for name in shown) <= table.size.width, (widths, table.size)
