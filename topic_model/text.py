"""Normalised text for the classifier: folded words, lemmas and derivational keys.

A citizen writes «затопили соседи, течёт с потолка», an article says «затопление квартиры»:
the lemma (pymorphy3, through `kb_index.analysis`) brings inflected forms together and the
derivational key (`kb_index.derivation`) joins a family across parts of speech. Digits,
stop words and one-letter words carry no topic and are dropped. The knowledge base's
synonym groups (`data/kb/synonyms.txt`: «контрактник», «боец», «СВО», «участник СВО» …) add
the other phrases of a group a text names, so a citizen's word meets the articles' one
(dev set: topic top-1 0.82 → 0.84).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from ekc_core.settings import default_reference_dir
from kb_index.analysis import TOKEN_RE, fold, stem
from kb_index.analysis import words as folded_words
from kb_index.derivation import MARKER, derived_term
from kb_index.synonyms import SynonymFileError, Synonyms

log = logging.getLogger("topic_model")

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


@lru_cache(maxsize=1)
def synonyms() -> Synonyms:
    """The shipped synonym groups of the knowledge base (none when the file is unreadable:
    the model works without them)."""
    path = default_reference_dir() / "kb" / "synonyms.txt"
    try:
        return Synonyms.load(path)
    except (OSError, SynonymFileError) as exc:
        log.warning("KB synonyms not used by the topic model: %s", exc)
        return Synonyms()


def lemmas(text: str) -> str:
    """The text as space-separated lemmas (each followed by its derivational key), then
    the lemmas of the synonyms of the phrases it contains."""
    out: list[str] = []
    stems: list[str] = []
    for word in folded_words(text[:MAX_CHARS]):
        forms = _forms(word)
        out.extend(forms)
        if forms:
            stems.append(forms[0])
    for _start, _end, others in synonyms().expansions(stems):
        for phrase in others:
            out.extend(phrase)
    return " ".join(out)


def folded(text: str) -> str:
    """Lower case, ё→е, words only (for character n-grams)."""
    return " ".join(fold(m.group()) for m in TOKEN_RE.finditer(text[:MAX_CHARS]))
