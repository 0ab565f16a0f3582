"""The knowledge-base index: build, incremental update, search, "more like this".

On disk, `DIR/CURRENT` names the live generation folder `DIR/gen-*`. A full rebuild writes
a new generation and swaps `CURRENT` atomically; readers of the old one finish undisturbed.
Incremental changes go through one Whoosh writer with a lock timeout.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as Q  # noqa: N812  (Whoosh docs spell it so)
from whoosh.index import LockError
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from kb_index import analysis
from kb_index.analysis import DEFAULT_METHOD
from kb_index.arrays import leaf_readers, open_arrays
from kb_index.bulk import BulkSegmentWriter
from kb_index.colloquial import shipped as shipped_colloquial
from kb_index.colloquial import with_extra
from kb_index.engine import Bm25Params, Engine
from kb_index.highlight import WordForms, fragments
from kb_index.models import Article, SearchHit
from kb_index.query import QueryBuilder, SearchFilters
from kb_index.schema import ANALYSIS, analysis_version, build_schema, document, open_generation
from kb_index.synonyms import Synonyms
from kb_index.vocabulary import Vocabulary

log = logging.getLogger("kb_index")

CURRENT = "CURRENT"
#: inside a generation: the change-feed position the index reflects
POSITION = "POSITION"
#: candidates gathered per requested hit before the final ranking
CANDIDATE_FACTOR = 2
MIN_CANDIDATES = 20
TEXT_FIELDS = ("title", "tags", "body")


class SearchCancelled(Exception):  # noqa: N818  (a signal, not an error)
    """The caller's `cancelled()` said the search is no longer wanted (typed past)."""


class IndexBusyError(RuntimeError):
    """Another writer holds the index lock longer than the timeout."""


@dataclass(frozen=True)
class Tuning:
    """Ranking parameters (BM25F and field weights).

    Tuned with `python bench/kb_relevance.py --tune` on the shipped query set: a title
    weight of 1.5 gave MRR 0.930 against 0.912 at 3.0; tags 2.0 and B were flat.
    """

    title_boost: float = 1.5
    tags_boost: float = 2.0
    body_boost: float = 1.0
    k1: float = 1.2
    b: float = 0.75
    title_b: float = 0.5
    tags_b: float = 0.3


@dataclass(frozen=True)
class ChangeStats:
    upserted: int
    deleted: int


