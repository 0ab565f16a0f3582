"""The words of the index for query building: frequency, prefix completion, typo candidates.

`QueryBuilder` asks three things of the index's vocabulary (the subset of a Whoosh reader
it used to call): how many articles have a term in a field, which terms start with a prefix
(and how often),
which terms are within an edit distance of a word. Whoosh answered the last two by walking
its term lists in Python (with two segments, a pure-Python Damerau-Levenshtein over every
term with the same first letter). Here the segments' marisa-tries answer prefixes in C, and
rapidfuzz compares a word with the candidate terms in C (optimal string alignment: a
transposition is one edit, as in Whoosh).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from kb_index.engine import Engine

#: a prefix shorter than this (a query's first letters) stands for at most SHORT_KEPT of its
#: most frequent completions, counted once: a one- or two-letter prefix stands for
#: thousands of terms, and counting them was most of its search
SHORT_PREFIX = 3
SHORT_KEPT = 64


class Vocabulary:
    """What `QueryBuilder` reads of the index (see the module docstring). One per set of
    segments: the index makes a new one when it opens a new generation."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._all: list[str] | None = None
        self._short: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}

    def doc_frequency(self, field: str, term: str) -> int:
        return self.engine.doc_frequency(field, term)

    def _keys(self, prefix: str) -> list[str]:
        segments = self.engine.segments
        if not prefix:
            if self._all is None:
                keys: set[str] = set()
                for arrays, _offset in segments:
                    keys.update(arrays.trie.keys())
                self._all = sorted(keys)
            return self._all
        if len(segments) == 1:
            return list(segments[0][0].trie.keys(prefix))
        found: set[str] = set()
        for arrays, _offset in segments:
            found.update(arrays.trie.keys(prefix))
        return sorted(found)

    def prefix_frequencies(self, prefix: str, fields: Sequence[str]) -> dict[str, int]:
        """Every term that starts with `prefix`, with its number of articles summed over
        `fields` (terms in none of them left out): the tries give term ids, the offsets
        arrays the frequencies, without a Python call per term and field."""
        found: dict[str, int] = {}
        for arrays, _offset in self.engine.segments:
            pairs = arrays.trie.items(prefix)
            if not pairs:
                continue
            ids = np.fromiter((i for _t, i in pairs), dtype=np.int64, count=len(pairs))
            counts = np.zeros(len(pairs), dtype=np.int64)
            for name in fields:
                offsets = arrays.offsets[name]
                counts += offsets[ids + 1] - offsets[ids]
            for (term, _i), count in zip(pairs, counts.tolist(), strict=True):
                if count:
                    found[term] = found.get(term, 0) + count
        return found

    def most_frequent(self, prefix: str, fields: Sequence[str], limit: int) -> list[str]:
        """The `limit` terms starting with `prefix` found in most articles (`fields`
        summed; ties in the tries' order); at most SHORT_KEPT, remembered, for a prefix
        shorter than SHORT_PREFIX."""
        if len(prefix) < SHORT_PREFIX:
            key = (prefix, tuple(fields))
            kept = self._short.get(key)
            if kept is None:
                kept = self._short[key] = tuple(self._top(prefix, fields, SHORT_KEPT))
            return list(kept[:limit])
        return self._top(prefix, fields, limit)

    def _top(self, prefix: str, fields: Sequence[str], limit: int) -> list[str]:
        found = self.prefix_frequencies(prefix, fields)
        return [t for t, _ in heapq.nlargest(limit, found.items(), key=lambda kv: kv[1])]

    def terms_within(self, field: str, text: str, maxdist: int, prefix: int = 0) -> Iterator[str]:
        """Terms of `field` within `maxdist` edits of `text` whose first `prefix` letters
        are those of `text`."""
        candidates = self._keys(text[:prefix])
        if not candidates:
            return
        matches = process.extract(
            text, candidates, scorer=OSA.distance, score_cutoff=maxdist, limit=None
        )
        for term, _distance, _index in matches:
            if self.engine.doc_frequency(field, term) > 0:
                yield term
