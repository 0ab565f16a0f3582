"""Colloquial and slang phrases of callers, rewritten to the wording of the articles.

A data file that admins extend (`data/kb/colloquial.txt`): one rule per line, the caller's
phrases on the left, the articles' wording on the right, both comma-separated; `#` starts
a comment:

    капает с потолка, течет крыша => протечка кровли, протечка
    коммуналка => коммунальные услуги, ЖКХ

Rules are one-way (a query with «протечка» is not widened to «капает с потолка») and are
applied at query time, so editing the file needs no reindex. A caller phrase matches when
all of its words are in the query, in any order and any form: each word is compared by
lemma and by derivational key (`kb_index.derivation`), so «соседи затопили» also matches
«затопление соседями». The article wording is then searched as an alternative of each
matched word, slightly weaker than the word itself.

Stop words are not searched, but two kinds of them change what a caller phrase means: a
negation («не», «нет», «ни») and «хочу» («не хочу жить» is not «жить», «скорая не
приехала» is not «скорая приехала»). A phrase with one of them matches only a query that
has a word of the same kind too, anywhere in it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kb_index.analysis import DEFAULT_METHOD, STOP_WORDS, TOKEN_RE, fold, stem, words
from kb_index.derivation import derive
from kb_index.synonyms import SynonymFileError

log = logging.getLogger("kb_index")

ARROW = "=>"
#: the shipped file, beside the packages in a checkout
SHIPPED = Path(__file__).resolve().parent.parent / "data" / "kb" / "colloquial.txt"


class ColloquialFileError(SynonymFileError):
    """A line of the colloquial phrases file that cannot be used (names file and line);
    `side` is "callers" or "articles" when one side of the rule has no searchable word."""

    def __init__(self, message: str, side: str | None = None) -> None:
        super().__init__(message)
        self.side = side


Phrase = tuple[str, ...]

#: the kinds of stop words a caller phrase keeps (see the module's docstring): a phrase with
#: a word of one kind matches only a query with a word of that kind
KEPT_STOP_WORDS: tuple[frozenset[str], ...] = (
    frozenset({"не", "нет", "ни"}),
    frozenset({"хочу"}),
)


def kept_kinds(typed: Sequence[str]) -> frozenset[int]:
    """The kinds of kept stop words among folded words (stop words included)."""
    present = set(typed)
    return frozenset(k for k, kind in enumerate(KEPT_STOP_WORDS) if kind & present)


def typed_words(text: str) -> list[str]:
    """Every folded word of a text, stop words included."""
    return [fold(m.group()) for m in TOKEN_RE.finditer(text)]


@dataclass(frozen=True)
class Rule:
    """Caller phrases (stems) → article phrases (stems). `needs[i]`: the kinds of kept stop
    words that caller phrase `i` has (empty when none)."""

    callers: tuple[Phrase, ...]
    articles: tuple[Phrase, ...]
    line: int
    needs: tuple[frozenset[int], ...] = ()


def _key(term: str) -> str:
    return derive(term) or term


@dataclass(frozen=True)
class Colloquial:
    rules: tuple[Rule, ...] = ()
    lines: tuple[str, ...] = ()
    method: str = DEFAULT_METHOD
    _by_word: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)
    _words: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_lines(
        cls, lines: Sequence[str], *, method: str = DEFAULT_METHOD, source: str = "<colloquial>"
    ) -> Colloquial:
        rules: list[Rule] = []
        for number, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            where = f"{source}:{number}"
            if text.count(ARROW) != 1:
                raise ColloquialFileError(
                    f"{where}: правило пишется как «фраза звонящего => формулировка статьи»"
                )
            left, right = (side.strip() for side in text.split(ARROW))
            callers, needs = _caller_phrases(left, method)
            articles = _phrases(right, method)
            if not callers:
                raise ColloquialFileError(f"{where}: слева от «=>» нет ни одного слова", "callers")
            if not articles:
                raise ColloquialFileError(
                    f"{where}: справа от «=>» нет ни одного слова", "articles"
                )
            rules.append(Rule(callers=callers, articles=articles, line=number, needs=needs))
        by_word: dict[str, list[int]] = {}
        all_words: dict[str, list[int]] = {}
        for ri, rule in enumerate(rules):
            for phrase in rule.callers:
                by_word.setdefault(_key(phrase[0]), []).append(ri)
                for w in phrase:
                    all_words.setdefault(_key(w), []).append(ri)
        return cls(
            rules=tuple(rules),
            lines=tuple(lines),
            method=method,
            _by_word=by_word,
            _words=all_words,
        )

    @classmethod
    def load(cls, path: Path, *, method: str = DEFAULT_METHOD) -> Colloquial:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ColloquialFileError(
                f"{path}: файл не в кодировке UTF-8 (байт {exc.start})"
            ) from exc
        return cls.from_lines(text.splitlines(), method=method, source=str(path))

    def for_method(self, method: str) -> Colloquial:
        if method == self.method:
            return self
        return Colloquial.from_lines(self.lines, method=method)

    def single_words(self) -> list[str]:
        """The one-word caller phrases (typo correction may land on them)."""
        return sorted({p[0] for r in self.rules for p in r.callers if len(p) == 1})

    def has_word(self, term: str) -> bool:
        """Whether `term` is a word of some caller phrase (no typo correction then)."""
        key = _key(term)
        return any(
            _key(w) == key
            for ri in self._words.get(key, ())
            for phrase in self.rules[ri].callers
            for w in phrase
        )

    def matches(
        self, stems: Sequence[str], typed: Sequence[str] | None = None
    ) -> list[tuple[list[int], tuple[Phrase, ...]]]:
        """For each rule with a caller phrase whose words are all among `stems`: the
        positions of those words and the article phrases. `typed`: every folded word of
        the query, stop words included (`typed_words`); a phrase with a negation or «хочу»
        matches only when they have a word of the same kind (not checked without them)."""
        present = kept_kinds(typed) if typed is not None else None
        keys = [_key(s) for s in stems]
        where: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            where.setdefault(k, []).append(i)
        found: list[tuple[list[int], tuple[Phrase, ...]]] = []
        seen: set[int] = set()
        for k in dict.fromkeys(keys):
            for ri in self._by_word.get(k, ()):
                if ri in seen:
                    continue
                rule = self.rules[ri]
                for pi, phrase in enumerate(rule.callers):
                    needs = rule.needs[pi] if pi < len(rule.needs) else frozenset()
                    if present is not None and not needs <= present:
                        continue
                    if all(_key(w) in where for w in phrase):
                        positions = sorted({where[_key(w)][0] for w in phrase})
                        found.append((positions, rule.articles))
                        seen.add(ri)
                        break
        return found


def _caller_phrases(
    side: str, method: str
) -> tuple[tuple[Phrase, ...], tuple[frozenset[int], ...]]:
    """The caller phrases of a rule's left side and the kinds of kept stop words of each
    (one phrase per distinct pair: «топят» and «не топят» are two phrases)."""
    result: list[tuple[Phrase, frozenset[int]]] = []
    for raw in side.split(","):
        phrase = tuple(stem(w, method) for w in words(raw))
        needs = kept_kinds([w for w in typed_words(raw) if w in STOP_WORDS])
        if phrase and (phrase, needs) not in result:
            result.append((phrase, needs))
    return tuple(p for p, _ in result), tuple(n for _, n in result)


def _phrases(side: str, method: str) -> tuple[Phrase, ...]:
    result: list[Phrase] = []
    for raw in side.split(","):
        phrase = tuple(stem(w, method) for w in words(raw))
        if phrase and phrase not in result:
            result.append(phrase)
    return tuple(result)


_cache: dict[tuple[Path, str], tuple[float, Colloquial]] = {}


def shipped(method: str = DEFAULT_METHOD, path: Path | None = None) -> Colloquial:
    """The rules of the data file (`path`, the env var `EKC_KB_COLLOQUIAL`, or the shipped
    file), re-read when the file changes; no rules when there is no file."""
    if path is None:
        override = os.environ.get("EKC_KB_COLLOQUIAL")
        path = Path(override) if override else _default_path()
    if path is None:
        return Colloquial(method=method)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return Colloquial(method=method)
    cached = _cache.get((path, method))
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        rules = Colloquial.load(path, method=method)
    except (ColloquialFileError, OSError) as exc:
        # a bad edit never stops search: the last good rules (or none) stay in use
        log.warning("colloquial phrases not reloaded: %s", exc)
        rules = cached[1] if cached is not None else Colloquial(method=method)
    _cache[(path, method)] = (mtime, rules)
    return rules


def _default_path() -> Path | None:
    if SHIPPED.is_file():
        return SHIPPED
    try:  # an installed wheel ships data/ as the package `ekc_data`
        from importlib.resources import files

        return Path(str(files("ekc_data"))) / "kb" / "colloquial.txt"
    except ModuleNotFoundError:
        return None


_merged: dict[tuple[tuple[str, ...], str, tuple[str, ...]], Colloquial] = {}


def with_extra(base: Colloquial, extra: Sequence[str]) -> Colloquial:
    """`base` (the data file's rules) and `extra` (lines of the same format: the rules
    admins add on the backend) after them, merged once per change of either; a line of
    `extra` that cannot be used is logged and left out, the others stay."""
    if not extra:
        return base
    key = (base.lines, base.method, tuple(extra))
    merged = _merged.get(key)
    if merged is None:
        try:
            merged = Colloquial.from_lines([*base.lines, *extra], method=base.method)
        except ColloquialFileError:  # rare: the backend checks each rule it stores
            merged = Colloquial.from_lines(
                [*base.lines, *_usable(extra, base.method)], method=base.method
            )
        _merged.clear()  # one set in use at a time: the previous one is not needed again
        _merged[key] = merged
    return merged


def _usable(extra: Sequence[str], method: str) -> list[str]:
    usable: list[str] = []
    for number, line in enumerate(extra, start=1):
        try:
            Colloquial.from_lines([line], method=method)
        except ColloquialFileError as exc:
            log.warning("colloquial rule %d of the backend not used: %s", number, exc)
            continue
        usable.append(line)
    return usable
