"""Pilot tests of the operator console against a real backend (uvicorn on loopback)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, select
from textual import events
from textual.keys import _character_to_key
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, TextArea
from textual.widgets._footer import FooterKey

from ekc_core.credentials import Credentials, save_credentials
from ekc_core.enums import Channel
from ekc_core.schemas import CallbackCreate, ContactPublic
from ekc_server.db import create_db_engine
from ekc_server.models import Contact
from ekc_tui.app import EkcConsole
from ekc_tui.forms import AppealFormScreen, CallbackFormScreen, NewCitizenScreen
from ekc_tui.messages import CardReady, OffersChanged
from ekc_tui.panes.card import CardPane, HandoffBlock
from ekc_tui.panes.queue import QueuePane
from ekc_tui.screens import (
    ArticleScreen,
    ConfirmScreen,
    HelpScreen,
    LoginScreen,
    PickerScreen,
)
from tests.test_tui_snapshots import fixed_card
from tests.tui_support import (
    PASSWORD,
    card_text,
    citizen_with_history,
    post_call,
    settings_for,
    signed_in,
    status_text,
    wait_for,
)
from tests.tui_support import contact as make_contact

pytestmark = pytest.mark.usefixtures("empty_queue")

# --- 1. start and sign-in ---------------------------------------------------------------


async def test_first_start_asks_for_the_login_and_keeps_the_token_0600(backend, tmp_path):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), what="login screen")
        await pilot.click("#username")
        await pilot.press(*"op_tui", "enter")
        await pilot.press(*PASSWORD, "enter")
        await signed_in(app, pilot)
        assert "Оператор o." in status_text(app)
        assert "на связи" in status_text(app)
    creds = settings.config_dir / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert backend.url in creds.read_text()


async def test_an_expired_token_asks_to_sign_in_again(backend, tmp_path):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    save_credentials(
        settings.config_dir,
        Credentials(server_url=backend.url, username="op_tui", token="ekc_s_expired"),
    )
    app = EkcConsole(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, LoginScreen) and app.screen.query("#login-error"),
            what="login screen",
        )
        assert "истёк" in str(app.screen.query_one("#login-error").render())
        await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "password")
        await pilot.press(*PASSWORD, "enter")  # the login is filled in; focus is on password
        await signed_in(app, pilot)
        assert app.desk.me is not None and app.desk.me.username == "op_tui"


# --- 2, 3, 4, 5: screen pop, card, history, KB, wrap-up ---------------------------------


async def test_screen_pop_card_with_history_handoff_and_a_standard_consultation(backend, tmp_path):
    phone = "+79025550101"
    citizen_id = citizen_with_history(backend, phone, "Карточкин")
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(app, pilot)
        contact_id = post_call(
            backend,
            "8 (902) 555-01-01",
            transcript="Хочу узнать, какие выплаты положены при заключении контракта",
            detected_topic="svo.contract",
            detected_emotion="тревога",
        )
        await wait_for(pilot, lambda: any(c.id == contact_id for c in app.offers), what="offer")
        # the queue shows the number masked
        assert "***" in (app.offers[0].caller_number or "")
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.card is not None and app.citizen is not None)
        text = card_text(app)
        assert "Карточкин Пётр" in text
        assert "Телефон 122" in text and "+7 902 555-01-01" in text
        handoff = str(app.query_one(HandoffBlock).render())  # the hand-off: its own block
        assert "тревога" in handoff and "выплаты" in handoff
        assert app.card is not None and app.card.citizen_id == citizen_id
        assert app.card.topic_code == "svo.contract"  # the assistant's topic, preselected
        # the history is beside the card (this contact is in it)
        await wait_for(pilot, lambda: app.query_one("#history", DataTable).row_count >= 1)
        # KB suggestions before typing anything
        await wait_for(pilot, lambda: len(app.kb_hits) > 0, what="suggestions")
        assert "Подсказки" in str(app.query_one("#kb-info").render())
        keys = ["ctrl+t", "enter", "f3", "enter"]
        await pilot.press(*keys[:2])
        await pilot.press(*keys[2:])
        await wait_for(pilot, lambda: isinstance(app.screen, ArticleScreen), what="article")
        await pilot.press("ctrl+y")  # the answer goes into the summary
        await wait_for(pilot, lambda: app.query_one("#summary", TextArea).text != "")
        await pilot.press("f5", "1", "f9")
        keys += ["ctrl+y", "f5", "1", "f9"]
        assert len(keys) <= 12
        await wait_for(pilot, lambda: app.card is None, what="saved")
        await wait_for(pilot, lambda: app.desk.unsent() == 0, what="sent")
    with backend.admin() as admin:
        contact = admin.contact(contact_id)
    assert contact.status.value == "done"
    assert contact.outcome is not None and contact.outcome.value == "consultation"
    assert contact.topic_code == "svo.contract"
    assert contact.citizen_id == citizen_id
    assert contact.summary and "контракт" in contact.summary.lower()


async def test_kb_search_as_you_type_highlights_matched_words(backend, tmp_path):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        await pilot.press("f3", *"субсидия жкх")
        await wait_for(
            pilot,
            lambda: app.last_kb_results is not None and app.last_kb_results[1] == "субсидия жкх",
            what="results for the whole query",
        )
        assert app.kb_hits, "no articles found for a common question"
        options = app.query_one("#kb-results", OptionList)
        first = str(options.get_option_at_index(0).prompt)
        assert "[b reverse]" in first  # matched words highlighted
        assert any("субсид" in h.title.lower() for h in app.kb_hits[:3])


async def test_unknown_caller_gets_the_new_citizen_form_and_an_appeal_with_deadlines(
    backend, tmp_path
):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        contact_id = post_call(backend, "+79025550177")
        await wait_for(pilot, lambda: any(c.id == contact_id for c in app.offers))
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="citizen picker")
        await pilot.press("enter")  # the only choice: a new citizen
        await wait_for(pilot, lambda: isinstance(app.screen, NewCitizenScreen))
        await pilot.press(*"Новикова", "tab", *"Анна", "enter")
        await wait_for(pilot, lambda: app.card is not None and app.card.new_citizen is not None)
        assert "Новикова Анна" in card_text(app)
        await pilot.press("ctrl+t", *"субсидии на оплату", "enter")
        await pilot.press("f5", "2")  # appeal registered -> the appeal form
        await wait_for(pilot, lambda: isinstance(app.screen, AppealFormScreen))
        deadlines = str(app.screen.query_one("#deadlines").render())
        assert "ответ до" in deadlines and "59-ФЗ" in deadlines
        await pilot.press("tab", *"Не назначили субсидию", "ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="agencies")
        await pilot.press(*"социальн", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AppealFormScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.card is not None and app.card.appeal is not None)
        await pilot.press("ctrl+b")
        await pilot.press("enter", *"Сообщить решение", "enter")  # "+2" hours, then the reason
        await wait_for(pilot, lambda: app.card is not None and app.card.callback_request)
        await pilot.press("f8", "f9")
        await wait_for(pilot, lambda: app.card is None and app.desk.unsent() == 0, what="sent")
        # the appeal's number stays on the card pane, to be read to the caller
        await wait_for(pilot, lambda: "Обращение зарегистрировано: №" in card_text(app))
        on_card = card_text(app)
    with backend.admin() as admin:
        contact = admin.contact(contact_id)
        assert contact.status.value == "done" and contact.citizen_id is not None
        assert contact.appeal_id is not None
        appeal = admin.appeal(contact.appeal_id)
        assert f"№ {appeal.number}" in on_card
        assert appeal.citizen_id == contact.citizen_id
        assert appeal.answer_due is not None and appeal.agency_code
        citizen = admin.citizen(contact.citizen_id)
        assert citizen.last_name == "Новикова" and citizen.phones == ["+79025550177"]
        callbacks = admin.callbacks(scope="all")
        assert any(c.citizen_id == citizen.id and c.appeal_id == appeal.id for c in callbacks)


async def test_several_citizens_with_the_number_are_offered_to_choose(backend, tmp_path):
    phone = "+79025550222"
    citizen_with_history(backend, phone, "Двойнев")
    second = citizen_with_history(backend, phone, "Двойнева")
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        contact_id = post_call(backend, phone)
        await wait_for(pilot, lambda: any(c.id == contact_id for c in app.offers))
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"Двойнева", "enter")
        await wait_for(pilot, lambda: app.citizen is not None)
        assert app.card is not None and app.card.citizen_id == second
        # phones in the list were masked
        assert app.history is not None


# --- 6. callbacks -----------------------------------------------------------------------


async def test_a_due_callback_opens_an_outgoing_card_and_records_the_result(backend, tmp_path):
    citizen_id = citizen_with_history(backend, "+79025550333", "Перезвонов")
    with backend.admin() as admin:
        task = admin.create_callback(
            CallbackCreate(
                citizen_id=citizen_id,
                reason="Сообщить ответ министерства",
                due_at=datetime.now(UTC) - timedelta(hours=1),
                assignee_id=backend.operator_id,
            )
        )
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        await pilot.press("f6")
        await wait_for(pilot, lambda: any(c.id == task.id for c in app.callback_list))
        table = app.query_one("#callbacks", DataTable)
        row = table.get_row(str(task.id))
        assert "просрочен" in str(row[0]) and "***" in str(row[2])
        table.move_cursor(row=table.get_row_index(str(task.id)))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.card is not None and app.card.callback is not None)
        assert "исходящий" in card_text(app) and "Сообщить ответ" in card_text(app)
        await pilot.press("ctrl+t", *"контракт", "enter", "f5", "1", "f9")
        await wait_for(pilot, lambda: app.card is None and app.desk.unsent() == 0, what="sent")
    with backend.admin() as admin:
        done = admin.callback(task.id)
    assert done.status.value == "done" and done.result is not None
    assert done.result.value == "reached"


# --- 7. offline -------------------------------------------------------------------------


async def test_offline_console_searches_the_kb_opens_cached_citizens_and_keeps_cards(
    backend, tmp_path
):
    phone = "+79025550444"
    citizen_id = citizen_with_history(backend, phone, "Кэшев")
    online = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    # 1) online: sign in, sync the KB, open the citizen once (it is cached)
    app = EkcConsole(online, login=("op_tui", PASSWORD), background=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.ref is not None)
        app.desk.sync_kb()
        app.desk.open_citizen(citizen_id)
    # 2) the link is down: the saved login points at a port nobody listens on
    dead = "http://127.0.0.1:9"
    creds = app.desk.saved_login()
    assert creds is not None
    save_credentials(online.config_dir, creds.model_copy(update={"server_url": dead}))
    offline = settings_for(tmp_path, dead)
    app = EkcConsole(offline, background=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.ref is not None and app.kb_count > 0)
        assert "нет связи" in status_text(app)
        await pilot.press("f3", *"контракт")
        await wait_for(pilot, lambda: bool(app.kb_hits) and app.last_kb_results is not None)
        await pilot.press("ctrl+n")
        await pilot.press(*"8 902 555-04-44", "enter")
        await wait_for(pilot, lambda: app.citizen is not None, what="cached citizen")
        assert "из памяти консоли" in str(app.query_one("#history-title").render())
        await pilot.press("ctrl+t", *"контракт", "enter", "f5", "1", "f9")
        await wait_for(pilot, lambda: app.card is None)
        await wait_for(pilot, lambda: "не отправлено: 2" in status_text(app))
    # 3) the link is back: the outbox replays both items once
    save_credentials(online.config_dir, creds)
    app = EkcConsole(online, background=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.desk.unsent() == 0, what="replayed")
        assert app.desk.failed() == 0
    engine = create_db_engine(backend.db_url)
    with Session(engine) as session:
        mine = session.exec(select(Contact).where(Contact.citizen_id == citizen_id)).all()
    engine.dispose()
    assert len(mine) == 1 and mine[0].status == "done" and mine[0].topic_id is not None


# --- 8. keyboard ------------------------------------------------------------------------


async def test_help_lists_every_binding_palette_finds_actions_quit_needs_confirmation(
    backend, tmp_path
):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(app, pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = app.screen.query_one("#keys", DataTable)
        described = {str(keys.get_row_at(i)[1]) for i in range(keys.row_count)}
        for binding in app.BINDINGS:
            assert binding.description in described  # type: ignore[union-attr]
        await pilot.press("escape")
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert any("Перезвоны" in c for c in commands) and any("Сохранить" in c for c in commands)
        await pilot.press("ctrl+n", *"Ручной Звонок", "enter")
        await wait_for(pilot, lambda: app.card is not None)
        await pilot.press("escape")  # the citizen picker
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert app.is_running and app.card is not None


async def test_an_unsaved_card_survives_quitting_and_comes_back(backend, tmp_path):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        await pilot.press("ctrl+n", *"Черновиков Иван", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("escape")  # nobody chosen yet
        await wait_for(pilot, lambda: not isinstance(app.screen, PickerScreen))
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="topics")
        await pilot.press(*"контракт", "enter")
        await wait_for(pilot, lambda: app.card is not None and app.card.topic_code is not None)
        await pilot.press("f5", "1")
        await wait_for(pilot, lambda: app.card is not None and app.card.outcome is not None)
        await pilot.press(*"Объяснил порядок")  # the outcome moved the focus to the summary
        assert app.query_one("#summary", TextArea).text == "Объяснил порядок"
        key = app.card.key if app.card else ""
    # the app is gone (as after a crash or a quit); a new start brings the card back
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.card is not None, what="restored card")
        assert app.card is not None and app.card.key == key
        assert app.card.topic_code is not None and app.card.outcome is not None
        assert "Объяснил порядок" in app.query_one("#summary", TextArea).text
        await pilot.press("f9")
        await wait_for(pilot, lambda: app.card is None, what="saved")
        await wait_for(pilot, lambda: app.desk.store.counts().get("sent") == 2, what="sent")
        assert app.desk.store.get("draft") is None
        assert app.desk.unsent() == 0 and app.desk.failed() == 0


# --- 9. the main window (issue 11) --------------------------------------------------------


class Cable(httpx.HTTPTransport):
    """The network under the console; `cut` makes every new request fail to connect."""

    cut = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.cut:
            raise httpx.ConnectError("кабель перерезан", request=request)
        return super().handle_request(request)


def burst(app: EkcConsole, *keys: str) -> None:
    """Keys as a fast typist's terminal delivers them: all at once, nobody waits between."""
    for k in keys:
        if len(k) > 1:
            app.post_message(events.Key(k, None))
        else:
            app.post_message(events.Key(k if k.isalnum() else _character_to_key(k), k))


