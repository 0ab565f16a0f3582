"""The KB pane between the keystroke and the index, and between the results and the screen:
a search the operator typed past while it ran is never drawn and the newest text is searched
next (nothing queued behind it); an unchanged result list is not rebuilt and rows shown
before keep their options (Pilot, real backend, the console's real local index)."""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import OptionList

from ekc_tui.app import EkcConsole
from ekc_tui.panes.kb import QueryInput
from tests.tui_support import PASSWORD, Backend, settings_for, signed_in, wait_for

pytestmark = pytest.mark.usefixtures("empty_queue")


class LoggingConsole(EkcConsole):
    """The console with every query whose results were drawn kept in order."""

    CSS_PATH = str(Path(inspect.getfile(EkcConsole)).parent / str(EkcConsole.CSS_PATH))

    @property
    def last_kb_results(self) -> tuple[float, str] | None:
        shown: list[tuple[float, str]] = self.__dict__.setdefault("_drawn", [])
        return shown[-1] if shown else None

    @last_kb_results.setter
    def last_kb_results(self, value: tuple[float, str] | None) -> None:
        if value is not None:
            self.__dict__.setdefault("_drawn", []).append(value)

    def shown(self) -> list[str]:
        return [query for _, query in self.__dict__.get("_drawn", [])]


@asynccontextmanager
async def signed_in_console(
    backend: Backend, tmp_path: Path, size: tuple[int, int]
) -> AsyncIterator[tuple[LoggingConsole, Pilot[None]]]:
    """The console of `backend`'s operator, signed in, at `size`."""
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = LoggingConsole(settings, login=(backend.operator, PASSWORD))
    async with app.run_test(size=size) as pilot:
        await signed_in(app, pilot)
        yield app, pilot


async def test_a_search_typed_past_is_never_drawn_and_the_newest_text_goes_next(
    backend, tmp_path
) -> None:
    async with signed_in_console(backend, tmp_path, (120, 40)) as (app, pilot):
        await pilot.press("f3", *"пенс")
        await wait_for(pilot, lambda: "пенс" in app.shown(), what="results for «пенс»")

        index = app.desk.kb.index
        search = index.search
        calls: list[str] = []
        running, release = threading.Event(), threading.Event()

        def held_search(text: str, **kwargs: Any) -> Any:
            """The first search from here on runs until the test lets it finish."""
            calls.append(text)
            if len(calls) == 1:
                running.set()
                release.wait(30)
            return search(text, **kwargs)

        index.search = held_search  # type: ignore[method-assign]
        drawn = len(app.shown())
        await pilot.press("и")
        assert await asyncio.to_thread(running.wait, 30), "«пенси» was not searched"
        await pilot.press("я")  # typed while «пенси» is being searched
        await pilot.pause(0.2)
        release.set()
        await wait_for(pilot, lambda: "пенсия" in app.shown(), what="results for «пенсия»")
        await pilot.pause(0.3)

        assert calls == ["пенси", "пенсия"]  # one search each, nothing queued behind
        assert app.shown()[drawn:] == ["пенсия"]  # the overtaken results never drawn
        assert app.kb_pane.query_text == "пенсия"


async def test_an_unchanged_list_is_not_rebuilt_and_rows_keep_their_options(
    backend, tmp_path
) -> None:
    async with signed_in_console(backend, tmp_path, (120, 40)) as (app, pilot):
        await pilot.press("f3", *"пенсия")
        await wait_for(pilot, lambda: "пенсия" in app.shown(), what="results")
        pane = app.kb_pane
        hits = list(pane.hits)
        assert len(hits) >= 3, "the shipped articles have several about pensions"
        results = app.query_one("#kb-results", OptionList)
        before = list(results.options)
        assert [o.id for o in before] == [h.id for h in hits]
        results.highlighted = 2  # the operator moved down the list

        pane._show(list(hits), "Найдено: повторно")  # the same results again
        await pilot.pause()
        assert all(a is b for a, b in zip(results.options, before, strict=True))
        assert results.highlighted == 2  # not rebuilt: the cursor stays
        assert "повторно" in str(app.query_one("#kb-info").render())

        pane._show(hits[1:], "Найдено: меньше")  # the first article went away
        await pilot.pause()
        assert [o.id for o in results.options] == [h.id for h in hits[1:]]
        assert all(a is b for a, b in zip(results.options, before[1:], strict=True))
        assert results.highlighted == 0

        pane._show([], "Ничего не найдено")
        await pilot.pause()
        assert results.option_count == 0 and pane.hits == []


