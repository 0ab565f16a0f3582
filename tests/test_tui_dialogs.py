"""The console's dialogs keep what the operator typed (issue 11): sign-in after a failure,
the appeal form after Esc or a refused Ctrl+S, the new-citizen form's e-mail and messenger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Input, Static

from ekc_core.schemas import AgencyPublic
from ekc_tui.app import EkcConsole
from ekc_tui.cards import AppealDraft, NewCitizen
from ekc_tui.desk import Reference
from ekc_tui.forms import AppealFormScreen, NewCitizenScreen, split_lookup
from ekc_tui.screens import LoginScreen
from tests.test_topic_match import shipped_topics
from tests.tui_support import settings_for, wait_for

#: nothing listens on these (the dialogs engineer's port range): sign-in fails at once
DEAD_DEFAULT = "http://127.0.0.1:8337"
DEAD_TYPED = "http://127.0.0.1:8338"


def text_of(screen: Screen[Any], selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_a_failed_sign_in_keeps_the_server_and_login_typed(tmp_path: Path) -> None:
    app = EkcConsole(settings_for(tmp_path, DEAD_DEFAULT), background=False)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), what="sign-in form")
        first = app.screen
        first.query_one("#server", Input).value = DEAD_TYPED
        first.query_one("#username", Input).value = "operator7"
        first.query_one("#password", Input).value = "secret"
        first.query_one("#password", Input).focus()
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, LoginScreen)
                and app.screen is not first
                and "Нет связи" in text_of(app.screen, "#login-error")
            ),
            what="the form again, with the reason",
        )
        again = app.screen
        assert again.query_one("#server", Input).value == DEAD_TYPED
        assert again.query_one("#username", Input).value == "operator7"
        assert again.query_one("#password", Input).value == ""
        assert again.focused is again.query_one("#password", Input)


def reference() -> Reference:
    agencies = [
        AgencyPublic(
            id=1,
            code="minzdrav_io",
            name="Министерство здравоохранения Иркутской области",
            short_name="Минздрав",
            level="regional",
            email=None,
            phone=None,
            active=True,
        ),
        AgencyPublic(
            id=2,
            code="tfoms_io",
            name="ТФОМС Иркутской области",
            short_name="ТФОМС",
            level="regional",
            email=None,
            phone=None,
            active=True,
        ),
    ]
    return Reference(list(shipped_topics()), agencies, [])


class Host(App[None]):
    """A bare app that opens one dialog and records what it gave back."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[object] = []

    def open(self, screen: Screen[Any]) -> None:
        self.push_screen(screen, self.results.append)


async def test_the_appeal_form_keeps_what_was_typed_and_asks_for_a_citizen_at_once() -> None:
    AppealFormScreen.unsaved.clear()
    ref = reference()
    app = Host()
    async with app.run_test() as pilot:

        def form(has_citizen: bool) -> AppealFormScreen:
            return AppealFormScreen(
                ref, "medicine.free_medicines", "", card_key="card-1", has_citizen=has_citizen
            )

        app.open(form(False))
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, AppealFormScreen) and app.screen.query("#deadlines"),
        )
        screen = app.screen
        assert isinstance(screen, AppealFormScreen)
        assert "нужен гражданин" in text_of(screen, "#appeal-error")  # at once, not at Ctrl+S
        assert "Ctrl+G" in text_of(screen, "#appeal-error")
        screen.agency_code = "tfoms_io"
        screen.query_one("#summary", Input).value = "Нет льготного инсулина в аптеке"
        await pilot.press("ctrl+s")  # refused: no citizen; the form stays with the text
        await pilot.pause()
        assert app.screen is screen and app.results == []
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results == [None], what="closed without a draft")

        app.open(form(False))  # reopened: what was typed is back
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, AppealFormScreen) and app.screen.query("#deadlines"),
        )
        screen = app.screen
        assert isinstance(screen, AppealFormScreen)
        assert screen.query_one("#summary", Input).value == "Нет льготного инсулина в аптеке"
        assert screen.agency_code == "tfoms_io"
        assert "ТФОМС" in text_of(screen, "#agency")
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.results) == 2)

        app.open(form(True))  # the citizen found (Ctrl+G): Ctrl+S accepts the draft
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, AppealFormScreen) and app.screen.query("#deadlines"),
        )
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(app.results) == 3)
        draft = app.results[-1]
        assert isinstance(draft, AppealDraft)
        assert (draft.summary, draft.agency_code) == (
            "Нет льготного инсулина в аптеке",
            "tfoms_io",
        )
        assert "card-1" not in AppealFormScreen.unsaved  # accepted: nothing pending


async def test_the_new_citizen_form_takes_an_email_typed_for_ctrl_g() -> None:
    phone, name = split_lookup("Сидорова anna2000@mail.ru")
    assert (phone, name) == ("", "Сидорова anna2000@mail.ru")
    app = Host()
    async with app.run_test() as pilot:
        app.open(NewCitizenScreen(None, name))
        await wait_for(
            pilot, lambda: isinstance(app.screen, NewCitizenScreen) and app.screen.query("#email")
        )
        screen = app.screen
        assert screen.query_one("#last", Input).value == "Сидорова"
        assert screen.query_one("#email", Input).value == "anna2000@mail.ru"
        screen.query_one("#messenger", Input).value = "vk.com/id123456"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(app.results) == 1)
    citizen = app.results[0]
    assert isinstance(citizen, NewCitizen)
    assert citizen.email == "anna2000@mail.ru"
    assert citizen.messenger_id == "vk.com/id123456"
    assert citizen.body()["email"] == "anna2000@mail.ru"
    assert citizen.body()["messenger_id"] == "vk.com/id123456"
