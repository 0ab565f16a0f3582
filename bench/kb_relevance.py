"""Relevance of knowledge-base search on the shipped labelled query sets.

Prints recall@5 and MRR (first relevant result within the top 10) overall and per query
kind, for our engine (Snowball stems and pymorphy3 lemmas) and for SQLite FTS5 (unicode61)
on the same articles and queries, separately for the two sets:
- the tuning set, data/kb/queries/*.yaml (field boosts, B and synonyms are tuned on it;
  `--tune` grid-searches on it alone; `--failures` lists its misses);
- the hold-out set, data/kb/queries/holdout/*.yaml, written from article titles and topics
  only and NEVER tuned on: only its scores are printed, not its misses, so nobody tunes on
  them by accident.
Run: `make bench` or `python bench/kb_relevance.py`.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ekc_core.kb_files import read_path
from kb_index import Article, KbIndex, Synonyms, Tuning
from kb_index.evaluation import LabelledQuery, Score, evaluate, load_labelled

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "data" / "kb"
TUNING = KB / "queries"
HOLDOUT = KB / "queries" / "holdout"
K = 5
MRR_DEPTH = 10


def load_articles() -> list[Article]:
    result = read_path(KB / "articles")
    if result.problems:
        sys.exit("\n".join(result.problems))
    return [Article.from_dict(r.to_dict()) for r in result.records]


def load_queries() -> list[LabelledQuery]:
    """The tuning set (the hold-out set lives in a sub-folder and is not part of it)."""
    return load_labelled(TUNING)


def load_holdout() -> list[LabelledQuery]:
    """The hold-out set: never tuned on, reported separately."""
    return load_labelled(HOLDOUT)


def fts5_search(articles: list[Article]) -> Callable[[LabelledQuery], list[str]]:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE kb USING fts5(id UNINDEXED, title, tags, body, tokenize='unicode61')"
    )
    db.executemany(
        "INSERT INTO kb VALUES (?, ?, ?, ?)",
        [(a.id, a.title, " ".join(a.tags), a.body) for a in articles],
    )

    def search(q: LabelledQuery) -> list[str]:
        tokens = re.findall(r"\w+", q.query.lower())
        if not tokens:
            return []
        match = " OR ".join(f'"{t}"' for t in tokens)
        rows = db.execute(
            "SELECT id FROM kb WHERE kb MATCH ? ORDER BY bm25(kb, 3.0, 2.0, 1.0) LIMIT ?",
            (match, MRR_DEPTH),
        ).fetchall()
        return [r[0] for r in rows]

    return search


def engine_search(index: KbIndex) -> Callable[[LabelledQuery], list[str]]:
    def search(q: LabelledQuery) -> list[str]:
        return [
            h.id
            for h in index.search(
                q.query, limit=MRR_DEPTH, highlights=False, as_you_type=q.kind == "prefix"
            )
        ]

    return search


def report(name: str, scores: dict[str, Score]) -> None:
    overall = scores["ALL"]
    print(
        f"{name:<28} recall@{K} {overall.recall:.3f}  MRR {overall.mrr:.3f}  "
        f"({overall.count} queries)"
    )
    for kind in sorted(k for k in scores if k != "ALL"):
        sc = scores[kind]
        print(f"    {kind:<12} recall@{K} {sc.recall:.3f}  MRR {sc.mrr:.3f}  (n={sc.count})")


def tune(articles: list[Article], queries: list[LabelledQuery]) -> None:
    """Each combination on the same index files; ranked by MRR, then recall@5."""
    import itertools

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        KbIndex(Path(tmp), source=lambda: articles).close()
        synonyms = Synonyms.load(KB / "synonyms.txt")
        for title, tags, b in itertools.product(
            (1.5, 2.0, 3.0, 4.0), (1.0, 2.0, 3.0), (0.5, 0.75, 0.9)
        ):
            tuning = Tuning(title_boost=title, tags_boost=tags, b=b)
            with KbIndex(Path(tmp), synonyms=synonyms, tuning=tuning) as index:
                s = evaluate(engine_search(index), queries, k=K, depth=MRR_DEPTH)["ALL"]
            results.append((s.mrr, s.recall, title, tags, b))
    results.sort(reverse=True)
    for mrr, recall, title, tags, b in results[:8]:
        print(
            f"title {title:3.1f}  tags {tags:3.1f}  B {b:4.2f}   MRR {mrr:.3f}  "
            f"recall@{K} {recall:.3f}"
        )
    default = Tuning()
    print(
        f"(defaults in kb_index.Tuning: title {default.title_boost}, tags "
        f"{default.tags_boost}, B {default.b})"
    )


#: the means of issue 13 in the order they were added (switches in kb_index.query, and the
#: colloquial phrase file), measured cumulatively by `--steps`
STEPS = (
    ("derivational keys", "USE_DERIVATION"),
    ("colloquial phrases", "colloquial"),
    ("no empty answer", "NO_EMPTY_ANSWER"),
    ("typo of the word typed", "CORRECT_TYPED_WORD"),
    ("typo distance by length", "TYPOS_BY_LENGTH"),
    ("query phrase as a whole", "PHRASE_AS_WHOLE"),
    ("prefixes from tags", "PREFIX_FROM_TAGS"),
)


def steps(articles: list[Article], sets: dict[str, list[LabelledQuery]]) -> None:
    """Each mean added one by one to the lemma engine: both sets' aggregates per step."""
    import os

    import kb_index.query as query_module

    def switch(name: str, on: bool) -> None:
        if name == "colloquial":
            if on:
                os.environ.pop("EKC_KB_COLLOQUIAL", None)
            else:
                os.environ["EKC_KB_COLLOQUIAL"] = str(KB / "no-such-colloquial.txt")
        else:
            setattr(query_module, name, on)

    for _label, name in STEPS:
        switch(name, False)
    header = f"{'step':<30} {'tuning R@5':>10} {'MRR':>6}   {'hold-out R@5':>12} {'MRR':>6}"
    header += "  weakest hold-out kind (MRR)"
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        synonyms = Synonyms.load(KB / "synonyms.txt")
        with KbIndex(Path(tmp), synonyms=synonyms, source=lambda: articles) as index:
            for label, name in (("before (all off)", ""), *STEPS):
                if name:
                    switch(name, True)
                row = {
                    set_name: evaluate(engine_search(index), labelled, k=K, depth=MRR_DEPTH)
                    for set_name, labelled in sets.items()
                }
                t, h = row["tuning"]["ALL"], row["hold-out"]["ALL"]
                weakest = min((s.mrr, k) for k, s in row["hold-out"].items() if k != "ALL")
                print(
                    f"{('+ ' if name else '') + label:<30} {t.recall:>10.3f} {t.mrr:>6.3f}   "
                    f"{h.recall:>12.3f} {h.mrr:>6.3f}  {weakest[1]} {weakest[0]:.3f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--failures", action="store_true", help="list tuning-set queries that miss")
    parser.add_argument(
        "--tune", action="store_true", help="grid-search field boosts and BM25 B on the tuning set"
    )
    parser.add_argument(
        "--method",
        choices=("snowball", "lemma", "both"),
        default="both",
        help="which stemming method to measure (default: both)",
    )
    parser.add_argument(
        "--steps",
        action="store_true",
        help="measure the relevance means of issue 13 one by one (lemma engine, both sets)",
    )
    parser.add_argument("--no-fts5", action="store_true", help="skip the SQLite FTS5 baseline")
    args = parser.parse_args()
    articles = load_articles()
    queries = load_queries()
    holdout = load_holdout()
    print(
        f"{len(articles)} articles, {len(queries)} labelled queries (tuning set), "
        f"{len(holdout)} hold-out queries (never tuned on)"
    )
    if args.tune:
        tune(articles, queries)
        return
    sets = {"tuning": queries, "hold-out": holdout}
    if args.steps:
        steps(articles, sets)
        return
    results: dict[str, list[tuple[str, dict[str, Score], str]]] = {name: [] for name in sets}
    if not args.no_fts5:
        fts5 = fts5_search(articles)
        for name, labelled in sets.items():
            results[name].append(
                ("SQLite FTS5 unicode61", evaluate(fts5, labelled, k=K, depth=MRR_DEPTH), "")
            )
    misses: list[str] = []
    methods = ("snowball", "lemma") if args.method == "both" else (args.method,)
    for method in methods:
        with tempfile.TemporaryDirectory() as tmp:
            synonyms = Synonyms.load(KB / "synonyms.txt", method=method)
            started = time.perf_counter()
            index = KbIndex(
                Path(tmp),
                method=method,
                synonyms=synonyms,
                tuning=Tuning(),
                source=lambda: articles,
            )
            built = time.perf_counter() - started
            search = engine_search(index)
            for name, labelled in sets.items():
                started, cpu = time.perf_counter(), time.thread_time()
                scores = evaluate(search, labelled, k=K, depth=MRR_DEPTH)
                per_query = (time.perf_counter() - started) / len(labelled)
                cpu_per_query = (time.thread_time() - cpu) / len(labelled)
                note = (
                    f"    build {built:.2f} s, {per_query * 1000:.1f} ms per query "
                    f"({cpu_per_query * 1000:.1f} ms CPU)"
                )
                results[name].append((f"ours, {method}", scores, note))
            if args.failures:
                misses.append(f"ours, {method}: tuning-set misses")
                for q in queries:
                    ids = search(q)[:K]
                    if not q.relevant & set(ids):
                        misses.append(
                            f"    MISS [{q.kind}] {q.query!r} want {sorted(q.relevant)} "
                            f"got {ids[:3]}"
                        )
            index.close()
    for name, rows in results.items():
        where = "data/kb/queries/holdout/*.yaml" if name == "hold-out" else "data/kb/queries/*.yaml"
        print(f"\n== {name} set ({len(sets[name])} queries, {where}) ==")
        for engine, scores, note in rows:
            report(engine, scores)
            if note:
                print(note)
    if misses:
        print()
        print("\n".join(misses))


if __name__ == "__main__":
    main()
