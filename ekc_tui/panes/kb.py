"""The knowledge-base pane: search as you type in the local index, suggestions for the open
card, an article opened with Enter (Ctrl+Y there puts its answer into the summary).

Settled searches, what was opened and copied, go to the backend through the outbox for the
gaps report, without personal data (`ekc_tui.kb_log`)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from rich.markup import escape
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, get_current_worker

from ekc_tui import failures
from ekc_tui.kb_log import TITLE, SearchLog, person_name
from ekc_tui.messages import KbResults
from ekc_tui.text import highlight

if TYPE_CHECKING:
    from ekc_tui.app import EkcConsole
    from kb_index import SearchHit

log = logging.getLogger("ekc_tui.kb")

#: as-you-type search starts at the first letter (one or two letters of the query's first
#: word stand for their most frequent completions: `kb_index.vocabulary.SHORT_KEPT`)
MIN_QUERY = 1
#: results of a typed search
SEARCH_LIMIT = 20
#: seconds between checks for an idle search session to send
SESSION_CHECK = 30.0
#: result rows whose options are kept for reuse (a few searches' worth)
OPTION_CACHE = 200


@dataclass(frozen=True)
class _Wanted:
    """The text to search for, from the keystroke numbered `seq`, not before `not_before`
    (perf_counter seconds)."""

    seq: int
    text: str
    not_before: float


@dataclass(frozen=True)
class _Row:
    """One row of the result list as it is drawn."""

    id: str
    title: str
    topic: str
    fragment: str


class QueryInput(Input):
    """The query box. Textual's Input sets its virtual width to the text's at every
    keystroke, and declares that a layout change: the whole screen was laid out again per
    key. Here it is only a repaint (the box has a fixed size; scrolling within it reads the
    virtual width directly)."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)

    def type_on(self, text: str) -> None:
        """Take the focus and add `text` at the end of the query. F3 selects the whole
        query (a new one replaces it); typing on from the results must not: the focus this
        asks for (Textual gives it a moment later) selects nothing, until the box loses it."""
        self.select_on_focus = False
        self.focus()
        self.cursor_position = len(self.value)
        self.insert_text_at_cursor(text)

    def on_blur(self) -> None:
        self.select_on_focus = True