async def test_long_queries_and_long_result_lists_still_scroll(backend, tmp_path) -> None:
    """The query box and the result list are not laid out again at every change (their
    size is fixed): the box still scrolls to the cursor, the list to its highlighted row."""
    async with signed_in_console(backend, tmp_path, (100, 24)) as (app, pilot):
        query = (
            "справка о составе семьи для получения субсидии на оплату жилья и коммунальных"
            " услуг в многоквартирном доме"
        )
        await pilot.press("f3", *query)
        await wait_for(pilot, lambda: query in app.shown(), what="results")
        box = app.query_one("#kb-query", QueryInput)
        assert len(query) > box.scrollable_content_region.width
        assert box.scroll_x == box.max_scroll_x > 0  # the end of the text, with the cursor
        await pilot.press("home")
        await pilot.pause()
        assert box.scroll_x == 0
        await pilot.press("end", *["backspace"] * 40)  # cut back to fit the box
        await pilot.pause()
        assert len(box.value) < box.scrollable_content_region.width
        assert box.scroll_x == 0  # all of it in view again

        results = app.query_one("#kb-results", OptionList)
        assert results.option_count >= 8, "a long query finds many articles"
        assert results.max_scroll_y > 0  # taller than its room
        results.focus()
        await pilot.press("end")
        await pilot.pause()
        assert results.highlighted == results.option_count - 1
        assert results.scroll_y == results.max_scroll_y


async def test_letters_typed_on_the_results_go_on_in_the_query(backend, tmp_path) -> None:
    """After an article is read and closed the results have the focus: the operator types
    on and the letters land at the end of the query, which is searched again."""
    async with signed_in_console(backend, tmp_path, (100, 24)) as (app, pilot):
        await pilot.press("f3", *"пенсия")
        await wait_for(pilot, lambda: "пенсия" in app.shown(), what="results")
        results = app.query_one("#kb-results", OptionList)
        results.focus()
        await pilot.press("enter")  # the article
        await pilot.pause()
        await pilot.press("escape")  # back: the results keep the focus
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "kb-results"
        await pilot.press("home")  # a key of the list stays the list's
        box = app.query_one("#kb-query", QueryInput)
        assert box.value == "пенсия", box.value
        await pilot.press(*" по инвалидности")
        assert app.focused is not None and app.focused.id == "kb-query"
        assert box.value == "пенсия по инвалидности"
        await pilot.press("f3", *"кварплата")  # F3 still selects the query: a new one
        assert box.value == "кварплата"
        results.focus()
        await pilot.pause()
        app.post_message(events.Paste(" долг"))  # a paste on the results goes on too
        await pilot.pause()
        assert box.value == "кварплата долг"
        await wait_for(pilot, lambda: "пенсия по инвалидности" in app.shown(), what="results")


async def test_the_first_letter_already_shows_results(backend, tmp_path) -> None:
    """Every key answers: a letter typed alone is searched as the start of a word, and the
    results narrow as the operator types on."""
    async with signed_in_console(backend, tmp_path, (120, 40)) as (app, pilot):
        await pilot.press("f3", "п")
        await wait_for(pilot, lambda: "п" in app.shown(), what="results for «п»")
        pane = app.kb_pane

        def starting(prefix: str) -> bool:
            """Each of the first three hits has a word that starts with `prefix`."""
            return all(
                re.search(rf"\b{prefix}", (h.title + " " + " ".join(h.highlights)).lower())
                for h in pane.hits[:3]
            )

        assert len(pane.hits) >= 3, "the shipped articles have words that start with «п»"
        assert starting("п")
        await pilot.press(*"енсия по")
        await wait_for(pilot, lambda: "пенсия по" in app.shown(), what="results for «пенсия по»")
        assert len(pane.hits) >= 3 and starting("пенси")
