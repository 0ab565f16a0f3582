"""The backend's own knowledge-base index (for integrations: chat bots, the voice assistant).

A cache of the database kept in `EKC_DATA_DIR/kb-index`: before a search it catches up with
the change feed (a few rows), and it is rebuilt when missing or far behind.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlmodel import Session

from ekc_core.schemas import KbArticlePublic, KbSearchHit
from ekc_server.services import kb
from kb_index import Article, IndexBusyError, KbIndex, SearchFilters, Synonyms

log = logging.getLogger("ekc_server.kb")

#: more pending changes than this: a full rebuild is quicker than applying them
REBUILD_ABOVE = 5000
PAGE = 2000


def to_article(a: KbArticlePublic) -> Article:
    return Article.from_dict(a.model_dump())


class ServerKbIndex:
    def __init__(self, directory: Path, synonyms_path: Path) -> None:
        self.directory = directory
        self.synonyms_path = synonyms_path
        self._index: KbIndex | None = None
        self._lock = threading.Lock()

    def _open(self, session: Session) -> KbIndex:
        if self._index is None:
            synonyms = (
                Synonyms.load(self.synonyms_path) if self.synonyms_path.exists() else Synonyms()
            )
            self._index = KbIndex(
                self.directory,
                synonyms=synonyms,
                source=lambda: [to_article(a) for a in kb.export(session=session)],
            )
        return self._index

    def catch_up(self, session: Session) -> KbIndex:
        """Bring the index up to the database's change feed."""
        with self._lock:
            index = self._open(session)
            top = kb.max_seq(session)
            position = index.position
            if position >= top:
                return index
            try:
                if top - position > REBUILD_ABOVE or position == 0:
                    index.rebuild([to_article(a) for a in kb.export(session=session)], position=top)
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
            return index.rebuild(
                [to_article(a) for a in kb.export(session=session)], position=kb.max_seq(session)
            )

    def search(
        self, session: Session, text: str, *, limit: int, filters: SearchFilters, as_you_type: bool
    ) -> list[KbSearchHit]:
        index = self.catch_up(session)
        return [
            KbSearchHit(**h.to_dict())
            for h in index.search(text, limit=limit, filters=filters, as_you_type=as_you_type)
        ]

    def similar(
        self, session: Session, text: str, *, limit: int, filters: SearchFilters
    ) -> list[KbSearchHit]:
        index = self.catch_up(session)
        return [
            KbSearchHit(**h.to_dict())
            for h in index.more_like_this(text, limit=limit, filters=filters)
        ]

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
