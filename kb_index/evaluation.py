"""Relevance measures on a labelled query set: recall@k and MRR, overall and per kind.

Labelled sets are YAML lists of `{query, kind, relevant: [article ids]}`. Two are shipped:
the tuning set (data/kb/queries/*.yaml, which weights and synonyms are tuned on) and the
hold-out set (data/kb/queries/holdout/*.yaml, written from article titles and topics only,
never tuned on, reported separately).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

KINDS = frozenset(
    {"multiword", "inflected", "typo", "colloquial", "synonym", "prefix", "layout", "yo"}
)


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    kind: str
    relevant: frozenset[str]


@dataclass(frozen=True)
class Score:
    recall: float
    mrr: float
    count: int


def evaluate(
    search: Callable[[LabelledQuery], Sequence[str]],
    queries: Iterable[LabelledQuery],
    *,
    k: int = 5,
    depth: int = 10,
) -> dict[str, Score]:
    """Scores per kind and under "ALL": recall@k (any relevant id in the top k) and MRR
    (reciprocal rank of the first relevant id within `depth`)."""
    per_kind: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for q in queries:
        found = list(search(q))[:depth]
        recall = 1.0 if q.relevant & set(found[:k]) else 0.0
        rr = next((1 / (i + 1) for i, d in enumerate(found) if d in q.relevant), 0.0)
        per_kind[q.kind].append((recall, rr))
        per_kind["ALL"].append((recall, rr))
    return {
        kind: Score(sum(r for r, _ in v) / len(v), sum(m for _, m in v) / len(v), len(v))
        for kind, v in per_kind.items()
    }


def load_labelled(directory: Path) -> list[LabelledQuery]:
    """The labelled queries of every `*.yaml` file directly in `directory` (sub-folders
    are other sets: the tuning set's folder holds the hold-out set in `holdout/`).
    Raises ValueError naming the file and entry when an entry is malformed."""
    queries: list[LabelledQuery] = []
    for path in sorted(directory.glob("*.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(entries, list):
            raise ValueError(f"{path.name}: expected a list of queries")
        for n, entry in enumerate(entries, 1):
            if not isinstance(entry, dict) or not {"query", "kind", "relevant"} <= set(entry):
                raise ValueError(f"{path.name} entry {n}: needs query, kind and relevant")
            relevant = entry["relevant"]
            if not isinstance(relevant, list) or not relevant:
                raise ValueError(f"{path.name} entry {n}: relevant must be a non-empty list")
            queries.append(
                LabelledQuery(
                    str(entry["query"]), str(entry["kind"]), frozenset(map(str, relevant))
                )
            )
    return queries
