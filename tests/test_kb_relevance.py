"""The shipped knowledge base answers the shipped labelled queries (issue targets).

A relevance floor, not a timing: recall@5 and MRR >= 0.90 overall, every kind >= 0.80.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ekc_core.kb_files import read_path
from kb_index import Article, KbIndex, Synonyms
from kb_index.evaluation import LabelledQuery, evaluate

KB = Path(__file__).resolve().parent.parent / "data" / "kb"


def test_shipped_queries_find_their_articles(tmp_path: Path):
    articles = [Article.from_dict(r.to_dict()) for r in read_path(KB / "articles").records]
    queries = [
        LabelledQuery(str(q["query"]), str(q["kind"]), frozenset(q["relevant"]))
        for path in sorted((KB / "queries").glob("*.yaml"))
        for q in yaml.safe_load(path.read_text(encoding="utf-8"))
    ]
    assert len(queries) >= 80
    assert {q.kind for q in queries} == {
        "inflected",
        "synonym",
        "colloquial",
        "typo",
        "yo",
        "layout",
        "prefix",
        "multiword",
    }
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
