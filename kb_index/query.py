"""From what an operator types to a Whoosh query.

Per word: fold (lower, ё→е), drop stop words, fix a word typed in the Latin layout when the
converted word is in the index, stem; a stem the index does not know is replaced by the
known stems within edit distance 1–2 (typos); the last word of an as-you-type query is also
a prefix (from the third letter; the first word of a query from the first letter, stop
words included, to its most frequent completions); synonym phrases add their group's other
phrases. Every word is searched in title, tags and body (BM25F, field boosts) and the words
are OR-ed with a coordination bonus, so articles that match more of the words rank first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from whoosh import query as Q  # noqa: N812  (Whoosh docs spell it so)

from kb_index.analysis import (
    _morph,
    fold,
    from_wrong_layout,
    latin_layout_tokens,
    stem,
    words,
)
from kb_index.colloquial import Colloquial, typed_words
from kb_index.colloquial import shipped as shipped_colloquial
from kb_index.derivation import derived_term
from kb_index.synonyms import Synonyms
from kb_index.vocabulary import SHORT_PREFIX

if TYPE_CHECKING:
    from kb_index.index import Tuning
    from kb_index.vocabulary import Vocabulary

FIELDS = ("title", "tags", "body")
_VOWELS = "аоеиэяуы"
#: letters typed for one another (vowels; voiced and voiceless pairs)
_CONFUSED = ("аоя", "еиэя", "ую", "ыи", "бп", "вф", "гк", "дт", "жш", "зс", "щш", "ьъ")
SHORT_FIELDS = ("title", "tags")
#: one alternative of a query word: its weight and the fields it is searched in
Alt = tuple[float, tuple[str, ...]]
#: a later word of a query is completed from this many letters (shorter: a query's first
#: letters, which the vocabulary completes to its most frequent words only)
MIN_PREFIX = SHORT_PREFIX
#: the relaxed plan cuts words of this many letters to a prefix of RELAX_PREFIX_MIN or more
RELAX_PREFIX_FROM = 7
RELAX_PREFIX_MIN = 5
RELAX_WEIGHT = 0.4
# The means of issue 13, each switchable so that `bench/kb_relevance.py --steps` measures
# what each one brings (they are all on in use).
#: derivational keys as a weaker alternative of each word (`kb_index.derivation`)
USE_DERIVATION = True
#: typo correction of the word being typed (as well as its prefix completion)
CORRECT_TYPED_WORD = True
#: typo distance by word length (`max_typos`); off: one edit, two only from 8 letters
TYPOS_BY_LENGTH = True
#: a plan that finds nothing falls back on any single word, then "more like this"
NO_EMPTY_ANSWER = True
#: a multi-word synonym phrase of the query is matched as a whole (or by its synonyms)
PHRASE_AS_WHOLE = True
#: prefix completion also from tags («санав» → санавиация)
PREFIX_FROM_TAGS = True
#: weight of the article wording of a caller's phrase (`kb_index.colloquial`)
COLLOQUIAL_WEIGHT = 0.9
#: weight of a word's derivational key (`kb_index.derivation`) against its own lemma
DERIVATION_WEIGHT = 0.5


#: words of this many letters and more may have two typos (shorter ones: one, from 4)
TWO_TYPOS_FROM = 7


def max_typos(length: int) -> int:
    """Edits allowed in a word of `length` letters: none below 4, one below
    `TWO_TYPOS_FROM`, then two."""
    if length < 4:
        return 0
    return 1 if length < TWO_TYPOS_FROM else 2


@lru_cache(maxsize=20_000)
def word_forms(lemma: str) -> frozenset[str]:
    """The folded forms of a lemma (pymorphy3's lexeme of its likeliest reading)."""
    parses = _morph().parse(lemma)
    if not parses:
        return frozenset({lemma})
    return frozenset(fold(f.word) for f in parses[0].lexeme) | {lemma}


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (for the short words of the synonyms file)."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class SearchFilters:
    """Restrict results to a topic (with its sub-topics), an agency, an audience."""

    topic: str | None = None
    agency: str | None = None
    audience: str | None = None

    def to_query(self) -> Q.Query | None:
        parts: list[Q.Query] = []
        if self.topic:
            parts.append(Q.Term("topic_path", self.topic))
        if self.agency:
            parts.append(Q.Term("agency", self.agency))
        if self.audience:
            parts.append(Q.Term("audience", self.audience))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Q.And(parts)


@dataclass
class _Word:
    stems: list[str]  # alternatives for this position (typo candidates, layout fix)
    prefix: str | None = None
    weight: float = 1.0
    typed: str = ""  # the word as typed (folded)


#: how many known words a prefix typed so far stands for: all of them in practice (the
#: arrays engine scores hundreds of terms in milliseconds); the cap, on the most frequent,
#: only bounds a two-letter-like prefix of a huge vocabulary (was 5, which lost articles
#: whose word was the sixth most frequent completion)
PREFIX_EXPANSIONS = 256
#: a query is a flat OR of (field, term, weight) clauses: Whoosh scores a flat OR an order
#: of magnitude faster than nested ones, and BM25 sums reward articles matching more words
Clause = tuple[str, float]


def _typed(text: str) -> list[str]:
    """Every word of a query, stop words included (a caller phrase's negation is matched
    on them), also as read in the Russian layout when typed in the Latin one."""
    typed = typed_words(text)
    for raw in latin_layout_tokens(text):
        converted = from_wrong_layout(raw)
        if converted is not None:
            typed.extend(typed_words(converted))
    return typed


def _has_content(raw: str) -> bool:
    """Whether a raw token has a word that is not a stop word (in the Russian layout too:
    «jn» is «от»)."""
    if not words(raw):
        return False
    converted = from_wrong_layout(raw)
    return converted is None or bool(words(converted))


class QueryBuilder:
    def __init__(
        self,
        reader: Vocabulary,
        *,
        method: str,
        synonyms: Synonyms,
        tuning: Tuning,
        colloquial: Colloquial | None = None,
    ) -> None:
        self.reader = reader
        self.method = method
        self.synonyms = synonyms
        #: caller phrase → article wording; the shipped data file unless given
        self.colloquial = (
            colloquial.for_method(method) if colloquial is not None else shipped_colloquial(method)
        )
        self._analysed: dict[tuple[str, bool], list[_Word]] = {}
        self.boosts = {
            "title": tuning.title_boost,
            "tags": tuning.tags_boost,
            "body": tuning.body_boost,
        }

    def known(self, term: str) -> bool:
        return any(self.reader.doc_frequency(f, term) > 0 for f in FIELDS)

    def prefix_terms(self, prefix: str, limit: int = PREFIX_EXPANSIONS) -> list[str]:
        """The most frequent indexed words that start with `prefix` (a query's first
        letters, shorter than MIN_PREFIX, stand for at most `vocabulary.SHORT_KEPT`)."""
        # tags too: «санав» → санавиация is only a tag
        fields = FIELDS if PREFIX_FROM_TAGS else ("title", "body")
        return self.reader.most_frequent(prefix, fields, limit)

    def _typo_candidates(self, word: str, stemmed: str) -> list[str]:
        """Known terms close to an unknown word, within `max_typos(len(word))` edits (one
        for words of 4–6 letters, two from 7), compared with the word as typed and with its
        guessed base form, any letter included (the first one is mistyped too: «атопление»).

        A short word may also be two edits from the lemma when it is one edit from one of
        the lemma's forms («пенсеи» → «пенсии» → пенсия): such candidates are kept."""
        if len(word) < 4 or word.isdigit():
            return []
        allowed = max_typos(len(word)) if TYPOS_BY_LENGTH else 1
        # a word of the synonyms file first ("кварплата" → "квартплата" → ЖКХ …)
        close: dict[str, int] = {}
        for t in self.synonyms.single_words() + self.colloquial.single_words():
            distance = min(edit_distance(word, t), edit_distance(stemmed, t))
            if distance <= allowed:
                close[t] = distance
        if close:
            nearest = min(close.values())
            return [t for t, d in close.items() if d == nearest][:3]
        # passes from cheap to costly: the first letter kept, one edit, then two; then a
        # mistyped first vowel ("атопление" → "отопление"), which keeps every probe anchored
        # on its first letter (an unanchored search is slow)
        passes: list[tuple[int, set[str]]] = [(1, {word, stemmed})]
        if len(word) >= (5 if TYPOS_BY_LENGTH else 8):
            passes.append((2, {word}))
        if word[0] in _VOWELS:
            passes.append((1, {v + word[1:] for v in _VOWELS if v != word[0]}))
        for maxdist, probes in passes:
            found: dict[str, int] = {}
            for field in ("body", "title"):  # titles only when the bodies have nothing
                for probe in probes:
                    for candidate in self.reader.terms_within(field, probe, maxdist, 1):
                        if (
                            TYPOS_BY_LENGTH
                            and maxdist > allowed
                            and not self._form_within(word, candidate, allowed)
                        ):
                            continue
                        found[candidate] = max(
                            found.get(candidate, 0), self.reader.doc_frequency(field, candidate)
                        )
                if found:
                    break
            if found:
                # the most frequent few: a typo usually means the common word
                return [t for t, _ in sorted(found.items(), key=lambda kv: -kv[1])[:3]]
        return []

    def _form_within(self, word: str, lemma: str, maxdist: int) -> bool:
        """Whether some word form of an indexed lemma is within `maxdist` edits of `word`."""
        if self.method != "lemma":
            return False
        return any(edit_distance(word, form) <= maxdist for form in word_forms(lemma))

    def _prefix_typos(self, prefix: str) -> str | None:
        """A known prefix one edit from an unknown one typed so far («атоплен» → «отоплен»,
        «пенси» stays): deletions, swaps of neighbours and the commonest substitutions
        (vowels, voiced/voiceless pairs), the most frequent completion winning."""
        if len(prefix) < 4:
            return None
        variants: set[str] = set()
        for i in range(len(prefix)):
            variants.add(prefix[:i] + prefix[i + 1 :])
            if i + 1 < len(prefix):
                variants.add(prefix[:i] + prefix[i + 1] + prefix[i] + prefix[i + 2 :])
            for group in _CONFUSED:
                if prefix[i] in group:
                    variants.update(prefix[:i] + c + prefix[i + 1 :] for c in group)
        variants.discard(prefix)
        best: tuple[int, str] | None = None
        for variant in sorted(v for v in variants if len(v) >= MIN_PREFIX):
            for term in self.prefix_terms(variant, 1):
                df = sum(self.reader.doc_frequency(f, term) for f in ("title", "body"))
                if best is None or df > best[0]:
                    best = (df, variant)
        return best[1] if best else None

    def _words(self, text: str, as_you_type: bool) -> list[_Word]:
        """The query's words with their alternatives; remembered for the fallback plan
        (typo correction is the costly part)."""
        key = (text, as_you_type)
        if key not in self._analysed:
            self._analysed[key] = self._analyse(text, as_you_type)
        return [replace(w, stems=list(w.stems)) for w in self._analysed[key]]

    def _analyse(self, text: str, as_you_type: bool) -> list[_Word]:
        raw_tokens = latin_layout_tokens(text)
        content = [_has_content(raw) for raw in raw_tokens]
        # the last word is being typed; so is a stop word that no word of substance has
        # followed yet: «в » keeps the results of «в» instead of finding nothing
        open_end = as_you_type and bool(raw_tokens) and (not text[-1].isspace() or not any(content))
        # the first word of a query being typed (only stop words before it: «нет г») is
        # completed from its first letter, a stop word too («в» may become «вода»); a
        # later word from its MIN_PREFIX-th
        alone = open_end and not any(content[:-1])
        result: list[_Word] = []
        for position, raw in enumerate(raw_tokens):
            last = open_end and position == len(raw_tokens) - 1
            first_typed = alone and last
            shortest = 1 if first_typed else MIN_PREFIX
            converted = from_wrong_layout(raw)
            if converted is not None:
                cyr = words(converted) or (typed_words(converted) if first_typed else [])
                if cyr and (
                    self.known(stem(cyr[0], self.method))
                    or (last and len(cyr[0]) >= shortest and self.prefix_terms(cyr[0], 1))
                ):
                    raw = converted
            found = words(raw) or (typed_words(raw) if first_typed else [])
            for i, word in enumerate(found):
                # «ст.7» is one token: only its final word is completed from the first letter
                shortest = 1 if first_typed and i == len(found) - 1 else MIN_PREFIX
                stemmed = stem(word, self.method)
                item = _Word(stems=[stemmed], typed=word)
                if last and len(word) >= shortest:
                    item.prefix = word
                    if (
                        CORRECT_TYPED_WORD
                        and not self.known(stemmed)
                        and not self.colloquial.has_word(stemmed)
                        and not self.prefix_terms(word, 1)
                    ):
                        # a typo in the word being typed: the corrected whole word, or
                        # the completions of the corrected prefix
                        candidates = self._typo_candidates(word, stemmed)
                        if candidates:
                            item.stems = candidates
                            item.weight = 0.8
                        item.prefix = self._prefix_typos(word)
                elif not self.known(stemmed) and not self.colloquial.has_word(stemmed):
                    candidates = self._typo_candidates(word, stemmed)
                    if candidates:
                        item.stems = candidates
                        item.weight = 0.8
                result.append(item)
        return result

    def _alternatives(self, item: _Word) -> dict[str, Alt]:
        """Terms that stand for one word of the query, with their weight and fields.

        Completions of a prefix typed so far are looked up in titles and tags only: those
        are short, so as-you-type stays fast on any corpus, and titles are what a prefix
        is meant to find. The word's own stem is searched everywhere.
        """
        found: dict[str, Alt] = {}
        for s in item.stems:
            weight = max(found[s][0], item.weight) if s in found else item.weight
            found[s] = (weight, FIELDS)
        if self.method == "lemma" and USE_DERIVATION:
            for s in item.stems:
                key = derived_term(s)
                if key is not None and key not in found:
                    found[key] = (item.weight * DERIVATION_WEIGHT, FIELDS)
        if item.prefix:
            # the lemma's completions too («домам» → дом…), but not for a query's first
            # letters: «во» is read as the preposition «в», «ко» as «к»
            lemma = item.stems[0]
            short = len(item.prefix) < MIN_PREFIX and not lemma.startswith(item.prefix)
            extra = [] if short else self.prefix_terms(lemma)
            for t in self.prefix_terms(item.prefix) + extra:
                found.setdefault(t, (0.7, SHORT_FIELDS))
        return found

    def _df(self, terms: dict[str, Alt]) -> int:
        return sum(
            self.reader.doc_frequency("body", t) for t, (_w, f) in terms.items() if "body" in f
        )

    def plan(self, text: str, *, as_you_type: bool = False) -> list[Q.Query]:
        """Queries from strict to relaxed: all the words, then without the commonest ones.

        Each word is an OR of its alternatives (its stem, typo candidates, prefix expansions,
        synonyms) over the fields; the words are AND-ed. Intersections are cheap in Whoosh
        even on tens of thousands of articles, where one big OR is not; and an article
        with all the words of the query should come before one with some of them.
        """
        items = self._words(fold(text), as_you_type)
        if not items:
            return []
        positions = [self._alternatives(item) for item in items]
        phrases: list[list[tuple[str, ...]]] = [[] for _ in items]
        first_stems = [w.stems[0] for w in items]
        covered: set[int] = set()
        for start, end, others in self.synonyms.expansions(first_stems):
            if end - start > 1 and PHRASE_AS_WHOLE:
                # the query's own multi-word phrase («горячей воды») stands for the word at
                # its start: its first word alone («горячий» питание) is not an alternative
                own = self._alternatives(_Word(stems=[first_stems[start]]))
                for term in own:
                    positions[start].pop(term, None)
            for phrase in others:
                if len(phrase) == 1:
                    positions[start].setdefault(phrase[0], (0.9, FIELDS))
                else:
                    phrases[start].append(phrase)
            if end - start > 1:  # a multi-word phrase of the query: one position
                phrases[start].append(tuple(first_stems[start:end]))
                covered.update(range(start + 1, end))
        # caller phrases: the article wording is an alternative of each word they matched
        for matched, rewrites in self.colloquial.matches(first_stems, _typed(fold(text))):
            for i in matched:
                for phrase in rewrites:
                    if len(phrase) == 1:
                        positions[i].setdefault(phrase[0], (COLLOQUIAL_WEIGHT, FIELDS))
                    else:
                        phrases[i].append(phrase)
        word_queries = []
        alone = []  # each word by itself, in the short fields only: cheap on any corpus
        for i, terms in enumerate(positions):
            if i in covered:
                continue
            word_queries.append((self._df(terms), self._word(terms, phrases[i])))
            alone.append(self._word(terms, phrases[i], fields=SHORT_FIELDS))
        # all the words; all but the commonest; each word on its own in the short fields;
        # the rarest word on its own everywhere. An article that lacks one word of the query
        # is still found, and every level stays a cheap intersection or a short posting list.
        parts = [q for _df, q in word_queries]
        levels: list[Q.Query] = [parts[0] if len(parts) == 1 else Q.And(parts)]
        if len(parts) > 1:
            # the rarest word the index knows (an unknown word has a frequency of 0 too)
            by_rarity = sorted(
                range(len(parts)), key=lambda i: (word_queries[i][0] == 0, word_queries[i][0])
            )
            if len(parts) > 2:
                levels.append(Q.And([parts[i] for i in sorted(by_rarity[:-1])]))
            levels.extend(alone)
            levels.append(parts[by_rarity[0]])
        return levels

    def relaxed_plan(self, text: str, *, as_you_type: bool = False) -> list[Q.Query]:
        """The fallback when the plan finds nothing: any single word, by its lemma, its
        derivational key or, for a long word, the completions of its first letters
        («потолочный» → потол…), in every field. One flat OR, ranked by BM25."""
        if not NO_EMPTY_ANSWER:
            return []
        items = self._words(fold(text), as_you_type)
        parts: dict[tuple[str, str], Q.Term] = {}

        def add(field: str, term: str, weight: float) -> None:
            boost = self.boosts[field] * weight
            if (field, term) not in parts or parts[(field, term)].boost < boost:
                parts[(field, term)] = Q.Term(field, term, boost=boost)

        for item in items:
            for term, (weight, _fields) in self._alternatives(item).items():
                for field in FIELDS:
                    add(field, term, weight)
            word = item.typed
            if len(word) >= RELAX_PREFIX_FROM:
                cut = max(RELAX_PREFIX_MIN, len(word) - 3)
                for term in self.prefix_terms(word[:cut]):
                    for field in FIELDS:
                        add(field, term, RELAX_WEIGHT)
        if not parts:
            return []
        leaves = list(parts.values())
        return [leaves[0] if len(leaves) == 1 else Q.Or(leaves)]

    def _word(
        self,
        terms: dict[str, Alt],
        phrases: list[tuple[str, ...]],
        fields: tuple[str, ...] = FIELDS,
    ) -> Q.Query:
        parts: list[Q.Query] = [
            Q.Term(f, term, boost=self.boosts[f] * weight)
            for term, (weight, term_fields) in terms.items()
            for f in fields
            if f in term_fields
        ]
        for phrase in dict.fromkeys(phrases):
            if any(t in terms for t in phrase):
                continue  # finds nothing that one of the word's own terms does not
            # a multi-word synonym counts when all its words are in the same field
            parts.extend(
                Q.And([Q.Term(f, t) for t in phrase], boost=self.boosts[f] * 0.9)
                for f in fields
                if f != "tags"
            )
        return parts[0] if len(parts) == 1 else Q.Or(parts)

    def build(self, text: str, *, as_you_type: bool = False) -> Q.Query | None:
        """The strictest query of the plan (diagnostics and simple callers)."""
        levels = self.plan(text, as_you_type=as_you_type)
        return levels[0] if levels else None

    def scoring_query(self, levels: list[Q.Query]) -> Q.Query:
        """One flat OR of every term of the plan: ranks the candidates the levels found."""
        leaves: dict[tuple[str, str], Q.Query] = {}
        for leaf in levels[0].leaves():
            if isinstance(leaf, Q.Term):
                key = (leaf.fieldname, leaf.text)
                if key not in leaves or leaves[key].boost < leaf.boost:
                    leaves[key] = leaf
        parts = list(leaves.values())
        return parts[0] if len(parts) == 1 else Q.Or(parts)

    def key_terms_query(self, searcher: Any, text: str, numterms: int = 12) -> Q.Query | None:
        """The most distinctive words of a free text, weighted, as one OR query."""
        analysed = " ".join(words(fold(text)))
        if not analysed:
            return None
        terms = searcher.key_terms_from_text("body", analysed, numterms=numterms)
        if not terms:
            return self.build(text)
        return Q.Or(
            [
                Q.Term(f, term, boost=self.boosts[f] * float(weight))
                for term, weight in terms
                for f in ("title", "body")
            ]
        )
