"""Nothing left open, in the console against the real backend (issue 10, point 2): the
new-citizen form and a phone typed by hand; a card the server refuses, corrected or given up
from Ctrl+O; a take whose answer the link loses; a caller who hung up; a contact the server
says the operator still holds when the console starts.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from ekc_core.client import EkcClient, new_idempotency_key
from ekc_core.enums import ContactStatus
from ekc_tui.app import EkcConsole
from ekc_tui.forms import NewCitizenScreen
from ekc_tui.messages import OffersChanged
from ekc_tui.screens import (
    ConfirmScreen,
    OutboxScreen,
    PickerScreen,
)
from tests.test_take_lost_answer import proxy_to
from tests.tui_support import (
    PASSWORD,
    Backend,
    citizen_with_history,
    post_call,
    record_notes,
    settings_for,
    signed_in,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("empty_queue")

LONG_NAME = "Ж" * 120  # the form takes it; the server allows 100 characters


def field(app: EkcConsole, selector: str) -> Input:
    return app.screen.query_one(selector, Input)


def text_of(app: EkcConsole, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def a_refused_card(app: EkcConsole, pilot: Pilot[None]) -> int:
    """The issue's card: a call on the desk phone, "8 914 12" typed to find the caller, a
    new citizen, saved; the server takes the contact and refuses the citizen (the surname
    is too long). Returns the contact's id."""
    await signed_in(app, pilot)
    await pilot.press("ctrl+n", *"8 914 12", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="nobody found")
    assert "Не найдено" in text_of(app, ".title")
    await pilot.press("enter")  # a new citizen
    await wait_for(pilot, lambda: isinstance(app.screen, NewCitizenScreen), what="the form")
    await wait_for(pilot, lambda: bool(app.screen.query("#err-phone")))
    # the digits are the phone (with the reason it is wrong), never the name
    assert [field(app, f"#{n}").value for n in ("last", "first", "middle")] == ["", "", ""]
    assert field(app, "#phone").value == "8 914 12"
    assert "слишком мало цифр" in text_of(app, "#err-phone")
    field(app, "#last").value = LONG_NAME
    field(app, "#first").value = "Анна"
    await pilot.press("ctrl+s")
    assert isinstance(app.screen, NewCitizenScreen)  # not with that phone
    assert app.focused is field(app, "#phone")
    field(app, "#phone").value = "8 914 555-01-23"
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: app.card is not None and app.card.new_citizen is not None)
    assert app.card is not None and app.card.new_citizen is not None
    assert app.card.new_citizen.phone == "+79145550123"
    await pilot.press("ctrl+t", *"контракт", "enter", "f5", "1", "f9")
    await wait_for(pilot, lambda: app.card is None, what="saved")
    await wait_for(pilot, lambda: app.desk.failed() == 1, what="refused")
    [refused] = app.desk.store.outbox(states=("failed",))
    assert refused.problems[0]["step"] == "citizen"
    start = [i for i in app.desk.store.outbox(states=("sent",)) if "contact" in i.results]
    return int(start[0].results["contact"]["id"])


async def test_a_refused_card_is_corrected_next_to_the_field_and_saved_on_its_contact(
    backend: Backend, tmp_path
):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        contact_id = await a_refused_card(app, pilot)
        with backend.admin() as admin:
            assert admin.contact(contact_id).status == ContactStatus.active
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, OutboxScreen), what="Ctrl+O")
        await pilot.press("enter")  # correct it
        # the card is back, and the citizen's form opens with the reason by the surname
        await wait_for(pilot, lambda: isinstance(app.screen, NewCitizenScreen), what="the form")
        await wait_for(pilot, lambda: bool(app.screen.query("#err-names")))
        assert app.card is not None and "citizen.last_name" in app.card.server_problems
        assert text_of(app, "#err-names").startswith("Фамилия:")
        assert field(app, "#last").value == LONG_NAME
        assert field(app, "#phone").value == "+79145550123"
        assert app.focused is field(app, "#last")
        field(app, "#last").value = "Жукова"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is app.main, what="back to the card")
        assert app.card is not None and app.card.server_problems == {}
        await pilot.press("f9")
        await wait_for(pilot, lambda: app.card is None, what="saved again")
        await wait_for(pilot, lambda: app.desk.unsent() == 0 and app.desk.failed() == 0)
        assert app.desk.store.counts()["discarded"] == 1  # the refused item, replaced
    with backend.admin() as admin:
        contact = admin.contact(contact_id)
        assert contact.status == ContactStatus.done and contact.citizen_id is not None
        citizen = admin.citizen(contact.citizen_id)
        assert (citizen.last_name, citizen.phones) == ("Жукова", ["+79145550123"])
        history = admin.history(citizen.id)
    assert [i.contact.id for i in history.page.items if i.contact] == [contact_id]


