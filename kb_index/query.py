"""From what an operator types to a Whoosh query.

Per word: fold (lower, ё→е), drop stop words, fix a word typed in the Latin layout when the
converted word is in the index, stem; a stem the index does not know is replaced by the
known stems within edit distance 1–2 (typos); the last word of an as-you-type query is also
a prefix (from the third letter); synonym phrases add their group's other phrases. Every
word is searched in title, tags and body (BM25F, field boosts) and the words are OR-ed with
a coordination bonus, so articles that match more of the words rank first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from whoosh import query as Q  # noqa: N812  (Whoosh docs spell it so)

from kb_index.analysis import (
    STOP_WORDS,
    fold,
    from_wrong_layout,
    latin_layout_tokens,
    stem,
    words,
)
from kb_index.derivation import derived_term
from kb_index.synonyms import Synonyms

if TYPE_CHECKING:
    from kb_index.index import Tuning

FIELDS = ("title", "tags", "body")
_VOWELS = "аоеиэяуы"
SHORT_FIELDS = ("title", "tags")
#: one alternative of a query word: its weight and the fields it is searched in
Alt = tuple[float, tuple[str, ...]]
MIN_PREFIX = 3
#: weight of a word's derivational key (`kb_index.derivation`) against its own lemma
DERIVATION_WEIGHT = 0.5


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


#: how many known words a prefix typed so far stands for (the most frequent ones)
PREFIX_EXPANSIONS = 5
#: a query is a flat OR of (field, term, weight) clauses: Whoosh scores a flat OR an order
#: of magnitude faster than nested ones, and BM25 sums reward articles matching more words
Clause = tuple[str, float]


class QueryBuilder:
    def __init__(self, reader: Any, *, method: str, synonyms: Synonyms, tuning: Tuning) -> None:
        self.reader = reader
        self.method = method
        self.synonyms = synonyms
        self.boosts = {
            "title": tuning.title_boost,
            "tags": tuning.tags_boost,
            "body": tuning.body_boost,
        }

    def known(self, term: str) -> bool:
        return any(self.reader.doc_frequency(f, term) > 0 for f in FIELDS)

    def prefix_terms(self, prefix: str, limit: int = PREFIX_EXPANSIONS) -> list[str]:
        """The most frequent indexed words that start with `prefix`."""
        found: dict[str, int] = {}
        for field in ("title", "body"):
            for term in self.reader.expand_prefix(field, prefix):
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                found[text] = found.get(text, 0) + self.reader.doc_frequency(field, text)
        return [t for t, _ in sorted(found.items(), key=lambda kv: -kv[1])[:limit]]

    def _typo_candidates(self, word: str, stemmed: str) -> list[str]:
        """Known terms close to an unknown word: within one edit first, then two (words of
        six letters and more), compared with the word as typed and with its guessed base
        form, any letter included (the first one is mistyped too: "атопление")."""
        if len(word) < 4 or word.isdigit():
            return []
        # a word of the synonyms file first ("кварплата" → "квартплата" → ЖКХ …)
        close = [
            t
            for t in self.synonyms.single_words()
            if edit_distance(word, t) <= 1 or edit_distance(stemmed, t) <= 1
        ]
        if close:
            return close[:3]
        # passes from cheap to costly: the first letter kept, one edit, then two for words of
        # 8+ letters; then a mistyped first vowel ("атопление" → "отопление"), which keeps
        # every probe anchored on its first letter (an unanchored search is slow)
        passes: list[tuple[int, set[str]]] = [(1, {word, stemmed})]
        if len(word) >= 8:
            passes.append((2, {word}))
        if word[0] in _VOWELS:
            passes.append((1, {v + word[1:] for v in _VOWELS if v != word[0]}))
        for maxdist, probes in passes:
            found: dict[str, int] = {}
            for field in ("body", "title"):  # titles only when the bodies have nothing
                for probe in probes:
                    for candidate in self.reader.terms_within(field, probe, maxdist, 1):
                        found[candidate] = max(
                            found.get(candidate, 0), self.reader.doc_frequency(field, candidate)
                        )
                if found:
                    break
            if found:
                # the most frequent few: a typo usually means the common word
                return [t for t, _ in sorted(found.items(), key=lambda kv: -kv[1])[:3]]
        return []

    def _words(self, text: str, as_you_type: bool) -> list[_Word]:
        raw_tokens = latin_layout_tokens(text)
        typing_last = as_you_type and bool(text) and not text[-1].isspace()
        result: list[_Word] = []
        for position, raw in enumerate(raw_tokens):
            last = typing_last and position == len(raw_tokens) - 1
            converted = from_wrong_layout(raw)
            if converted is not None:
                cyr = words(converted)
                if cyr and (
                    self.known(stem(cyr[0], self.method))
                    or (last and len(cyr[0]) >= MIN_PREFIX and self.prefix_terms(cyr[0], 1))
                ):
                    raw = converted
            for word in words(raw):
                if word in STOP_WORDS:
                    continue
                stemmed = stem(word, self.method)
                item = _Word(stems=[stemmed])
                if last and len(word) >= MIN_PREFIX:
                    item.prefix = word
                elif not self.known(stemmed):
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
        if self.method == "lemma":
            for s in item.stems:
                key = derived_term(s)
                if key is not None and key not in found:
                    found[key] = (item.weight * DERIVATION_WEIGHT, FIELDS)
        if item.prefix:
            for t in self.prefix_terms(item.prefix) + self.prefix_terms(item.stems[0]):
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
            for phrase in others:
                if len(phrase) == 1:
                    positions[start].setdefault(phrase[0], (0.9, FIELDS))
                else:
                    phrases[start].append(phrase)
            if end - start > 1:  # a multi-word phrase of the query: one position
                phrases[start].append(tuple(first_stems[start:end]))
                covered.update(range(start + 1, end))
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
            by_rarity = sorted(range(len(parts)), key=lambda i: word_queries[i][0])
            if len(parts) > 2:
                levels.append(Q.And([parts[i] for i in sorted(by_rarity[:-1])]))
            levels.extend(alone)
            levels.append(parts[by_rarity[0]])
        return levels

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
