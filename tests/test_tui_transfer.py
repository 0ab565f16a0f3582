"""Transfer onward to an agency from the call card (Ctrl+L): Pilot tests of the console
against a real backend, and the outbox items a transfer makes (offline first, sent once,
the appeal forwarded to the same agency)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input, OptionList, TextArea

from ekc_core.client import EkcClient
from ekc_core.enums import AppealKind, Channel, ContactOutcome, Line
from ekc_core.schemas import CitizenCreate
from ekc_tui.app import EkcConsole
from ekc_tui.cards import AppealDraft, Card
from ekc_tui.desk import Desk
from ekc_tui.outbox import flush, new_key
from ekc_tui.transfer_dialog import TransferScreen, default_agency
from ekc_tui.transfers import Transfer, transfer_steps
from tests.tui_support import (
    PASSWORD,
    Backend,
    card_text,
    post_call,
    settings_for,
    signed_in,
    status_text,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("empty_queue")

FIRE = "Горит сарай у соседей, дым идёт на наш дом, ул. Лесная 3"


def screen_text(app: EkcConsole, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_ctrl_l_transfers_the_call_to_the_topics_agency_and_shows_its_line(
    backend: Backend, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(app, pilot)
        contact_id = post_call(
            backend, "+79025550901", transcript=FIRE, detected_topic="emergency.fire"
        )
        await wait_for(pilot, lambda: any(c.id == contact_id for c in app.offers), what="offer")
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.card is not None, what="card")
        await pilot.press("escape")  # the citizen picker of an unknown caller
        await wait_for(pilot, lambda: not app.screen.is_modal, what="picker closed")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, TransferScreen), what="dialog")
        # the topic's agency first, with its line; the summary from what the caller said
        assert "ГУ МЧС по ИО" in screen_text(app, "#agency-line")
        assert "8 (3952) 39-99-99" in screen_text(app, "#agency-line")
        assert app.screen.query_one("#transfer-summary", TextArea).text == FIRE
        assert not app.screen.query("#forward")  # no appeal: nothing to forward
        # a reason is required: Ctrl+S without one says so and sends nothing
        await pilot.press("ctrl+s")
        assert "причину" in screen_text(app, "#transfer-error")
        assert app.desk.unsent() == 0
        assert app.focused is app.screen.query_one("#reason", Input)  # the cursor is there
        await pilot.press(*"Пожар: вызов МЧС", "ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, TransferScreen), what="sent")
        card = app.card
        assert card is not None and card.transfer is not None
        assert card.outcome == ContactOutcome.transferred
        assert card.ended is not None  # the conversation is over: after-call work
        assert "Переведено в ведомство: ГУ МЧС по ИО" in card_text(app)
        assert "линия 8 (3952) 39-99-99" in card_text(app)
        await wait_for(pilot, lambda: app.desk.unsent() == 0, what="transfer sent")
        with backend.admin() as admin:
            contact = admin.contact(contact_id)
            assert (contact.status.value, contact.outcome) == ("wrapup", ContactOutcome.transferred)
            (event,) = admin.contact_events(contact_id)
        assert (event.agency_code, event.data["reason"]) == ("mchs_io", "Пожар: вызов МЧС")
        assert event.text == FIRE
        # a second Ctrl+L: already transferred
        await pilot.press("ctrl+l")
        assert not isinstance(app.screen, TransferScreen)
        # the wrap-up as usual: the topic the assistant gave, the outcome set by the transfer
        await pilot.press("f9")
        await wait_for(pilot, lambda: app.card is None and app.desk.unsent() == 0, what="saved")
        assert "не отправлено" not in status_text(app)
    with backend.admin() as admin:
        done = admin.contact(contact_id)
    assert (done.status.value, done.outcome) == ("done", ContactOutcome.transferred)
    assert done.topic_code == "emergency.fire"


async def test_the_agency_is_found_by_typing_and_esc_keeps_what_was_typed(
    backend: Backend, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        await pilot.press("ctrl+n", *"Ручной Звонок", "enter")
        await wait_for(pilot, lambda: app.card is not None)
        await pilot.press("escape")  # the citizen picker
        app.wrap_pane.summary = "Не записывают к врачу в поликлинике"
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, TransferScreen), what="dialog")
        # no topic yet: no agency chosen for the operator; the notes become the summary
        assert app.screen.query_one("#transfer-summary", TextArea).text.startswith("Не запис")
        # a name that matches nothing chooses nothing (not an agency highlighted on the way)
        await pilot.press(*"полиц")
        await wait_for(pilot, lambda: "не выбрано" in screen_text(app, "#agency-line"))
        await pilot.press("ctrl+s")
        assert "Выберите ведомство" in screen_text(app, "#transfer-error")
        await pilot.press(*["backspace"] * 5)
        await pilot.press(*"здравоохранен")
        options = app.screen.query_one("#agencies", OptionList)
        await wait_for(pilot, lambda: options.option_count >= 1, what="filtered")
        assert "Минздрав ИО" in screen_text(app, "#agency-line")
        assert "24-03-36" in screen_text(app, "#agency-line")
        await pilot.press("enter", *"Запись к врачу")  # Enter: on to the reason
        assert app.screen.query_one("#reason", Input).value == "Запись к врачу"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TransferScreen))
        assert app.card is not None and app.card.transfer is None
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, TransferScreen), what="again")
        assert app.screen.query_one("#reason", Input).value == "Запись к врачу"
        assert app.screen.query_one("#agency-filter", Input).value == "здравоохранен"
        assert "Минздрав ИО" in screen_text(app, "#agency-line")
        await pilot.press("escape")
        # with an appeal drafted on the card, the dialog offers to forward it too
        assert app.card is not None
        app.card.appeal = AppealDraft(kind=AppealKind.appeal_59fz, summary="Запись к врачу")
        await wait_for(pilot, lambda: not isinstance(app.screen, TransferScreen))
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, TransferScreen), what="third")
        forward = app.screen.query_one("#forward", Checkbox)
        assert "обращение (уйдёт с карточкой)" in str(forward.label)
        await pilot.press("ctrl+s")  # the reason typed before is still there
        await wait_for(pilot, lambda: app.card is not None and app.card.transfer is not None)
        card = app.card
        assert card is not None and card.transfer is not None and card.appeal is not None
        assert card.transfer.forward_appeal
        assert card.appeal.agency_code == "minzdrav_io"  # the appeal goes there too
        assert "обращение направлено туда же" in card_text(app)


def test_the_default_agency_is_the_topics_or_its_parents(backend: Backend) -> None:
    from ekc_tui.desk import Reference

    with backend.admin() as admin:
        ref = Reference(admin.topics(), admin.agencies(), admin.deadline_rules())
    assert default_agency(ref, "emergency.missing_people") == "mvd_io"
    assert default_agency(ref, "emergency.fire") == "mchs_io"  # the parent's
    assert default_agency(ref, None) is None


def _desk(tmp_path: Path, backend: Backend) -> Desk:
    desk = Desk(settings_for(tmp_path, backend.url))
    desk.sign_in(backend.url, "op_tui", PASSWORD)
    return desk


def test_a_transfer_stored_offline_is_sent_once_and_forwards_the_drafted_appeal(
    backend: Backend, tmp_path: Path
) -> None:
    """A manual card at a desk whose link is down: the start, the transfer (with the appeal
    to forward) and the save all wait in the outbox, in that order; sent when the link is
    back, they record one transfer and forward the appeal the save registers."""
    desk = _desk(tmp_path, backend)
    assert desk.client is not None
    with backend.admin() as admin:
        made = admin.create_citizen(
            CitizenCreate(last_name="Переводова", first_name="Ольга", phones=["+79025550902"])
        )
    card = Card(
        key=new_key(),
        direction="in",
        channel=Channel.phone,
        line=Line.l122,
        number="+79025550902",
        citizen_id=made.id,
    )
    card.start_item = new_key()
    desk.enqueue(card.start_item, "Начало", card.start_steps())
    card.topic_code = "medicine"
    card.appeal = AppealDraft(kind=AppealKind.appeal_59fz, summary="Отказ в записи к врачу")
    transfer = Transfer(
        agency_code="minzdrav_io",
        agency_name="Минздрав ИО",
        phone="8 (3952) 24-03-36",
        reason="Вопрос Минздрава",
        summary="Не записывают к врачу",
        forward_appeal=True,
        item=new_key(),
    )
    assert transfer.item is not None
    at = datetime.now(UTC)
    desk.enqueue(transfer.item, "Перевод", transfer_steps(card, transfer, at))
    card.transfer = transfer
    card.appeal.agency_code = "minzdrav_io"
    card.outcome = ContactOutcome.transferred
    card.end_now()
    card.end_sent = True
    restored = Card.load(card.dump())  # the draft keeps the transfer
    assert restored.transfer == transfer
    desk.enqueue(card.key, card.title(), card.save_steps())
    assert [st["name"] for st in desk.store.item(card.key).steps] == [  # type: ignore[union-attr]
        "appeal",
        "forward",
        "wrapup",
    ]

    sent = flush(desk.client, desk.store)
    assert (sent.sent, sent.failed) == (3, 0), sent.errors
    contact_id = desk.store.item(card.start_item).results["contact"]["id"]  # type: ignore[union-attr]
    with EkcClient(backend.url, token=backend.admin_token) as admin:
        events = admin.contact_events(contact_id)
        contact = admin.contact(contact_id)
        assert contact.appeal_id is not None
        appeal = admin.appeal(contact.appeal_id)
    assert [(e.type.value, e.agency_code) for e in events] == [("transferred", "minzdrav_io")]
    assert (contact.status.value, contact.outcome) == ("done", ContactOutcome.transferred)
    assert appeal.status.value == "forwarded" and appeal.agency_code == "minzdrav_io"
    assert appeal.forwarded_at is not None
    forwarded = [e for e in appeal.events if e.type.value == "forwarded"]
    assert len(forwarded) == 1 and forwarded[0].text == "Вопрос Минздрава"
