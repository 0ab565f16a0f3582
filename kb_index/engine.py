"""Query plans evaluated over the postings arrays, with Whoosh's BM25F.

A plan (see `kb_index.query`) is a list of Whoosh query trees of `Term`, `And` and `Or`
with boosts. Each node becomes a dense vector over all documents — matched or not, and the
score Whoosh would give: a term's BM25F (`idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B *
len / avglen))`, `idf = log(N / (df + 1)) + 1`, over Whoosh's own per-segment statistics,
times its boost), an `Or` the sum of its matching children, an `And` the sum of its children
where all match, each times its boost. Deleted documents never match. With 50,000 documents
a vector is 400 KB and an operation on it tens of microseconds, so a plan of a hundred
terms costs a few milliseconds, where Whoosh's matchers walked tens of thousands of
postings in Python (`tests/test_kb_engine.py` proves the results equal).
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

    def term(self, name: str, term: str, boost: float = 1.0) -> _Vector:
        mask = np.zeros(self.size, dtype=np.bool_)
        score = np.zeros(self.size, dtype=np.float64)
        if name not in TEXT_FIELDS:
            return _Vector(mask, score)
        k1 = self.params.k1
        b = self.params.b.get(name, 0.75)
        avg = self.avg_length[name]
        idf = self.idf(name, term)
        for arrays, offset in self.segments:
            term_id = arrays.term_id(term)
            if term_id is None:
                continue
            docs, tfs = arrays.postings(name, term_id)
            if not len(docs):
                continue
            tf = tfs.astype(np.float64)
            length = arrays.lengths[name][docs].astype(np.float64)
            s = idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * length / avg)))
            where = docs.astype(np.int64) + offset
            mask[where] = True
            score[where] = s * boost if boost != 1.0 else s
        mask &= self.live
        return _Vector(mask, score)

    def evaluate(self, node: Any, cache: dict[tuple[str, str], _Vector] | None = None) -> _Vector:
        """The vector of a Whoosh query tree of Term, And and Or nodes."""
        cache = {} if cache is None else cache
        if isinstance(node, Q.Term):
            key = (node.fieldname, node.text)
            base = cache.get(key)
            if base is None:
                base = cache[key] = self.term(node.fieldname, node.text)
            boost = float(node.boost)
            return base if boost == 1.0 else _Vector(base.mask, base.score * boost)
        if isinstance(node, (Q.And, Q.Or)):
            children = [self.evaluate(sub, cache) for sub in node.subqueries]
            if not children:
                return _Vector(np.zeros(self.size, np.bool_), np.zeros(self.size, np.float64))
            if len(children) == 1:
                only = children[0]
                boost = float(node.boost)
                return only if boost == 1.0 else _Vector(only.mask, only.score * boost)
            if isinstance(node, Q.And):
                mask = np.logical_and.reduce([c.mask for c in children])
            else:
                mask = np.logical_or.reduce([c.mask for c in children])
            score = np.add.reduce([np.where(c.mask, c.score, 0.0) for c in children])
            if node.boost != 1.0:
                score = score * float(node.boost)
            return _Vector(mask, np.where(mask, score, 0.0))
        raise TypeError(f"the KB engine does not evaluate {type(node).__name__} queries")

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
