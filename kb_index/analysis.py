"""Russian analysis for Whoosh: tokens, lower case, ё→е, stop words, stemming or lemmas.

These classes are pickled into every Whoosh index (the schema stores its analyzers): keep
their names and this module path stable, and keep unpicklable state (the stemmer, the
morphological analyser) out of `__getstate__`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from whoosh.analysis import (
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StopFilter,
    Token,
    Tokenizer,
)
from whoosh.lang.stopwords import stoplists

from kb_index.derivation import derived_term

#: words: Cyrillic or Latin letters and digits, with inner hyphens ("кто-то", "covid-19")
WORD_PATTERN = r"[0-9a-zA-Zа-яА-ЯёЁ]+(?:-[0-9a-zA-Zа-яА-ЯёЁ]+)*"
TOKEN_RE = re.compile(WORD_PATTERN, re.IGNORECASE)

#: Whoosh's Russian list plus a few words with no search value in citizens' questions
STOP_WORDS: frozenset[str] = frozenset(w.replace("ё", "е") for w in stoplists["ru"]) | frozenset(
    {
        "это",
        "как",
        "почему",
        "подскажите",
        "пожалуйста",
        "скажите",
        "можно",
        "нужно",
        "хочу",
        "мой",
        "моя",
        "мое",
        "мои",
        "свой",
        "наш",
        "ваш",
        "который",
        "которая",
        "которые",
        "также",
        "либо",
        "т",
        "д",
        "п",
        "г",
        "др",
        "ли",
    }
)

#: what is indexed for a text: bump on any change of the analysis chain; an index built with
#: another version is rebuilt from its source when it opens (a console resyncs its copy)
#: 2: a derivational key (`kb_index.derivation`) next to each lemma
#: 3: term frequencies without positions, no spelling graph (`kb_index.schema.build_schema`)
#: 4: one-pass `RussianAnalyzer` (the same tokens; the pickled schema changed)
ANALYSIS_VERSION: int = 4

STEMMERS = ("snowball", "lemma")
#: chosen by bench/kb_relevance.py on the shipped query set: lemmas (pymorphy3) rank better
#: than Snowball stems (MRR 0.912 vs 0.897; colloquial 0.869 vs 0.796) and build as fast
DEFAULT_METHOD = "lemma"


def fold(text: str) -> str:
    """Lower case and ё→е: how every token is compared."""
    return text.lower().replace("ё", "е")


@lru_cache(maxsize=1)
def _snowball() -> Any:
    import Stemmer  # PyStemmer: the Snowball Russian stemmer in C

    return Stemmer.Stemmer("russian")


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def stem(word: str, method: str = DEFAULT_METHOD) -> str:
    """The index form of one folded word."""
    if not word or word.isdigit():
        return word
    if method == "lemma":
        return fold(_morph().parse(word)[0].normal_form)
    result: str = _snowball().stemWord(word)
    return result


class YoFilter(Filter):  # type: ignore[misc]  # Whoosh is untyped
    """ё → е (people rarely type ё; texts use both)."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            if "ё" in t.text:
                t.text = t.text.replace("ё", "е")
            yield t


class RussianStemFilter(Filter):  # type: ignore[misc]  # Whoosh is untyped
    """Reduce each token to its stem (Snowball via PyStemmer) or lemma (pymorphy3).

    `keep_original` also emits the unstemmed word at the same position, so that a prefix
    typed so far ("перер") matches whole words as well as stems.
    """

    def __init__(self, method: str = DEFAULT_METHOD, keep_original: bool = False) -> None:
        if method not in STEMMERS:
            raise ValueError(f"unknown stemming method {method!r}")
        self.method = method
        self.keep_original = keep_original

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RussianStemFilter)
            and other.method == self.method
            and other.keep_original == self.keep_original
        )

    def __hash__(self) -> int:
        return hash((self.method, self.keep_original))

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        method = self.method
        for t in tokens:
            if t.stopped:
                yield t
                continue
            original = t.text
            t.text = stem(original, method)
            yield t
            if self.keep_original and original != t.text:
                t.text = original
                yield t


