"""The backend's own knowledge-base index (for integrations: chat bots, the voice assistant).

A cache of the database kept in `EKC_DATA_DIR/kb-index`: before a search it catches up with
the change feed (a few rows), and it is rebuilt when missing or far behind. The app opens
(or builds) it at start in a background thread (`warm`), so the first search does not pay
for building it and the server answers `/health` meanwhile. The synonym groups and one-way
rules admins edit (`ekc-admin kb synonyms`) are data too: a search takes a new version
within SYNONYMS_CHECK_SECONDS, whichever process or worker stored it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from ekc_core.memory import release_memory
from ekc_core.schemas import KbArticlePublic, KbSearchHit
from ekc_server.services import kb, kb_gaps
from kb_index import Article, IndexBusyError, KbIndex, SearchFilters, Synonyms

log = logging.getLogger("ekc_server.kb")

#: more pending changes than this: a full rebuild is quicker than applying them
REBUILD_ABOVE = 5000
PAGE = 2000
#: how often a search looks at the synonym data's version (edits through other workers)
SYNONYMS_CHECK_SECONDS = 5.0


def to_article(a: KbArticlePublic) -> Article:
    return Article.from_dict(a.model_dump())


class ServerKbIndex:
    def __init__(self, directory: Path, synonyms_path: Path, engine: Engine | None = None) -> None:
        self.directory = directory
        self.synonyms_path = synonyms_path
        #: rebuilding a missing or corrupt index reads the articles in a session of its
        #: own (when None: the session of the request that opened the index)
        self.engine = engine
        self._index: KbIndex | None = None
        self._lock = threading.Lock()
        self._warm: threading.Thread | None = None
        #: set once `warm` is done (whether it succeeded or not)
        self.ready = threading.Event()
        #: seconds the start-up open/build/catch-up took (None: not done)
        self.warm_seconds: float | None = None
        self._synonyms_version: str | None = None
        self._synonyms_checked = float("-inf")

    def _articles(self, session: Session) -> Iterator[Article]:
        """Every live article for a rebuild, a page at a time, each page read in a short
        session of its own: a rebuild of 50,000 takes a minute, and holds no connection of
        the pool meanwhile, nor all the articles at once (600 MB). Articles changed while
        it reads have feed positions past the one the rebuild records: the next catch-up
        applies them."""
        after: str | None = None
        while True:
            if self.engine is None:
                page = [to_article(a) for a in kb.export(session=session, after=after, limit=PAGE)]
            else:
                with Session(self.engine) as own:
                    page = [to_article(a) for a in kb.export(session=own, after=after, limit=PAGE)]
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].id

    def _end_read(self, session: Session) -> None:
        """End the caller's read transaction before a rebuild reads in sessions of its own
        (a connection idle in a transaction for a minute: the pool's, and VACUUM's)."""
        if self.engine is not None:
            session.commit()

    def _open(self, session: Session) -> KbIndex:
        if self._index is None:
            synonyms = (
                Synonyms.load(self.synonyms_path) if self.synonyms_path.exists() else Synonyms()
            )
            # a missing or damaged index opens empty (position 0): `catch_up` then builds it
            # once, with its feed position (a build from `source` here was thrown away)
            self._index = KbIndex(self.directory, synonyms=synonyms, source=lambda: [])
        return self._index

    # --- start-up -----------------------------------------------------------------------

    def warm(self, engine: Engine) -> None:
        """Open (or build) the index, catch up with the change feed and run one search so
        the Russian analysis is loaded: what the first search used to wait for. Never
        raises: a failure is logged and the first search tries again."""
        started = time.perf_counter()
        try:
            with Session(engine) as session:
                if kb_gaps.seed(session=session, path=self.synonyms_path):
                    session.commit()
                index = self.catch_up(session)
                self.sync_synonyms(session, force=True)
                index.search("пенсия", limit=1)
            self.warm_seconds = time.perf_counter() - started
            log.info("KB index ready in %.2f s", self.warm_seconds)
        except Exception:  # the server must start anyway; the first search tries again
            log.exception("KB index could not be prepared at start")
        finally:
            self.ready.set()

    def start_warming(self, engine: Engine) -> threading.Thread:
        """`warm` in a daemon thread (the server answers meanwhile; searches wait for it)."""
        thread = threading.Thread(
            target=self.warm, args=(engine,), name="kb-index-warm", daemon=True
        )
        self._warm = thread
        thread.start()
        return thread

    def wait_warm(self, timeout: float) -> bool:
        """Wait for the start-up thread (at shutdown); True when it is done."""
        if self._warm is not None:
            self._warm.join(timeout)
            return not self._warm.is_alive()
        return True

    def catch_up(self, session: Session, *, wait: bool = True) -> KbIndex:
        """Bring the index up to the database's change feed. `wait=False` (searches): while
        another thread is catching up (a big batch being indexed), the index as it is."""
        if not self._lock.acquire(blocking=wait):
            if self._index is not None:
                return self._index
            self._lock.acquire()
        try:
            return self._catch_up(session)
        finally:
            self._lock.release()

    def _catch_up(self, session: Session) -> KbIndex:
        index = self._open(session)
        top = kb.max_seq(session)
        position = index.position
        if position >= top:
            return index
        try:
            if top - position > REBUILD_ABOVE or position == 0:
                self._end_read(session)
                try:
                    index.rebuild(self._articles(session), position=top)
                finally:
                    release_memory()
                return index
            since = position
            while True:
                page = kb.changes(session=session, since=since, limit=PAGE)
                index.apply(
                    [to_article(a) for a in page.upserts],
                    page.deletions,
                    position=page.next_since,
                )
                since = page.next_since
                if not page.more:
                    break
        except IndexBusyError:
            log.info("KB index busy (another process is updating it); searching as is")
        return index

    def rebuild(self, session: Session) -> int:
        with self._lock:
            index = self._open(session)
            top = kb.max_seq(session)
            self._end_read(session)
            try:
                return index.rebuild(self._articles(session), position=top)
            finally:
                release_memory()

    def sync_synonyms(self, session: Session, *, force: bool = False) -> None:
        """Give the index the database's synonym groups and rules when their version
        changed; looked at every SYNONYMS_CHECK_SECONDS at most unless `force`d."""
        now = time.monotonic()
        if not force and now - self._synonyms_checked < SYNONYMS_CHECK_SECONDS:
            return
        self._synonyms_checked = now
        found = kb_gaps.for_search(session=session, known=self._synonyms_version)
        if found is None:
            return
        version, synonyms, rules = found
        index = self._open(session)
        index.synonyms = synonyms.for_method(index.method)
        index.extra_rules = rules
        self._synonyms_version = version
        log.info("KB synonyms: version %s, %d rules", version, len(rules))

    def search(
        self, session: Session, text: str, *, limit: int, filters: SearchFilters, as_you_type: bool
    ) -> list[KbSearchHit]:
        index = self.catch_up(session, wait=False)
        self.sync_synonyms(session)
        return [
            KbSearchHit(**h.to_dict())
            for h in index.search(text, limit=limit, filters=filters, as_you_type=as_you_type)
        ]

    def similar(
        self, session: Session, text: str, *, limit: int, filters: SearchFilters
    ) -> list[KbSearchHit]:
        index = self.catch_up(session, wait=False)
        self.sync_synonyms(session)
        return [
            KbSearchHit(**h.to_dict())
            for h in index.more_like_this(text, limit=limit, filters=filters)
        ]

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