class ResultList(OptionList):
    """The results: a new list changes the virtual height, which Textual declares a layout
    change of the screen; the list's own update of its scroll bars is all that it needs."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)

    def on_key(self, event: events.Key) -> None:
        """A letter typed on the results (after an article is read and closed) goes on at
        the end of the query, as if the box had kept the focus: typing to search again
        needs no F3 first."""
        if not event.is_printable or not event.character:
            return
        event.stop()
        event.prevent_default()
        self.screen.query_one("#kb-query", QueryInput).type_on(event.character)

    def on_paste(self, event: events.Paste) -> None:
        """Pasted text goes on in the query as typed letters would."""
        if event.text:
            event.stop()
            self.screen.query_one("#kb-query", QueryInput).type_on(event.text)


class KbPane(Vertical):
    """Query, a line about the results, the results."""

    def __init__(self) -> None:
        super().__init__(id="kb-pane")
        self.seq = 0
        self.hits: list[SearchHit] = []
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._wanted: _Wanted | None = None
        self._last_key = 0.0
        self._info = ""
        self._rows: list[_Row] = []
        """What the result list shows now, row by row (an unchanged list is not rebuilt)."""
        self._options: dict[_Row, Option] = {}
        """Rows shown recently with their options (markup parsed, height measured once)."""
        self.suggested = False
        """The results shown are suggestions for the card, not a search."""
        self.search_log = SearchLog(send=self._send_searches, is_name=person_name)

    def on_mount(self) -> None:
        self.set_interval(SESSION_CHECK, self.search_log.tick)

    def on_unmount(self) -> None:
        try:
            self.search_log.end_session()
        except Exception:  # the console is closing: the searches are not worth a crash
            log.exception("KB searches not stored")

    def _send_searches(self, session: str, events: list[dict[str, Any]]) -> None:
        """A finished search session into the outbox (not counted as the operator's work)."""
        from ekc_core.client_kb import SEARCH_EVENTS_PATH  # the admin client: not at start
        from ekc_tui.outbox import new_key, step

        body = {"events": events}
        now = datetime.now(UTC)
        self.console.desk.enqueue(
            new_key(),
            TITLE,
            [step("searches", SEARCH_EVENTS_PATH, body, occurred_at=now)],
            background=True,  # not the operator's work: not counted as unsent
        )
        self.console.after_save()  # without the background loops (tests): send it now

    @property
    def console(self) -> EkcConsole:
        return cast("EkcConsole", self.app)

    def compose(self) -> ComposeResult:
        yield QueryInput(placeholder="Поиск в базе знаний (F3)…", id="kb-query")
        yield Static("", id="kb-info", classes="dim")
        yield ResultList(id="kb-results")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failures.handle(self.console, event)

    def alive(self) -> bool:
        return not self.console.stopping and not get_current_worker().is_cancelled

    def focus_query(self) -> None:
        """F3: the query box, its text selected (typing replaces it with a new query)."""
        box = self.query_one("#kb-query", QueryInput)
        box.select_on_focus = True
        box.focus()
        box.select_all()

    def clear_query(self) -> None:
        self.query_one("#kb-query", Input).value = ""

    @property
    def query_text(self) -> str:
        return self.query_one("#kb-query", Input).value

    @on(Input.Changed, "#kb-query")
    def _changed(self, event: Input.Changed) -> None:
        self.seq += 1
        text = event.value.strip()
        if len(text) >= MIN_QUERY:
            now = time.perf_counter()
            debounce = self.console.settings.search_debounce
            # a key after a pause is searched at once; keys typed closer together than the
            # debounce (a burst, key repeat) wait for their pause, so the searches they
            # would start and at once make stale are not run
            burst = now - self._last_key < debounce
            self._last_key = now
            with self._lock:
                self._wanted = _Wanted(self.seq, event.value, now + debounce if burst else now)
            self._event.set()
        elif not text:
            self.search_log.cleared()
            self.suggest()

    @on(Input.Submitted, "#kb-query")
    def _submitted(self) -> None:
        results = self.query_one("#kb-results", OptionList)
        if self.hits:
            results.focus()
            if results.highlighted is None:
                results.highlighted = 0
            self.open_article(self.hits[results.highlighted or 0].id)

    @work(thread=True, exclusive=True, group="kb-pump", exit_on_error=False)
    def _kb_pump(self) -> None:
        """One search at a time, always for the newest text: keystrokes typed while a search
        runs are folded into the next one instead of queueing behind it, and the results of
        a search the operator typed past while it ran are dropped here, not drawn."""
        from kb_index import SearchCancelled  # after the first frame: the index is heavy

        while self.alive():
            if not self._event.wait(0.5):
                continue
            self._event.clear()
            wanted = self._take_wanted()
            if wanted is None or wanted.seq != self.seq:
                continue  # already stale: the newer text is queued
            seq = wanted.seq

            def typed_past(seq: int = seq) -> bool:
                return seq != self.seq

            try:
                hits = self.console.desk.kb.index.search(
                    wanted.text, limit=SEARCH_LIMIT, as_you_type=True, cancelled=typed_past
                )
            except SearchCancelled:
                continue  # typed past while it ran: stopped between its steps
            if wanted.seq != self.seq:
                continue  # typed past while it ran: the newer text is queued
            self.post_message(KbResults(wanted.seq, wanted.text, hits))

    def _take_wanted(self) -> _Wanted | None:
        """The newest text to search, once its burst of keys has paused (worker thread)."""
        while self.alive():
            with self._lock:
                wanted = self._wanted
                if wanted is None:
                    return None
                pause = wanted.not_before - time.perf_counter()
                if pause <= 0:
                    self._wanted = None
                    return wanted
            time.sleep(pause)  # a key typed meanwhile moves `not_before` on
        return None

    def suggest(self) -> None:
        """Articles for the open card (its transcript or text, its topic)."""
        card = self.console.card
        if card is None:
            self.suggested = True
            self._show([], "Подсказки появятся, когда будет контакт")
            return
        handoff = card.contact.handoff if card.contact else None
        text = " ".join(t for t in ((handoff.transcript if handoff else None), card.text) if t)
        self.seq += 1
        self._kb_suggest(self.seq, text, card.topic_code)

    @work(thread=True, exclusive=True, group="kb", exit_on_error=False)
    def _kb_suggest(self, seq: int, text: str, topic: str | None) -> None:
        from kb_index import SearchFilters  # after the first frame: the index is heavy

        index = self.console.desk.kb.index
        hits: list[SearchHit] = []
        if text:
            hits = index.more_like_this(text, limit=8, filters=SearchFilters(topic=topic))
            if not hits:
                hits = index.more_like_this(text, limit=8)
        ref = self.console.ref
        if not hits and topic and ref:
            hits = index.search(ref.topic_name(topic), limit=8, filters=SearchFilters(topic=topic))
        self.post_message(KbResults(seq, "", hits, suggested=True))

    def on_kb_results(self, message: KbResults) -> None:
        message.stop()
        if message.seq != self.seq:
            return  # stale
        if message.suggested:
            info = (
                f"Подсказки по обращению: {len(message.hits)}" if message.hits else "Подсказок нет"
            )
        else:
            info = f"Найдено: {len(message.hits)}" if message.hits else "Ничего не найдено"
            self.search_log.results(message.query, len(message.hits))
        self.suggested = message.suggested
        self._show(message.hits, info)
        self.console.last_kb_results = (time.perf_counter(), message.query)

    def _show(self, hits: list[SearchHit], info: str) -> None:
        self.hits = hits
        line = info + " · Enter — открыть статью"
        if line != self._info:
            self._info = line
            # one line of fixed height: no layout of the screen for it
            self.query_one("#kb-info", Static).update(line, layout=False)
        ref = self.console.ref
        rows = [
            _Row(
                h.id,
                h.title,
                ref.topic_name(h.topic) if ref and h.topic else "",
                h.highlights[0] if h.highlights else "",
            )
            for h in hits
        ]
        if rows == self._rows:
            return  # the same articles with the same fragments: the list stays as it is
        self._rows = rows
        if len(self._options) > OPTION_CACHE:
            self._options = {row: self._options[row] for row in rows if row in self._options}
        options = [self._options.get(row) or self._option(row) for row in rows]
        results = self.query_one("#kb-results", OptionList)
        results.set_options(options)
        if options:
            results.highlighted = 0

    def _option(self, row: _Row) -> Option:
        label = f"[b]{highlight(row.title)}[/b]\n  [i]{escape(row.topic)}[/i]"
        if row.fragment:
            label += f"\n  [dim]{highlight(row.fragment, limit=160)}[/]"
        option = self._options[row] = Option(label, id=row.id)
        return option

    @on(OptionList.OptionSelected, "#kb-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.open_article(event.option.id)

    def open_article(self, article_id: str) -> None:
        from ekc_tui.screens import ArticleScreen

        article = self.console.desk.kb.index.get(article_id)
        if article is None:
            return
        ref = self.console.ref
        topic = ref.topic_path(article.topic) if ref else article.topic or ""
        from_search = not self.suggested
        if from_search:
            self.search_log.opened(article_id)

        def copied(text: object) -> None:
            if isinstance(text, str) and text:
                if from_search:
                    self.search_log.copied(article_id)
                self.console.wrap_pane.append_summary(text)
                self.notify("Ответ вставлен в итог (F5)", timeout=3)

        self.app.push_screen(ArticleScreen(article, topic), copied)