class DerivationFilter(Filter):  # type: ignore[misc]  # Whoosh is untyped
    """After each lemma, its derivational key (`kb_index.derivation`, «~затоп» after
    «затопление») at the same position: words of one family across parts of speech meet."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DerivationFilter)

    def __hash__(self) -> int:
        return hash(DerivationFilter)

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            yield t
            if t.stopped:
                continue
            key = derived_term(t.text)
            if key is not None:
                lemma = t.text
                t.text = key
                yield t
                t.text = lemma


def russian_chain(method: str = DEFAULT_METHOD) -> Any:
    """The analysis as a Whoosh filter chain: words → lower → ё→е → stop words → stems (and,
    for lemmas, each lemma's derivational key). `RussianAnalyzer` yields the same tokens in
    one pass; this chain is its reference (tests/test_kb_index.py)."""
    chain = (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | YoFilter()
        | StopFilter(stoplist=STOP_WORDS, minsize=1)
        | RussianStemFilter(method)
    )
    if method == "lemma":
        chain = chain | DerivationFilter()
    return chain


@lru_cache(maxsize=200_000)
def index_forms(word: str, method: str = DEFAULT_METHOD) -> tuple[str, ...]:
    """What one folded word is indexed as: nothing (a stop word), its stem, or its lemma
    and the lemma's derivational key."""
    if word in STOP_WORDS:
        return ()
    lemma = stem(word, method)
    key = derived_term(lemma) if method == "lemma" else None
    return (lemma,) if key is None else (lemma, key)


class RussianAnalyzer(Tokenizer):  # type: ignore[misc]  # Whoosh is untyped
    """The analyzer of every text field, in one pass: each word of the text (Cyrillic or
    Latin letters and digits, inner hyphens), folded, as its `index_forms` at one position.

    The same tokens as `russian_chain`, without a generator per filter per token: analysis
    was a third of the index build."""

    def __init__(self, method: str = DEFAULT_METHOD) -> None:
        if method not in STEMMERS:
            raise ValueError(f"unknown stemming method {method!r}")
        self.method = method

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RussianAnalyzer) and other.method == self.method

    def __hash__(self) -> int:
        return hash((RussianAnalyzer, self.method))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        method = self.method
        # positions as Whoosh's StopFilter renumbers them: the first kept word keeps its
        # place among all words, the following kept words count on from it
        pos: int | None = None
        index = start_pos - 1
        matches = TOKEN_RE.finditer(value) if tokenize else [re.match(r".*", value, re.S)]
        for m in matches:
            if m is None:
                continue
            index += 1
            forms = index_forms(fold(m.group()), method)
            if not forms:
                continue
            pos = index if pos is None else pos + 1
            for form in forms:
                token.text = form
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = m.group()
                if positions:
                    token.pos = pos
                if chars:
                    token.startchar = start_char + m.start()
                    token.endchar = start_char + m.end()
                yield token

    def term_counts(self, value: str, cache: dict[str, tuple[str, ...]]) -> Counter[str]:
        """Each index form of `value` with its frequency: what `Frequency.word_values` makes
        of this analyzer's tokens, without a token object per word (bulk rebuilds). `cache`
        maps a word as written to its forms; the caller owns it and its lifetime."""
        method = self.method
        forms = cache.get
        out: list[str] = []
        extend = out.extend
        for word in TOKEN_RE.findall(value):
            found = forms(word)
            if found is None:
                found = cache[word] = index_forms(fold(word), method)
            extend(found)
        return Counter(out)


def russian_analyzer(method: str = DEFAULT_METHOD) -> Any:
    """The analyzer of every text field (see `RussianAnalyzer`)."""
    return RussianAnalyzer(method)


def words(text: str) -> list[str]:
    """Folded words of `text` with stop words removed (query side)."""
    return [w for w in (fold(m.group()) for m in TOKEN_RE.finditer(text)) if w not in STOP_WORDS]


# --- wrong keyboard layout ---------------------------------------------------------------

_LAT = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_CYR = "йцукенгшщзхъфывапролджэячсмитьбюё"
LAT_TO_CYR = str.maketrans(_LAT + _LAT.upper(), _CYR + _CYR.upper())
CYR_TO_LAT = str.maketrans(_CYR + _CYR.upper(), _LAT + _LAT.upper())
_LATIN_TYPED = re.compile(r"^[a-z\[\];',.`]+$", re.IGNORECASE)


def from_wrong_layout(token: str) -> str | None:
    """What a Latin-typed token would be in the Russian layout ("vecjh" → "мусор")."""
    if not _LATIN_TYPED.match(token):
        return None
    return token.translate(LAT_TO_CYR).lower()


def latin_layout_tokens(text: str) -> list[str]:
    """Raw tokens of a query including the punctuation keys of the Latin layout ("[" = х)."""
    return re.findall(r"[0-9a-zа-яё\[\];',.`-]+", text, re.IGNORECASE)
