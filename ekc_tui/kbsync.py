"""The console's local knowledge-base index, kept current from the backend's change feed,
and its synonym groups, kept current from the backend's synonym data (`GET /kb/synonyms`):
applied at query time, no reindex; the last set is kept beside the index for the next start."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from ekc_core.client import EkcClient
from ekc_core.errors import ApiError
from ekc_core.schemas import KbArticlePublic
from kb_index import Article, IndexBusyError, KbIndex, SynonymFileError, Synonyms

log = logging.getLogger("ekc_tui.kb")

PAGE = 1000
#: the backend's synonym groups, as lines of the synonyms file, beside the index
SYNONYMS_FILE = "synonyms-server.txt"
#: their version (`KbSynonymSet.version`), so an unchanged set costs one short answer
SYNONYMS_VERSION = "synonyms-server.version"


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

    def close(self) -> None:
        self.index.close()

    def sync(self, client: EkcClient) -> SyncResult:
        """Apply the changes after our position; a first sync (or a reset) rebuilds."""
        with self._sync_lock:
            result = SyncResult(position=self.index.position)
            since = self.index.position
            first = since == 0
            collected: dict[str, Article] = {}
            while True:
                # the compact feed (xz NDJSON of what the index needs): the first sync of a
                # console on a satellite link downloads a quarter less than the JSON feed
                page = client.kb_feed(since=since, limit=PAGE)
                if page.reset:
                    log.info("KB feed reset (server behind us): syncing from the start")
                    since, first, collected = 0, True, {}
                    continue
                if first:
                    for data in page.upserts:
                        article = Article.from_dict(data)
                        collected[article.id] = article
                    for article_id in page.deletions:
                        collected.pop(article_id, None)
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
            if first and since > 0:
                # worker processes pay off only for big sets (spawning them costs seconds)
                self.index.build_procs = 1 if len(collected) < 5000 else 2
                self.index.rebuild(collected.values(), position=since)
                result.upserted, result.rebuilt = len(collected), True
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
        lines = current.lines()
        try:
            synonyms = Synonyms.from_lines(lines, source="backend")
        except SynonymFileError as exc:
            log.warning("KB synonyms from the backend not usable: %s", exc)
            return False
        self.index.synonyms = synonyms.for_method(self.index.method)
        (self.directory / SYNONYMS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        version_file.write_text(current.version, encoding="utf-8")
        log.info("KB synonyms: %d groups (version %s)", len(lines), current.version)
        return True