async def test_giving_up_a_refused_card_closes_its_contact_with_the_reason(
    backend: Backend, tmp_path
):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        contact_id = await a_refused_card(app, pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, OutboxScreen), what="Ctrl+O")
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.desk.unsent() == 0 and app.desk.failed() == 0)
        assert app.desk.store.counts()["discarded"] == 1
        [kept] = app.desk.store.outbox(states=("discarded",))
        assert kept.card is not None and kept.card["new_citizen"]["last_name"] == LONG_NAME
    with backend.admin() as admin:
        contact = admin.contact(contact_id)
    assert contact.status == ContactStatus.done
    assert contact.close_reason is not None and "отказался" in contact.close_reason


async def test_a_take_whose_answer_is_lost_is_asked_again_and_the_card_opens(
    backend: Backend, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    with proxy_to(backend.url) as proxy:
        link = f"http://127.0.0.1:{proxy.port}"
        settings = settings_for(tmp_path, link, kb_from=backend.kb_template)
        app = EkcConsole(settings, login=(backend.operator, PASSWORD))
        said = record_notes(app, monkeypatch)
        async with app.run_test(size=(100, 30)) as pilot:
            await signed_in(app, pilot)
            citizen_with_history(backend, "+79025550941", "Потерянный")
            contact_id = post_call(backend, "+79025550941")
            await wait_for(pilot, lambda: any(c.id == contact_id for c in app.offers))
            proxy.drop = 1  # the server takes it; its answer never comes back
            await pilot.press("f2")
            await wait_for(pilot, lambda: app.card is not None, what="the card", timeout=30)
            assert proxy.dropped == 1
            assert any("Нет ответа сервера на принятие" in n for n in said)
            assert app.card is not None and app.card.contact is not None
            assert app.card.contact.id == contact_id
            await wait_for(pilot, lambda: app.citizen is not None, what="the caller")
            with backend.admin() as admin:
                taken = admin.contact(contact_id)
            assert (taken.status, taken.operator_id) == (ContactStatus.active, backend.operator_id)
            await pilot.press("ctrl+t", *"контракт", "enter", "f5", "1", "f9")
            await wait_for(pilot, lambda: app.card is None and app.desk.unsent() == 0)
    with EkcClient(backend.url) as op:
        op.login(backend.operator, PASSWORD)
        assert op.my_contacts() == []  # nothing stays attached
    with backend.admin() as admin:
        assert admin.contact(contact_id).status == ContactStatus.done


async def test_a_caller_who_hung_up_is_reported_as_such_not_as_taken(
    backend: Backend, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD), background=False)
    said = record_notes(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        gone = post_call(backend, "+79025550942")
        taken = post_call(backend, "+79025550943")
        with backend.admin() as admin:
            offers = {c.id: c for c in admin.queue(limit=50)}
            admin.abandon_contact(gone)  # hung up while the console still shows it
            admin.take_with_key(taken, new_idempotency_key())  # someone else answered

        async def take(contact_id: int, expected: str) -> None:
            app.post_message(OffersChanged([offers[contact_id]]))
            await wait_for(pilot, lambda: [c.id for c in app.offers] == [contact_id])
            await pilot.press("f2")
            await wait_for(pilot, lambda: expected in said, what=expected)
            await wait_for(pilot, lambda: app.taking is None)
            assert app.card is None

        await take(gone, "Абонент положил трубку, не дождавшись ответа")
        await take(taken, "Контакт уже принят другим оператором")
        assert not any("Не удалось принять" in n for n in said)
    with backend.admin() as admin:
        admin.close_contact(taken, "тест окончен")


async def test_a_contact_still_held_on_the_server_is_offered_back_at_start(
    backend: Backend, tmp_path
):
    """The console crashed (no draft) after taking a call; meanwhile the caller hung up."""
    citizen_with_history(backend, "+79025550944", "Брошенный")
    contact_id = post_call(backend, "+79025550944")
    with EkcClient(backend.url) as op:
        op.login(backend.operator, PASSWORD)
        op.take_with_key(contact_id, new_idempotency_key())
    with backend.admin() as admin:
        admin.request("POST", f"/contacts/{contact_id}/hangup")  # after-call work now
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen) and bool(app.screen.query(".title")),
            what="the offer",
        )
        question = text_of(app, ".title")
        assert "не закончен контакт" in question and "+7 902 555-09-44" in question
        await pilot.press("y")
        await wait_for(pilot, lambda: app.card is not None, what="the card")
        assert app.card is not None and app.card.contact is not None
        assert app.card.contact.id == contact_id
        assert app.card.end_sent and app.card.ended is not None  # in after-call work
        await wait_for(pilot, lambda: app.citizen is not None, what="the caller's history")
        await pilot.press("ctrl+t", *"контракт", "enter", "f5", "1", "f9")
        await wait_for(pilot, lambda: app.card is None and app.desk.unsent() == 0)
        assert app.desk.failed() == 0
    with backend.admin() as admin:
        assert admin.contact(contact_id).status == ContactStatus.done
