"""The console's local knowledge-base index, kept current from the backend's change feed,
and its synonym groups, kept current from the backend's synonym data (`GET /kb/synonyms`):
applied at query time, no reindex; the last set is kept beside the index for the next start."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ekc_core.client import EkcClient
from ekc_core.errors import ApiError
from ekc_core.memory import release_memory
from ekc_core.schemas import KbArticlePublic
from kb_index import Article, IndexBusyError, KbIndex, SynonymFileError, Synonyms

log = logging.getLogger("ekc_tui.kb")

PAGE = 1000
#: the backend's synonym groups, as lines of the synonyms file, beside the index
SYNONYMS_FILE = "synonyms-server.txt"
#: the backend's one-way rules (groups with `means`), as lines of the colloquial format
RULES_FILE = "colloquial-server.txt"
#: their version (`KbSynonymSet.version`), so an unchanged set costs one short answer
SYNONYMS_VERSION = "synonyms-server.version"
#: a first sync's articles on their way into the index, beside it
SPOOL_FILE = ".first-sync.sqlite"


class FirstSyncSpool:
    """The articles of a first sync (or a reset), page by page, on disk until they are all
    in: what the feed changes later (an article again, a deletion) replaces or removes them,
    and the index is built from them in the order first seen. A dict held every article's
    text at once instead: hundreds of MB at 50,000 articles, kept by the allocator after."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.unlink(missing_ok=True)  # a sync cut short left it: it starts over
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE article (id TEXT PRIMARY KEY, pos INTEGER NOT NULL, data TEXT NOT NULL)"
        )
        self._pos = 0

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        """Articles of a page (checked as `Article`s first: a bad one fails the sync here)."""
        values = []
        for data in rows:
            article = Article.from_dict(data)
            self._pos += 1
            values.append((article.id, self._pos, json.dumps(data, ensure_ascii=False)))
        self._db.executemany(
            "INSERT INTO article(id, pos, data) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            values,
        )

    def delete(self, ids: list[str]) -> None:
        self._db.executemany("DELETE FROM article WHERE id = ?", [(i,) for i in ids])

    def clear(self) -> None:
        self._db.execute("DELETE FROM article")

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM article").fetchone()[0])

    def articles(self) -> Iterator[Article]:
        for (data,) in self._db.execute("SELECT data FROM article ORDER BY pos"):
            yield Article.from_dict(json.loads(data))

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)


def to_article(a: KbArticlePublic) -> Article:
    return Article.from_dict(a.model_dump())


@dataclass
class SyncResult:
    upserted: int = 0
    deleted: int = 0
    rebuilt: bool = False
    position: int = 0
    synonyms_changed: bool = False


class LocalKb:
    """Open (or create empty) the index in `directory`; `sync` pulls the feed's deltas."""

    def __init__(self, directory: Path, synonyms_path: Path | None = None) -> None:
        synonyms = (
            Synonyms.load(synonyms_path) if synonyms_path and synonyms_path.exists() else None
        )
        cached = directory / SYNONYMS_FILE
        if cached.exists():  # the backend's groups of the last sync win over the shipped file
            try:
                synonyms = Synonyms.load(cached)
            except SynonymFileError as exc:  # never keep the console from starting
                log.warning("KB synonyms of the last sync not usable: %s", exc)
        self.directory = directory
        self._sync_lock = threading.Lock()
        if not (directory / "CURRENT").exists():
            self.index = KbIndex.build(directory, [], synonyms=synonyms)
        else:
            self.index = KbIndex(directory, synonyms=synonyms, source=list)
        rules = directory / RULES_FILE
        if rules.exists():  # checked when the index uses them (a bad line is left out)
            self.index.extra_rules = tuple(rules.read_text(encoding="utf-8").splitlines())

    def close(self) -> None:
        self.index.close()

    def sync(self, client: EkcClient) -> SyncResult:
        """Apply the changes after our position; a first sync (or a reset) rebuilds, from
        the articles spooled to disk (`FirstSyncSpool`)."""
        with self._sync_lock:
            result = SyncResult(position=self.index.position)
            since = self.index.position
            spool = FirstSyncSpool(self.directory / SPOOL_FILE) if since == 0 else None
            try:
                while True:
                    # the compact feed (xz NDJSON of what the index needs): the first sync of
                    # a console on a satellite link downloads a quarter less than the JSON feed
                    page = client.kb_feed(since=since, limit=PAGE)
                    if page.reset:
                        log.info("KB feed reset (server behind us): syncing from the start")
                        since = 0
                        if spool is None:
                            spool = FirstSyncSpool(self.directory / SPOOL_FILE)
                        spool.clear()
                        continue
                    if spool is not None:
                        spool.upsert(page.upserts)
                        spool.delete(list(page.deletions))
                    else:
                        try:
                            stats = self.index.apply(
                                [Article.from_dict(data) for data in page.upserts],
                                page.deletions,
                                position=page.next_since,
                            )
                        except IndexBusyError:
                            log.info("KB index busy; next sync will catch up")
                            break
                        result.upserted += stats.upserted
                        result.deleted += stats.deleted
                    since = page.next_since
                    if not page.more:
                        break
                if spool is not None and since > 0:
                    count = len(spool)
                    self.index.rebuild(spool.articles(), position=since)
                    result.upserted, result.deleted, result.rebuilt = count, 0, True
            finally:
                if spool is not None:
                    spool.close()
                    release_memory()  # a thin client: the rebuild's heap goes back
            result.position = self.index.position
            result.synonyms_changed = self.sync_synonyms(client)
            return result

    def sync_synonyms(self, client: EkcClient) -> bool:
        """Take the backend's synonym groups if they changed (query-time: no reindex).
        A backend without them, or refusing, leaves the current ones in place."""
        version_file = self.directory / SYNONYMS_VERSION
        known = version_file.read_text(encoding="utf-8").strip() if version_file.exists() else None
        try:
            current = client.kb_synonyms(known=known or None)
        except ApiError as exc:
            log.info("KB synonyms not synced: %s", exc)
            return False
        if current.unchanged:
            return False
        lines, rules = current.lines(), current.rules()
        try:
            synonyms = Synonyms.from_lines(lines, source="backend")
        except SynonymFileError as exc:
            log.warning("KB synonyms from the backend not usable: %s", exc)
            return False
        self.index.synonyms = synonyms.for_method(self.index.method)
        self.index.extra_rules = tuple(rules)  # parsed on use; a bad line is left out
        (self.directory / SYNONYMS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        (self.directory / RULES_FILE).write_text("\n".join(rules) + "\n", encoding="utf-8")
        version_file.write_text(current.version, encoding="utf-8")
        log.info(
            "KB synonyms: %d groups, %d rules (version %s)",
            len(lines),
            len(rules),
            current.version,
        )
        return True