def value_of(app: EkcConsole, selector: str) -> str:
    """The value of a field of the dialog on top ("" until it is composed)."""
    fields = app.screen.query(selector)
    return str(fields.first(Input).value) if fields else ""


def waiting(contact_id: int, minutes: int = 1) -> ContactPublic:
    return make_contact(
        contact_id,
        channel=Channel.email,
        line=None,
        sender=f"user{contact_id}@example.ru",
        text="Письмо",
        queued_at=datetime.now(UTC) - timedelta(minutes=minutes),
    )


def screen_lines(widget: Widget) -> list[str]:
    """The widget's lines as drawn."""
    return [strip.text.rstrip() for strip in widget.render_lines(widget.size.region)]


async def test_link_loss_is_on_the_status_bar_within_seconds_and_the_queue_count_goes(
    backend, tmp_path
):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    settings.offer_wait = 30.0  # the long poll is waiting when the link goes
    # the test's cable cuts requests, not a waiting socket, so TCP keep-alive (the fast path
    # on a real link, measured by bench/satlink_bench.py) cannot tell: the heartbeat must
    settings.heartbeat_seconds = 3.0
    app = EkcConsole(settings, login=("op_tui", PASSWORD))
    cable = Cable()
    app.desk.transport = cable
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(app, pilot)
        contact_id = post_call(backend, "+79025550601")
        await wait_for(pilot, lambda: "в очереди: 1" in status_text(app), what="queue count")
        assert any(c.id == contact_id for c in app.offers)
        cable.cut = True
        # the heartbeat (3 s) finds the link gone; the long poll would wait 30 s
        await wait_for(pilot, lambda: "нет связи" in status_text(app), timeout=8, what="offline")
        assert "в очереди: —" in status_text(app)  # no longer a count the operator trusts
        assert "очередь неизвестна" in card_text(app)
        cable.cut = False
        await wait_for(pilot, lambda: "на связи" in status_text(app), timeout=10, what="back")
        await wait_for(pilot, lambda: "в очереди: 1" in status_text(app), what="count again")


