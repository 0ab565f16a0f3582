"""Normalised text for the classifier: folded words, lemmas and derivational keys.

A citizen writes «затопили соседи, течёт с потолка», an article says «затопление квартиры»:
the lemma (pymorphy3, through `kb_index.analysis`) brings inflected forms together and the
derivational key (`kb_index.derivation`) joins a family across parts of speech. Digits,
stop words and one-letter words carry no topic and are dropped.
"""

from __future__ import annotations

from functools import lru_cache

from kb_index.analysis import TOKEN_RE, fold, stem
from kb_index.analysis import words as folded_words
from kb_index.derivation import MARKER, derived_term

#: the longest text looked at: a topic shows in the first lines; a long e-mail costs no more
MAX_CHARS = 4000


@lru_cache(maxsize=100_000)
def _forms(word: str) -> tuple[str, ...]:
    if len(word) < 2 or word.isdigit():
        return ()
    try:
        lemma = stem(word)
    except Exception:  # pymorphy3 on an odd token: keep the folded word
        lemma = word
    key = derived_term(lemma)
    return (lemma,) if key is None else (lemma, key.replace(MARKER, "_"))


def lemmas(text: str) -> str:
    """The text as space-separated lemmas (each followed by its derivational key)."""
    out: list[str] = []
    for word in folded_words(text[:MAX_CHARS]):
        out.extend(_forms(word))
    return " ".join(out)


def folded(text: str) -> str:
    """Lower case, ё→е, words only (for character n-grams)."""
    return " ".join(fold(m.group()) for m in TOKEN_RE.finditer(text[:MAX_CHARS]))
