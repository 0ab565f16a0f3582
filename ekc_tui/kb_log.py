"""What the operator searched for in the knowledge-base pane, for the backend's gaps report
(`ekc-admin kb gaps`): settled searches, not keystrokes, without personal data.

A *search* is the text of the query box once the operator stops editing it: results shown
for a text that extends or shortens the previous one (typing on, backspacing, correcting
the end of a word) replace it; a text that is neither starts a new search (a rephrasing).
Opening an article from the results settles the search with that article; copying its
answer into the summary marks it copied.

A *session* is the searches for one question: it ends when the operator clears the box
after opening an article, after `SESSION_GAP` seconds without a search, or when the pane
closes. Its searches then go to the outbox as one item (one small request on a satellite
link; the backend skips events it already has, so a repeat stores nothing twice). Queries
are scrubbed by `ekc_core.kb_gaps.scrub_query` (with pymorphy3's person names) before they
are stored; a search with nothing left is not recorded. No citizen, contact or card id.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: seconds without a search after which the session's searches are sent
SESSION_GAP = 180.0
#: outbox title of a batch of searches
TITLE = "Поиски в базе знаний"
#: the pane searches from the first letter; a text of fewer letters than this that cuts back
#: the current one is the start of a new query (F3 and a first key, or backspacing to the
#: start), not the same search corrected: it leaves the current search as it was, so
#: «ветеринар» (nothing found) is not lost when the next query also starts with «в»
MIN_LETTERS = 3


@dataclass
class _Search:
    query: str
    """The longest text typed for this search (backspacing does not shorten it)."""
    hits: int
    at: float
    opened: str | None = None
    copied: bool = False
    current: str = ""
    """The text in the box now (what the next keystroke edits)."""


@dataclass
class SearchLog:
    """The current session's searches; `send` stores a finished session in the outbox."""

    send: Callable[[str, list[dict[str, Any]]], None]
    """Called with (session id, events) when a session ends (`ekc_tui.panes.kb` enqueues)."""
    is_name: Callable[[str], bool] | None = None
    clock: Callable[[], float] = time.time
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    pending: _Search | None = None
    settled: list[_Search] = field(default_factory=list)
    last_at: float = 0.0

    def results(self, query: str, hits: int) -> None:
        """Results were shown for `query` (typed, not suggested)."""
        now = self.clock()
        text = " ".join(query.split())
        if not text:
            return
        if self.last_at and now - self.last_at > SESSION_GAP:
            self.end_session()
        self.last_at = now
        pending = self.pending
        if (
            pending is not None
            and len(text.replace(" ", "")) < MIN_LETTERS
            and pending.current.casefold().startswith(text.casefold())
        ):
            return  # the first letters of what comes next
        if pending is not None and _edits(pending.current, text):
            if not pending.query.casefold().startswith(text.casefold()):
                pending.query, pending.hits, pending.at = text, hits, now  # typed on
            pending.current = text
            return
        self._settle()
        self.pending = _Search(text, hits, now, current=text)

    def opened(self, article_id: str) -> None:
        """An article was opened from the results of the current search."""
        if self.pending is None:
            return
        self.pending.opened = article_id
        self._settle()

    def copied(self, article_id: str) -> None:
        """The opened article's answer went into the card's summary."""
        for search in reversed(self.settled):
            if search.opened == article_id:
                search.copied = True
                return

    def cleared(self) -> None:
        """The query box was emptied: the question is answered if an article was opened."""
        if any(s.opened for s in self.settled):
            self.end_session()

    def tick(self) -> None:
        """Called now and then: a session idle for `SESSION_GAP` is sent."""
        if self.last_at and self.clock() - self.last_at > SESSION_GAP:
            self.end_session()

    def end_session(self) -> None:
        from ekc_core.kb_gaps import BATCH_MAX  # its models: not needed before the first frame

        self._settle()
        events = self.events()
        if events:
            for start in range(0, len(events), BATCH_MAX):
                self.send(self.session, events[start : start + BATCH_MAX])
        self.session = uuid.uuid4().hex
        self.settled = []
        self.last_at = 0.0

    def events(self) -> list[dict[str, Any]]:
        """The settled searches as wire events (`ekc_core.kb_gaps.KbSearchEvent`)."""
        from ekc_core.kb_gaps import scrub_query

        out: list[dict[str, Any]] = []
        for search in self.settled:
            query = scrub_query(search.query, is_name=self.is_name)
            if query is None:
                continue
            out.append(
                {
                    "event_id": uuid.uuid4().hex,
                    "session": self.session,
                    "seq": len(out),
                    "query": query,
                    "hits": search.hits,
                    "opened": search.opened,
                    "copied": search.copied,
                    "at": datetime.fromtimestamp(search.at, UTC).isoformat(),
                }
            )
        return out

    def _settle(self) -> None:
        if self.pending is not None:
            self.settled.append(self.pending)
            self.pending = None


def _edits(before: str, after: str) -> bool:
    """Whether `after` is `before` typed on or cut back (the same search still being typed)."""
    a, b = before.casefold(), after.casefold()
    return a.startswith(b) or b.startswith(a)


def person_name(word: str) -> bool:
    """pymorphy3's reading of `word` is a person's name (imported when first needed: the
    console's index has loaded the analyser by the time a search is stored)."""
    from kb_index.synonyms import looks_like_person_name

    return looks_like_person_name(word)
