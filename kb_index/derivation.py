"""Derivational stems: one key for the words of a family across parts of speech.

Lemmas keep parts of speech apart: a caller says «затопили» (затопить), the article says
«затопление»; «выплатить» / «выплата», «расселить» / «расселение», «ветхий» / «ветхость».
`derive(lemma)` strips one derivational or inflectional suffix from a lemma and then
normalises a consonant alternation at the end of what is left, so that the words of one
family meet on the same key:

    затопление → затопл → затоп      затопить → затоп
    выплачивать → выплач → выплат    выплата → выплат
    ветхость → ветх                  ветхий → ветх

The index stores the key next to the lemma (at the same position, behind `MARKER` so it
can never be mistaken for a lemma) and the query side adds it as a weaker alternative of
each word. Deterministic and dictionary-free: it errs on the side of a shorter key, which
is why keys shorter than `MIN_STEM` letters are not produced (вода and водить would meet).
"""

from __future__ import annotations

from functools import lru_cache

#: what marks a derivational key among the terms of a field (no word contains it)
MARKER = "~"
#: a shorter key joins unrelated words (вод: вода, водить, водный)
MIN_STEM = 4

#: suffixes of lemmas, longest first within each group; one is stripped
SUFFIXES: tuple[str, ...] = (
    # verbs (infinitives; the reflexive -ся/-сь is removed before)
    "ировать",
    "овывать",
    "ивать",
    "ывать",
    "овать",
    "евать",
    "ить",
    "ать",
    "ять",
    "еть",
    "уть",
    "ыть",
    "ти",
    "ть",
    # participles and adjectives (lemmas are masculine singular)
    "ованный",
    "ированный",
    "енный",
    "анный",
    "янный",
    "ийный",
    "ительный",
    "тельный",
    "ный",
    "ной",
    "ний",
    "ый",
    "ий",
    "ой",
    # nouns
    "ирование",
    "ование",
    "ение",
    "ание",
    "яние",
    "тие",
    "ация",
    "яция",
    "ность",
    "ость",
    "есть",
    "ство",
    "ие",
    "ия",
    "ье",
    "а",
    "я",
    "о",
    "е",
    "ь",
    "й",
)
_BY_LENGTH: tuple[str, ...] = tuple(sorted(SUFFIXES, key=len, reverse=True))

#: alternations at the end of a stripped stem, to one spelling
ALTERNATIONS: tuple[tuple[str, str], ...] = (
    ("пл", "п"),  # затопление / затопить, капля / капать
    ("бл", "б"),  # употребление / употребить
    ("вл", "в"),  # оформление → оформ-, направление / направить
    ("мл", "м"),  # оформлять / оформить
    ("фл", "ф"),
    ("жд", "д"),  # освобождение / освободить, рождение / родить
    ("щ", "т"),  # обращение / обратиться, защищать / защита
    ("ч", "т"),  # выплачивать / выплата, ответ / отвечать
)


def _strip_reflexive(word: str) -> str:
    if word.endswith(("ться", "тись", "чься")):
        return word[:-2]
    return word


@lru_cache(maxsize=200_000)
def derive(lemma: str) -> str | None:
    """The derivational key of a folded lemma, or None for short words, digits and words
    of other scripts (a key shorter than `MIN_STEM` letters is never returned)."""
    if len(lemma) < MIN_STEM or not lemma.isalpha() or not ("а" <= lemma[0] <= "я"):
        return None
    word = _strip_reflexive(lemma)
    stem = word
    for suffix in _BY_LENGTH:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM - 1:
            stem = word[: -len(suffix)]
            break
    for ending, replacement in ALTERNATIONS:
        if stem.endswith(ending) and len(stem) > len(ending) + 1:
            stem = stem[: -len(ending)] + replacement
            break
    return stem if len(stem) >= MIN_STEM else None


def derived_term(lemma: str) -> str | None:
    """The index term of a lemma's derivational key (`MARKER` + key), or None."""
    key = derive(lemma)
    return MARKER + key if key else None
