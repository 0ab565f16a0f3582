"""The arrays engine (`kb_index.engine`) ranks exactly as Whoosh's own matchers do.

A real index of the shipped articles plus synthetic ones made of their sentences, changed
after the build (a second segment, deleted documents), is searched for every labelled
query of the tuning set, whole and as a prefix typed so far; Whoosh's matchers evaluate the
same plan as the reference. Ids and scores must agree.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from kb_index import Article, KbIndex, SearchFilters, Synonyms
from kb_index.evaluation import load_labelled
from kb_index.index import CANDIDATE_FACTOR, MIN_CANDIDATES
from tests.kb_support import KB, sentences, shipped_articles


def _corpus() -> list[Article]:
    shipped = list(shipped_articles())
    rng = random.Random(13)
    texts = sentences(shipped_articles())
    synthetic = [
        Article(
            id=f"mix-{i:04d}",
            title=" ".join(rng.sample(shipped, 1)[0].title.split()[:4]),
            body=" ".join(rng.sample(texts, rng.randint(3, 12))),
            topic=rng.choice(shipped).topic,
            tags=tuple(rng.choice(shipped).tags[:2]),
            audience="citizens",
        )
        for i in range(400)
    ]
    return shipped + synthetic


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> KbIndex:
    articles = _corpus()
    built = KbIndex.build(
        tmp_path_factory.mktemp("engine"),
        articles,
        synonyms=Synonyms.load(KB / "synonyms.txt"),
    )
    # a second segment and deletions: changed titles, 30 articles gone
    changed = [
        Article(**{**a.to_dict(), "title": a.title + " обновлено", "tags": tuple(a.tags)})
        for a in articles[5:60]
    ]
    built.apply(changed, [a.id for a in articles[200:230]])
    return built


def _whoosh(index: KbIndex, text: str, *, as_you_type: bool) -> list[tuple[float, str]] | None:
    """The plan of `text` evaluated by Whoosh's matchers, as `KbIndex.search` did before;
    the relaxed plan when the plan finds nothing; None when that finds nothing either (the
    last resort, "more like this", is Whoosh's own in both)."""
    builder = index._builder()
    found = _whoosh_levels(index, builder.plan(text, as_you_type=as_you_type))
    if not found:
        found = _whoosh_levels(index, builder.relaxed_plan(text, as_you_type=as_you_type))
    return found or None


def _whoosh_levels(index: KbIndex, levels: list[Any]) -> list[tuple[float, str]]:
    searcher = index._s()
    builder = index._builder()
    if not levels:
        return []
    wanted = max(10 * CANDIDATE_FACTOR, MIN_CANDIDATES)
    candidates: set[int] = set()
    for query in levels:
        candidates.update(docnum for _s, docnum in searcher.search(query, limit=wanted).top_n)
    scoring = builder.scoring_query(levels)
    matcher = scoring.matcher(searcher, searcher.context())
    scored = []
    for docnum in sorted(candidates):
        if matcher.is_active() and matcher.id() < docnum:
            matcher.skip_to(docnum)
        if matcher.is_active() and matcher.id() == docnum:
            scored.append((matcher.score(), docnum))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [(score, searcher.stored_fields(d)["id"]) for score, d in scored[:10]]


def test_engine_ranks_as_whoosh_on_every_labelled_query(index: KbIndex) -> None:
    searcher = index._s()
    assert len(list(searcher.reader().leaf_readers())) >= 2, "a second segment is covered"
    assert searcher.reader().has_deletions(), "deleted documents are covered"
    queries = load_labelled(KB / "queries")
    assert len(queries) >= 200
    compared = differ = 0
    for q in queries:
        for text, typing in ((q.query, False), (q.query[: max(3, len(q.query) // 2)], True)):
            ours = [(h.score, h.id) for h in index.search(text, as_you_type=typing)]
            reference = _whoosh(index, text, as_you_type=typing)
            if reference is None:
                continue
            compared += 1
            if [i for _s, i in ours] != [i for _s, i in reference]:
                differ += 1
            assert [s for s, _i in ours] == pytest.approx([s for s, _i in reference], rel=1e-9)
    assert compared >= 400
    assert differ == 0


def test_deleted_articles_never_match(index: KbIndex) -> None:
    gone = _corpus()[200]
    hits = index.search(gone.title, limit=50)
    assert gone.id not in {h.id for h in hits}
    assert index.get(gone.id) is None


def test_filters_restrict_the_candidates(index: KbIndex) -> None:
    everything = index.search("выплата", limit=50)
    topics = {h.topic for h in everything}
    assert len(topics) > 1
    topic = sorted(t for t in topics if t)[0]
    root = topic.split(".")[0]
    filtered = index.search("выплата", limit=50, filters=SearchFilters(topic=root))
    assert filtered
    assert all((h.topic or "").split(".")[0] == root for h in filtered)
    best_of_topic = next(h.id for h in everything if (h.topic or "").split(".")[0] == root)
    assert best_of_topic in {h.id for h in filtered}


def test_arrays_follow_the_index_across_reopen_and_rebuild(tmp_path: Path) -> None:
    articles = _corpus()[:80]
    first = KbIndex.build(tmp_path, articles)
    expected = [h.id for h in first.search("пенсия по инвалидности")]
    first.close()
    reopened = KbIndex(tmp_path)  # arrays read from disk, not rebuilt
    assert [h.id for h in reopened.search("пенсия по инвалидности")] == expected
    reopened.rebuild(articles[:40])
    folders = list(tmp_path.glob("gen-*/_arrays/*"))
    assert folders, "the new generation has its arrays"
    assert all(f.parent.parent.name == reopened._current_dir().name for f in folders)  # type: ignore[union-attr]
    assert {h.id for h in reopened.search("пенсия")} <= {a.id for a in articles[:40]}


def test_an_index_of_another_analysis_version_is_rebuilt_from_its_source(tmp_path: Path) -> None:
    articles = _corpus()[:30]
    KbIndex.build(tmp_path, articles).close()
    old_gen = (tmp_path / "CURRENT").read_text(encoding="utf-8")
    (tmp_path / old_gen / "ANALYSIS").write_text("1", encoding="utf-8")
    reopened = KbIndex(tmp_path, source=lambda: articles)
    assert (tmp_path / "CURRENT").read_text(encoding="utf-8") != old_gen
    assert reopened.count() == len(articles)


def test_arrays_of_another_format_are_rebuilt(tmp_path: Path) -> None:
    articles = _corpus()[:30]
    first = KbIndex.build(tmp_path, articles)
    expected = [h.id for h in first.search("пенсия")]
    first.close()
    (meta,) = tmp_path.glob("gen-*/_arrays/*/meta.json")
    meta.write_text('{"format": 0}', encoding="utf-8")
    reopened = KbIndex(tmp_path)
    assert [h.id for h in reopened.search("пенсия")] == expected
    assert '"format": 0' not in meta.read_text(encoding="utf-8")


def test_a_search_typed_past_stops_between_its_steps(index: KbIndex) -> None:
    from kb_index import SearchCancelled

    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return True

    with pytest.raises(SearchCancelled):
        index.search("пенсия по инвалидности", cancelled=cancelled)
    assert asked
    assert index.search("пенсия по инвалидности", cancelled=lambda: False)
