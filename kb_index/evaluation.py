"""Relevance measures on a labelled query set: recall@k and MRR, overall and per kind."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


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
