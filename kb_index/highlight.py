"""Highlighted fragments: the part of a text with the most query words, marked `**word**`.

Lighter than Whoosh's highlighter (which runs the whole analysis chain over the text): one
regular-expression pass, each word folded and reduced with the same cached `stem`.
"""

from __future__ import annotations

from kb_index.analysis import TOKEN_RE, fold, stem

WINDOW = 160
MAX_FRAGMENTS = 2


def fragments(text: str, terms: set[str], method: str) -> list[str]:
    """Up to two windows of about WINDOW characters around the densest matches."""
    text = text.replace("**", "")
    hits = [
        (m.start(), m.end())
        for m in TOKEN_RE.finditer(text)
        if stem(fold(m.group()), method) in terms
    ]
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