class KbIndex:
    """A Whoosh index of articles with one searcher kept open and refreshed.

    `source` (optional) yields every article; it is used to rebuild a missing or corrupt
    index instead of failing.
    """

    def __init__(
        self,
        directory: Path,
        *,
        method: str = DEFAULT_METHOD,
        synonyms: Synonyms | None = None,
        tuning: Tuning | None = None,
        lock_timeout: float = 5.0,
        source: Callable[[], Iterable[Article]] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.method = method
        self.synonyms = (synonyms or Synonyms(method=method)).for_method(method)
        #: one-way rules beyond the colloquial data file, as lines of its format (the ones
        #: admins add on the backend: `ekc-admin kb synonyms add … --means …`); assigned,
        #: like `synonyms`, at query time
        self.extra_rules: tuple[str, ...] = ()
        self.tuning = tuning or Tuning()
        self.lock_timeout = lock_timeout
        self.source = source
        self._lock = threading.RLock()
        self._index: Any = None
        self._searcher: Searcher | None = None
        self._engine: Engine | None = None
        self._vocabulary: Vocabulary | None = None
        self._word_forms = WordForms()
        self._open()

    # --- lifecycle ----------------------------------------------------------------------

    @classmethod
    def build(cls, directory: Path, articles: Iterable[Article], **kwargs: Any) -> KbIndex:
        """A new index of `articles` at `directory` (an old one there is replaced)."""
        items = list(articles)
        directory.mkdir(parents=True, exist_ok=True)
        if not (directory / CURRENT).exists():
            # an empty first generation, so that opening is not a "missing index" event
            gen_name = f"gen-{uuid.uuid4().hex[:12]}"
            (directory / gen_name).mkdir()
            whoosh_index.create_in(
                str(directory / gen_name), build_schema(kwargs.get("method", DEFAULT_METHOD))
            )
            (directory / gen_name / ANALYSIS).write_text(
                str(analysis.ANALYSIS_VERSION), encoding="utf-8"
            )
            (directory / CURRENT).write_text(gen_name, encoding="utf-8")
        index = cls(directory, source=lambda: items, **kwargs)
        index.rebuild(items)
        return index

    def _current_dir(self) -> Path | None:
        try:
            name = (self.directory / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return self.directory / name if name else None

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        gen = self._current_dir()
        problem = None
        if gen is None or not gen.is_dir():
            problem = "missing"
        else:
            try:
                if analysis_version(gen) != analysis.ANALYSIS_VERSION:
                    raise ValueError("built with another analysis version")
                idx = open_generation(gen)
                # touch the schema and the segments: a damaged index fails here
                with idx.searcher() as s:
                    s.doc_count()
                self._set_index(idx)
                return
            except Exception as exc:  # any damage: unreadable TOC, segments, pickles
                problem = f"corrupt ({type(exc).__name__}: {exc})"
        articles = list(self.source()) if self.source else []
        log.warning(
            "KB index at %s is %s; rebuilding from %d articles",
            self.directory,
            problem,
            len(articles),
        )
        self.rebuild(articles)

    def _set_index(self, idx: Any) -> None:
        with self._lock:
            old = self._searcher
            searcher = idx.searcher(weighting=self._weighting())
            gen = self._current_dir()
            assert gen is not None
            engine = self._make_engine(searcher, gen)
            self._index = idx
            self._searcher = searcher
            self._engine = engine
            self._vocabulary = Vocabulary(engine)
            if old is not None:
                old.close()

    def _make_engine(self, searcher: Searcher, gen: Path) -> Engine:
        """The postings arrays of the searcher's segments (built for new segments)."""
        reader = searcher.reader()
        deleted: list[int] = []
        for sub, offset in leaf_readers(reader):
            if sub.has_deletions():
                deleted.extend(offset + d for d in sub.segment().deleted_docs())
        t = self.tuning
        params = Bm25Params(k1=t.k1, b={"title": t.title_b, "tags": t.tags_b, "body": t.b})
        return Engine.create(open_arrays(reader, gen), deleted, params)

    def _weighting(self) -> BM25F:
        t = self.tuning
        return BM25F(B=t.b, K1=t.k1, title_B=t.title_b, tags_B=t.tags_b)

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    def __enter__(self) -> KbIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def position(self) -> int:
        """The change-feed sequence number this index is current to (0: unknown)."""
        gen = self._current_dir()
        try:
            return int((gen / POSITION).read_text(encoding="utf-8")) if gen else 0
        except (FileNotFoundError, ValueError):
            return 0

    def _set_position(self, gen: Path, position: int | None) -> None:
        if position is None:
            return
        tmp = gen / f".{POSITION}.tmp"
        tmp.write_text(str(position), encoding="utf-8")
        tmp.replace(gen / POSITION)

    def rebuild(self, articles: Iterable[Article], *, position: int | None = None) -> int:
        """Index everything into a new generation, then swap it in atomically.

        The generation's one segment is written by `BulkSegmentWriter` (postings kept in
        memory, the same segment Whoosh's writer makes, without its external sort)."""
        gen_name = f"gen-{uuid.uuid4().hex[:12]}"
        gen = self.directory / gen_name
        gen.mkdir(parents=True)
        idx = whoosh_index.create_in(str(gen), build_schema(self.method))
        writer = BulkSegmentWriter(idx)
        count = 0
        try:
            for article in articles:
                writer.add_document(**document(article))
                count += 1
            writer.commit()
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            shutil.rmtree(gen, ignore_errors=True)
            raise
        finally:
            # a rebuild's words are not a searcher's: the word caches go back to empty
            analysis.index_forms.cache_clear()
            analysis.stem.cache_clear()
        self._set_position(gen, position)
        (gen / ANALYSIS).write_text(str(analysis.ANALYSIS_VERSION), encoding="utf-8")
        pointer = self.directory / f".{CURRENT}.{gen_name}"
        pointer.write_text(gen_name, encoding="utf-8")
        old = self._current_dir()
        pointer.replace(self.directory / CURRENT)
        self._set_index(open_generation(gen))
        if old is not None and old != gen:
            shutil.rmtree(old, ignore_errors=True)  # open files stay readable on POSIX
        return count

    def apply(
        self,
        upserts: Iterable[Article],
        deletions: Iterable[str] = (),
        *,
        position: int | None = None,
    ) -> ChangeStats:
        """Apply a change set with one writer; IndexBusyError after `lock_timeout`.

        `position` records the change-feed sequence number the index is then current to.
        """
        try:
            writer = self._index.writer(timeout=self.lock_timeout)
        except LockError as exc:
            raise IndexBusyError(
                f"индекс базы знаний занят другим процессом дольше {self.lock_timeout} с"
            ) from exc
        upserted = deleted = 0
        try:
            for article_id in deletions:
                deleted += writer.delete_by_term("id", article_id)
            for article in upserts:
                writer.update_document(**document(article))
                upserted += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        gen = self._current_dir()
        if gen is not None:
            self._set_position(gen, position)
        self.refresh()
        return ChangeStats(upserted=upserted, deleted=deleted)

    def sync(self, articles: Iterable[Article]) -> ChangeStats:
        """Make the index equal to `articles` by set difference (changed digests, gone ids)."""
        wanted = {a.id: a for a in articles}
        present = self.digests()
        upserts = [a for a in wanted.values() if present.get(a.id) != a.digest()]
        deletions = [i for i in present if i not in wanted]
        if not upserts and not deletions:
            return ChangeStats(0, 0)
        return self.apply(upserts, deletions)

    def refresh(self) -> None:
        """Reopen the searcher when the index changed (another process may have written)."""
        with self._lock:
            assert self._searcher is not None
            if not self._searcher.up_to_date():
                self._set_index(self._index)

    # --- reading ------------------------------------------------------------------------

    def _s(self) -> Searcher:
        assert self._searcher is not None, "index is closed"
        return self._searcher

    def count(self) -> int:
        with self._lock:
            return int(self._s().doc_count())

    def digests(self) -> dict[str, str]:
        with self._lock:
            return {f["id"]: f.get("digest", "") for f in self._s().all_stored_fields()}

    def get(self, article_id: str) -> Article | None:
        with self._lock:
            fields = self._s().document(id=article_id)
        if fields is None:
            return None
        return Article(
            id=fields["id"],
            title=fields["title"],
            body=fields["body"],
            topic=fields.get("topic") or None,
            agency=fields.get("agency") or None,
            tags=tuple(t.strip() for t in fields.get("tags", "").split(",") if t.strip()),
            audience=fields.get("audience") or None,
        )

    def search(
        self,
        text: str,
        *,
        limit: int = 10,
        filters: SearchFilters | None = None,
        as_you_type: bool = False,
        highlights: bool = True,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[SearchHit]:
        """Best articles for a query typed by an operator (see `kb_index.query`).

        `cancelled` (optional) is asked between the steps of the search; when it answers
        True the search stops with `SearchCancelled` (a console typed past the query)."""
        with self._lock:
            searcher = self._s()
            builder = self._builder()
            levels = builder.plan(text, as_you_type=as_you_type)
            if not levels:
                return []
            if cancelled is not None and cancelled():
                raise SearchCancelled
            hits = self._ranked(searcher, builder, levels, limit, filters, highlights, cancelled)
            if hits:
                return hits
            # no empty answer while some word reaches an article: any single word (lemma,
            # derivational key, prefix of a long word), then "more like this"
            relaxed = builder.relaxed_plan(text, as_you_type=as_you_type)
            if relaxed:
                hits = self._ranked(
                    searcher, builder, relaxed, limit, filters, highlights, cancelled
                )
            if hits:
                return hits
            # (no relaxed plan: the fallback is switched off, see kb_index.query)
            query = builder.key_terms_query(searcher, text) if relaxed else None
            return self._run(searcher, query, limit, filters, highlights) if query else []

    def _ranked(
        self,
        searcher: Searcher,
        builder: QueryBuilder,
        levels: list[Any],
        limit: int,
        filters: SearchFilters | None,
        highlights: bool,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[SearchHit]:
        """Gather the best candidates of each level of the plan (all the words, then
        relaxed), then rank them all by the BM25F score of the whole query. Evaluated over
        the postings arrays (`kb_index.engine`), with Whoosh's scores."""
        engine = self._engine
        assert engine is not None
        allowed = self._allowed(searcher, filters)
        wanted = max(limit * CANDIDATE_FACTOR, MIN_CANDIDATES)
        cache: dict[tuple[str, str], Any] = {}
        candidates: set[int] = set()
        for query in levels:
            if cancelled is not None and cancelled():
                raise SearchCancelled
            candidates.update(engine.top(engine.evaluate(query, cache), wanted, allowed))
        if not candidates:
            return []
        scoring = builder.scoring_query(levels)
        scored = engine.rank(engine.evaluate(scoring, cache), sorted(candidates))
        terms = {leaf.text for leaf in scoring.leaves() if isinstance(leaf, Q.Term)}
        hits = []
        for score, docnum in scored[:limit]:
            fields = searcher.stored_fields(docnum)
            marked = self._highlight(fields, terms) if highlights else []
            hits.append(
                SearchHit(
                    id=fields["id"],
                    title=fields["title"],
                    score=float(score),
                    highlights=marked,
                    topic=fields.get("topic") or None,
                    agency=fields.get("agency") or None,
                    audience=fields.get("audience") or None,
                )
            )
        return hits

    def _allowed(self, searcher: Searcher, filters: SearchFilters | None) -> Any:
        """A mask of the documents the filters let through (None: all of them)."""
        flt = filters.to_query() if filters else None
        if flt is None:
            return None
        assert self._engine is not None
        mask = np.zeros(self._engine.size, dtype=np.bool_)
        docs = list(searcher.docs_for_query(flt))
        if docs:
            mask[np.asarray(docs, dtype=np.int64)] = True
        return mask

    def _builder(self) -> QueryBuilder:
        assert self._vocabulary is not None, "index is closed"
        return QueryBuilder(
            self._vocabulary,
            method=self.method,
            synonyms=self.synonyms,
            tuning=self.tuning,
            colloquial=with_extra(shipped_colloquial(self.method), self.extra_rules),
        )

    def _highlight(self, fields: dict[str, Any], terms: set[str]) -> list[str]:
        digest = str(fields.get("digest") or fields.get("id"))
        for name in ("body", "title"):
            text = (fields.get(name) or "").replace("**", "")
            words = self._word_forms.get(f"{digest}:{name}", text, self.method)
            found = fragments(text, terms, self.method, words)
            if found:
                return found
        return []

    def more_like_this(
        self, text: str, *, limit: int = 5, filters: SearchFilters | None = None
    ) -> list[SearchHit]:
        """Articles that fit a free text (a call transcript, an appeal summary)."""
        with self._lock:
            searcher = self._s()
            query = self._builder().key_terms_query(searcher, text)
            if query is None:
                return []
            return self._run(searcher, query, limit, filters, True)

    def _run(
        self,
        searcher: Searcher,
        query: Any,
        limit: int,
        filters: SearchFilters | None,
        highlights: bool,
    ) -> list[SearchHit]:
        flt = filters.to_query() if filters else None
        results = searcher.search(query, limit=limit, filter=flt)
        # the same highlighter as `search`: Whoosh's kept the Markdown `**` of the body,
        # which then read as marks ("****Документы****" showed as stray asterisks)
        terms = {leaf.text for leaf in query.leaves() if isinstance(leaf, Q.Term)}
        hits = []
        for hit in results:
            marked = self._highlight(hit.fields(), terms) if highlights else []
            hits.append(
                SearchHit(
                    id=hit["id"],
                    title=hit["title"],
                    score=float(hit.score),
                    highlights=marked,
                    topic=hit.get("topic") or None,
                    agency=hit.get("agency") or None,
                    audience=hit.get("audience") or None,
                )
            )
        return hits
