"""Highlighted fragments: the part of a text with the most query words, marked `**word**`.

Lighter than Whoosh's highlighter (which runs the whole analysis chain over the text): one
regular-expression pass, each word folded and reduced with the same cached `stem`. The
words of a text with their index forms are kept for the texts highlighted last
(`WordForms`, keyed by content): while an operator types, the same few articles come back
keystroke after keystroke, and only the query's terms change.
"""

from __future__ import annotations

from collections import OrderedDict

from kb_index.analysis import TOKEN_RE, fold, stem

WINDOW = 160
MAX_FRAGMENTS = 2
#: folded word → (start, end) of each of its occurrences in a text
Words = dict[str, list[tuple[int, int]]]


def text_words(text: str, method: str) -> Words:
    """The words of `text` (its `**` marks already removed), folded. Reduced to their index
    form only when a query could mark them (`fragments`): lemmatising every word of every
    hit was most of a search's time with a cold cache."""
    folded = fold(text)
    if len(folded) != len(text):  # a letter whose lower case is longer: fold word by word
        pairs = [(m.span(), fold(m.group())) for m in TOKEN_RE.finditer(text)]
    else:
        pairs = [(m.span(), m.group()) for m in TOKEN_RE.finditer(folded)]
    words: Words = {}
    for span, word in pairs:
        words.setdefault(word, []).append(span)
    return words


class WordForms:
    """The words of the last `size` texts highlighted, keyed by the caller (a content hash)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._cache: OrderedDict[tuple[str, str], Words] = OrderedDict()

    def get(self, key: str, text: str, method: str) -> Words:
        cache_key = (key, method)
        found = self._cache.get(cache_key)
        if found is None:
            found = self._cache[cache_key] = text_words(text, method)
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(cache_key)
        return found


def fragments(text: str, terms: set[str], method: str, words: Words | None = None) -> list[str]:
    """Up to two windows of about WINDOW characters around the densest matches.

    `words`: the text's words from `text_words` (of the text with `**` removed), if known."""
    text = text.replace("**", "")
    if words is None:
        words = text_words(text, method)
    # a word form shares its first two letters with its lemma (or Snowball stem) but for a
    # few suppletive forms (людей → человек), which are left unmarked; only such words are
    # lemmatised
    heads = {term[:2] for term in terms}
    hits = sorted(
        span
        for word, spans in words.items()
        if word[:2] in heads and stem(word, method) in terms
        for span in spans
    )
    if not hits:
        return []
    # greedy: the window starting at each hit that holds the most hits
    chosen: list[tuple[int, int]] = []
    remaining = hits
    while remaining and len(chosen) < MAX_FRAGMENTS:
        best_start, best_count = 0, -1
        for i, (start, _end) in enumerate(remaining):
            count = sum(1 for s, _e in remaining[i:] if s < start + WINDOW)
            if count > best_count:
                best_start, best_count = start, count
        window = (max(0, best_start - 40), best_start + WINDOW)
        chosen.append(window)
        remaining = [h for h in remaining if not (window[0] <= h[0] < window[1])]
    chosen.sort()
    parts = []
    for lo, hi in chosen:
        lo = _word_edge(text, lo, back=True)
        hi = _word_edge(text, min(hi, len(text)), back=False)
        piece, cursor = [], lo
        for s, e in hits:
            if lo <= s and e <= hi:
                piece.append(text[cursor:s])
                piece.append(f"**{text[s:e]}**")
                cursor = e
        piece.append(text[cursor:hi])
        parts.append(" ".join("".join(piece).split()))
    return [" … ".join(parts)]


def _word_edge(text: str, pos: int, *, back: bool) -> int:
    """Move `pos` to a space so that no word is cut in half."""
    if back:
        while pos > 0 and not text[pos - 1].isspace():
            pos -= 1
    else:
        while pos < len(text) and not text[pos].isspace():
            pos += 1
    return pos
