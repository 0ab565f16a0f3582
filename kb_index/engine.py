"""Query plans evaluated over the postings arrays, with Whoosh's BM25F.

A plan (see `kb_index.query`) is a list of Whoosh query trees of `Term`, `And` and `Or`
with boosts. A term is its postings (live documents and their scores: Whoosh's BM25F,
`idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len / avglen))` with `idf = log(N / (df +
1)) + 1`, over Whoosh's own per-segment statistics); an `Or` or `And` node is a dense
vector over all documents — matched or not, and the score Whoosh would give: the sum of the
matching children for an `Or`, of all children where all match for an `And`, times the
node's boost. With 50,000 documents a vector is 400 KB and an operation on it tens of
microseconds, so a plan of a hundred terms costs a few milliseconds, where Whoosh's
matchers walked tens of thousands of postings in Python (`tests/test_kb_engine.py` proves
the results equal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh import query as Q  # noqa: N812  (Whoosh docs spell it so)

from kb_index.arrays import TEXT_FIELDS, SegmentArrays

Scores = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
_EMPTY_DOCS: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
_EMPTY_SCORES: Scores = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class Bm25Params:
    k1: float
    b: dict[str, float]


@dataclass
class _Vector:
    mask: Mask
    score: Scores


@dataclass
class Engine:
    """Arrays of every segment of one searcher, with the global statistics."""

    segments: list[tuple[SegmentArrays, int]]
    live: Mask
    params: Bm25Params
    doc_count_all: int = 0
    avg_length: dict[str, float] = field(default_factory=dict)
    _idf: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    @classmethod
    def create(
        cls, segments: list[tuple[SegmentArrays, int]], deleted: Sequence[int], params: Bm25Params
    ) -> Engine:
        total = sum(s.doc_count_all for s, _ in segments)
        live = np.ones(total, dtype=np.bool_)
        if len(deleted):
            live[np.asarray(deleted, dtype=np.int64)] = False
        engine = cls(segments=segments, live=live, params=params, doc_count_all=total)
        for name in TEXT_FIELDS:
            length = sum(s.field_length[name] for s, _ in segments)
            engine.avg_length[name] = (length / total if total else 0.0) or 1.0
        return engine

    @property
    def size(self) -> int:
        return int(self.live.shape[0])

    # --- vocabulary statistics ----------------------------------------------------------

    def doc_frequency(self, name: str, term: str) -> int:
        total = 0
        for arrays, _offset in self.segments:
            term_id = arrays.term_id(term)
            if term_id is not None:
                total += arrays.doc_frequency(name, term_id)
        return total

    def idf(self, name: str, term: str) -> float:
        key = (name, term)
        cached = self._idf.get(key)
        if cached is None:
            df = self.doc_frequency(name, term)
            cached = math.log(self.doc_count_all / (df + 1)) + 1 if self.doc_count_all else 0.0
            self._idf[key] = cached
        return cached

    # --- evaluation ---------------------------------------------------------------------

    def postings(self, name: str, term: str) -> tuple[npt.NDArray[np.int64], Scores]:
        """The live documents with `term` in field `name` and their BM25F scores (boost 1):
        sparse, so that a query holds no dense vector per term."""
        if name not in TEXT_FIELDS:
            return _EMPTY_DOCS, _EMPTY_SCORES
        k1 = self.params.k1
        b = self.params.b.get(name, 0.75)
        avg = self.avg_length[name]
        idf = self.idf(name, term)
        doc_parts: list[npt.NDArray[np.int64]] = []
        score_parts: list[Scores] = []
        for arrays, offset in self.segments:
            term_id = arrays.term_id(term)
            if term_id is None:
                continue
            docs, tfs = arrays.postings(name, term_id)
            if not len(docs):
                continue
            tf = tfs.astype(np.float64)
            length = arrays.lengths[name][docs].astype(np.float64)
            doc_parts.append(docs.astype(np.int64) + offset)
            score_parts.append(idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * length / avg))))
        if not doc_parts:
            return _EMPTY_DOCS, _EMPTY_SCORES
        docs_all = doc_parts[0] if len(doc_parts) == 1 else np.concatenate(doc_parts)
        scores = score_parts[0] if len(score_parts) == 1 else np.concatenate(score_parts)
        live = self.live[docs_all]
        if not live.all():
            docs_all, scores = docs_all[live], scores[live]
        return docs_all, scores

    def evaluate(self, node: Any, cache: dict[tuple[str, str], Any] | None = None) -> _Vector:
        """The vector of a Whoosh query tree of Term, And and Or nodes."""
        cache = {} if cache is None else cache
        mask = np.zeros(self.size, dtype=np.bool_)
        score = np.zeros(self.size, dtype=np.float64)
        if isinstance(node, Q.Term):
            self._add_term(node, 1.0, mask, score, cache)
        elif isinstance(node, Q.Or):
            # children summed where they match; terms added straight from their postings
            for sub in node.subqueries:
                if isinstance(sub, Q.Term):
                    self._add_term(sub, 1.0, mask, score, cache)
                else:
                    child = self.evaluate(sub, cache)
                    mask |= child.mask
                    score += child.score
        elif isinstance(node, Q.And):
            if node.subqueries:
                mask[:] = True
            for sub in node.subqueries:
                child = self.evaluate(sub, cache)
                mask &= child.mask
                score += child.score
            score[~mask] = 0.0
        else:
            raise TypeError(f"the KB engine does not evaluate {type(node).__name__} queries")
        if not isinstance(node, Q.Term) and node.boost != 1.0:
            score *= float(node.boost)
        return _Vector(mask, score)

    def _add_term(
        self,
        node: Q.Term,
        boost: float,
        mask: Mask,
        score: Scores,
        cache: dict[tuple[str, str], Any],
    ) -> None:
        key = (node.fieldname, node.text)
        found = cache.get(key)
        if found is None:
            found = cache[key] = self.postings(node.fieldname, node.text)
        docs, scores = found
        if not len(docs):
            return
        factor = boost * float(node.boost)
        mask[docs] = True
        score[docs] += scores * factor if factor != 1.0 else scores

    def top(self, vector: _Vector, limit: int, allowed: Mask | None = None) -> list[int]:
        """Document numbers of the `limit` best matches, best first; equal scores in
        document order (as Whoosh's collector keeps them)."""
        mask = vector.mask if allowed is None else vector.mask & allowed
        docs = np.flatnonzero(mask)
        if not len(docs):
            return []
        scores = vector.score[docs]
        if len(docs) > limit:
            kth = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            keep = scores >= kth
            docs, scores = docs[keep], scores[keep]
        order = np.lexsort((docs, -scores))[:limit]
        return [int(d) for d in docs[order]]

    def rank(self, vector: _Vector, candidates: Sequence[int]) -> list[tuple[float, int]]:
        """(score, doc) of the candidates that match, best first, ties in document order."""
        if not candidates:
            return []
        docs = np.asarray(sorted(candidates), dtype=np.int64)
        docs = docs[vector.mask[docs]]
        scores = vector.score[docs]
        order = np.lexsort((docs, -scores))
        return [(float(scores[i]), int(docs[i])) for i in order]
