"""The shipped knowledge base answers the shipped labelled queries (issue targets), and the
hold-out set is well-formed.

Tuning set (data/kb/queries/*.yaml): a relevance floor, not a timing: recall@5 and MRR >=
0.90 overall, every kind >= 0.80.
Hold-out set (data/kb/queries/holdout/*.yaml): written from article titles and topics only
and never tuned on; measured by bench/kb_relevance.py, so here only its shape is checked
(it loads, every id exists, every kind and top-level topic is there), never a floor.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from ekc_core.kb_files import read_path
from kb_index import Article, KbIndex, Synonyms
from kb_index.evaluation import KINDS, LabelledQuery, evaluate, load_labelled

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "data" / "kb"
HOLDOUT = KB / "queries" / "holdout"
HOLDOUT_MIN = 150
HOLDOUT_KIND_MIN = 15


def shipped_articles() -> list[Article]:
    return [Article.from_dict(r.to_dict()) for r in read_path(KB / "articles").records]


def test_shipped_queries_find_their_articles(tmp_path: Path):
    articles = shipped_articles()
    queries = load_labelled(KB / "queries")
    assert len(queries) >= 80
    assert {q.kind for q in queries} == KINDS
    ids = {a.id for a in articles}
    assert all(q.relevant <= ids for q in queries)
    with KbIndex(
        tmp_path, synonyms=Synonyms.load(KB / "synonyms.txt"), source=lambda: articles
    ) as index:
        scores = evaluate(
            lambda q: [
                h.id
                for h in index.search(
                    q.query, limit=10, highlights=False, as_you_type=q.kind == "prefix"
                )
            ],
            queries,
        )
    overall = scores.pop("ALL")
    assert overall.recall >= 0.90, overall
    assert overall.mrr >= 0.90, overall
    weak = {k: s for k, s in scores.items() if s.recall < 0.80 or s.mrr < 0.80}
    assert weak == {}


def test_holdout_set_loads_and_names_only_existing_articles():
    holdout = load_labelled(HOLDOUT)
    assert len(holdout) >= HOLDOUT_MIN
    ids = {a.id for a in shipped_articles()}
    unknown = {q.query: sorted(q.relevant - ids) for q in holdout if not q.relevant <= ids}
    assert unknown == {}
    per_kind = Counter(q.kind for q in holdout)
    assert set(per_kind) == KINDS
    assert {k: n for k, n in per_kind.items() if n < HOLDOUT_KIND_MIN} == {}
    duplicates = [k for k, n in Counter((q.query, q.kind) for q in holdout).items() if n > 1]
    assert duplicates == []


def test_holdout_set_spans_every_top_level_topic():
    topics = yaml.safe_load((ROOT / "data" / "reference" / "topics.yaml").read_text("utf-8"))
    top_level = {t["code"] for t in topics}
    topic_of = {a.id: (a.topic or "").split(".")[0] for a in shipped_articles()}
    covered = {topic_of[i] for q in load_labelled(HOLDOUT) for i in q.relevant if i in topic_of}
    assert top_level - covered == set()


def test_holdout_set_is_apart_from_the_tuning_set():
    tuning = load_labelled(KB / "queries")
    holdout = load_labelled(HOLDOUT)
    # The tuning loader does not descend into holdout/, and no query is in both sets.
    assert {q.query.lower() for q in tuning} & {q.query.lower() for q in holdout} == set()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- query: x\n  kind: typo\n", "needs query, kind and relevant"),
        ("- query: x\n  kind: typo\n  relevant: []\n", "relevant must be a non-empty list"),
        ("query: x\n", "expected a list of queries"),
    ],
)
def test_load_labelled_names_the_bad_entry(tmp_path: Path, text: str, message: str):
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as error:
        load_labelled(tmp_path)
    assert "bad.yaml" in str(error.value)


def test_load_labelled_reads_only_its_own_folder(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(
        "- query: отопление\n  kind: synonym\n  relevant: [kb-1, kb-2]\n", encoding="utf-8"
    )
    (tmp_path / "holdout").mkdir()
    (tmp_path / "holdout" / "b.yaml").write_text(
        "- query: свет\n  kind: typo\n  relevant: [kb-3]\n", encoding="utf-8"
    )
    assert load_labelled(tmp_path) == [
        LabelledQuery("отопление", "synonym", frozenset({"kb-1", "kb-2"}))
    ]