async def test_keys_typed_while_a_dialog_opens_reach_its_fields_in_order(backend, tmp_path):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD), background=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await signed_in(app, pilot)
        card, citizen, history = fixed_card()
        app.post_message(CardReady(card, citizen, history))
        await wait_for(pilot, lambda: app.card is not None, what="card")
        burst(app, "ctrl+b", *"завтра")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, CallbackFormScreen) and value_of(app, "#due") == "завтра"
            ),
            timeout=5,
            what="the form with завтра",
        )
        burst(app, "escape", "ctrl+b", *"+30м")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, CallbackFormScreen) and value_of(app, "#due") == "+30м",
            timeout=5,
            what="the second form with +30м",
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main, what="the card")
        app.main.query_one(CardPane).new_citizen(None)
        burst(app, *"Иванова", "tab", *"Анна")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, NewCitizenScreen) and value_of(app, "#first") == "Анна",
            timeout=5,
            what="the new citizen's first name",
        )
        assert value_of(app, "#last") == "Иванова"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80", "120"])
async def test_history_columns_fit_each_citizen_and_the_topic_gets_the_room(
    backend, tmp_path, size
):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD), background=False)
    async with app.run_test(size=size) as pilot:
        await signed_in(app, pilot)
        card, citizen, history = fixed_card()
        wide = history.model_copy(deep=True)  # a citizen with long texts first
        for item in wide.page.items:
            if item.contact is not None:
                item.contact.summary = "Очень длинный итог разговора " * 6
        app.post_message(CardReady(card, citizen, wide))
        await wait_for(pilot, lambda: app.history is wide, what="first citizen")
        await pilot.press("f4")
        await pilot.pause(0.2)
        app.set_citizen(citizen, history, cached=False)  # then another one
        await pilot.pause(0.2)
        table = app.main.query_one("#history", DataTable)
        widths = [c.get_render_width(table) for c in table.ordered_columns]
        assert sum(widths) <= table.size.width, (widths, table.size.width)  # all columns shown
        titles = [str(c.label) for c in table.ordered_columns]
        assert titles[:3] == ["Дата", "Канал", "Статус"] and "Что" in titles
        what = table.ordered_columns[titles.index("Что")].width  # without the cell's padding
        assert what >= 20 and what >= 0.4 * (table.size.width - 14), widths
        assert app.ref is not None
        topic = app.ref.topic_name("svo.contract")  # the earlier contact's topic
        shown = topic[: min(len(topic), what - 1)]  # as much as the column holds
        cells = [str(table.get_row_at(i)[titles.index("Что")]) for i in range(table.row_count)]
        assert len(shown) >= 20 and any(cell.startswith(shown) for cell in cells), cells


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80", "120"])
async def test_the_handoff_is_a_block_wrapped_with_emotion_and_the_deepest_topic_below(
    backend, tmp_path, size
):
    deepest = "svo.one_time_payments"  # what ekc_tui.topic_match makes of the transcript
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD), background=False)
    async with app.run_test(size=size) as pilot:
        await signed_in(app, pilot)
        card, citizen, history = fixed_card()
        assert card.contact is not None and card.contact.handoff is not None
        transcript = (
            "Муж заключил контракт в сентябре, документы сдали в военкомат, а единовременной "
            "выплаты от области всё нет, в соцзащите говорят ждать. Куда обратиться, Почему?"
        )
        card.contact.handoff.transcript = transcript
        card.contact.handoff.detected_topic = "svo"  # the assistant's top-level topic
        app.post_message(CardReady(card, citizen, history))
        await wait_for(pilot, lambda: app.card is not None, what="card")
        await pilot.pause(0.2)
        lines = screen_lines(app.main.query_one(HandoffBlock))
        drawn = " ".join(line.strip() for line in lines)
        assert "Почему?»" in drawn  # the whole transcript, wrapped
        facts = next(i for i, line in enumerate(lines) if line.lstrip().startswith("настроение"))
        below = " ".join(line.strip() for line in lines[facts:])  # a line of their own
        assert below.startswith("настроение: тревога · тема: Единовременные выплаты"), lines
        assert all(len(line) <= size[0] for line in lines)
        await pilot.press("ctrl+t", "enter")  # the suggested topic is the one preselected
        await wait_for(pilot, lambda: app.screen is app.main, what="picker closed")
        assert app.card is not None and app.card.topic_code == deepest


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80", "120"])
async def test_the_footer_fits_and_help_lists_each_key_once(backend, tmp_path, size):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD), background=False)
    async with app.run_test(size=size) as pilot:
        await signed_in(app, pilot)
        for state in ("idle", "card"):
            if state == "card":
                card, citizen, history = fixed_card()
                app.post_message(CardReady(card, citizen, history))
                await wait_for(pilot, lambda: app.card is not None, what="card")
            await pilot.pause(0.3)
            shown = [k for k in app.main.query(FooterKey) if k.display]
            assert shown
            assert max(k.region.right for k in shown) <= size[0], (state, size)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = app.screen.query_one("#keys", DataTable)
        listed = [str(keys.get_row_at(i)[0]) for i in range(keys.row_count)]
        assert len(listed) == len(set(listed)), listed
        assert {"Ctrl+P", "Ctrl+O", "Ctrl+Q"} <= set(listed)


async def test_the_queue_pane_reaches_every_waiting_contact_and_keeps_its_cursor(
    backend, tmp_path, monkeypatch
):
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=("op_tui", PASSWORD), background=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(app, pilot)
        queue = [waiting(5000 + i, minutes=40 - i) for i in range(34)]
        app.post_message(OffersChanged(queue))
        await pilot.press("f7")
        table = app.main.query_one(QueuePane)
        await wait_for(pilot, lambda: table.row_count == 34, what="34 rows")
        for _ in range(30):
            await pilot.press("down")
        assert table.chosen_id() == 5030
        app.post_message(OffersChanged([*queue[1:], waiting(6000, minutes=0)]))  # it changes
        await wait_for(pilot, lambda: any(c.id == 6000 for c in app.offers), what="new queue")
        await pilot.pause(0.1)
        assert table.chosen_id() == 5030
        taken: list[int] = []
        monkeypatch.setattr(app.controller, "_take", lambda contact: taken.append(contact.id))
        await pilot.press("f2")
        assert taken == [5030]
