"""Word forms for the console's pickers and the topic a voice assistant's hand-off suggests.

«скорая» finds «Жалобы на работу скорой медицинской помощи», «лекарство» finds «Льготные
лекарства»: a typed word matches a word of a label when the label word starts with it (as
typed so far), when both have one lemma (pymorphy3) or one Snowball stem, or when the
typed word's stem (5 letters or more) begins the label word's stem («льготы» → «льготные»).

The Russian analysis is kb_index's (`stem`, `words`, `fold`); importing kb_index costs
about 0.25 s and pymorphy3's dictionaries another 0.1 s, so both are imported on first use,
never at console start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ekc_core.schemas import TopicPublic

#: a stem shorter than this is too common to match as a beginning («вод» → «водитель»)
MIN_STEM_PREFIX = 5
#: label words this short carry no topic («на», «и», «по»)
MIN_WORD = 3
#: what a sub-topic needs to be chosen: a word of its own said in another form, or more
MIN_SCORE = 0.75


@dataclass(frozen=True)
class Forms:
    """One word as the matching compares it."""

    word: str
    """Folded: lower case, ё → е."""
    lemma: str
    stem: str


@lru_cache(maxsize=20_000)
def forms(word: str) -> Forms:
    """The folded word, its lemma and its Snowball stem (cached: labels repeat)."""
    from kb_index.analysis import fold, stem

    folded = fold(word)
    return Forms(folded, stem(folded, "lemma"), stem(folded, "snowball"))


@lru_cache(maxsize=4_000)
def label_forms(label: str) -> tuple[Forms, ...]:
    """Every word of a label (stop words included: a picker matches what is typed)."""
    from kb_index.analysis import TOKEN_RE

    return tuple(forms(m.group()) for m in TOKEN_RE.finditer(label))


def _stem_prefix(short: str, long: str) -> bool:
    return len(short) >= MIN_STEM_PREFIX and long.startswith(short)


def word_matches(typed: Forms, word: Forms) -> bool:
    """Whether a typed word (maybe still being typed) names this word of a label."""
    return (
        word.word.startswith(typed.word)
        or typed.lemma == word.lemma
        or typed.stem == word.stem
        or _stem_prefix(typed.stem, word.stem)
    )


def _likeness(a: Forms, b: Forms) -> float:
    """How surely two whole words are one word: 1 one lemma, 0.75 one stem, 0.5 one stem
    begins the other («льгота» / «льготный»), 0 none."""
    if a.lemma == b.lemma:
        return 1.0
    if a.stem == b.stem:
        return 0.75
    if _stem_prefix(a.stem, b.stem) or _stem_prefix(b.stem, a.stem):
        return 0.5
    return 0.0


def _same_word(a: Forms, b: Forms) -> bool:
    return _likeness(a, b) > 0


def matches(text: str, label: str) -> bool:
    """Every word typed in `text` is found in `label`, as a piece of it (the old filter:
    «здрав» finds «Минздрав») or in any of its forms."""
    typed = text.split()
    if not typed:
        return True
    lowered = label.lower()
    words = label_forms(label)
    for raw in typed:
        if raw.lower() in lowered:
            continue
        wanted = forms(raw)
        if not any(word_matches(wanted, w) for w in words):
            return False
    return True


def filter_items(items: Sequence[tuple[str, str]], text: str) -> list[tuple[str, str]]:
    """The (value, label) items whose label matches what is typed, in their order."""
    if not text.split():
        return list(items)
    return [(value, label) for value, label in items if matches(text, label)]


# --- the hand-off's topic -----------------------------------------------------------------


def _content_forms(text: str) -> list[Forms]:
    """Forms of the words of a text that can name a topic (no stop words, no short ones)."""
    from kb_index.analysis import words

    return [forms(w) for w in words(text) if len(w) >= MIN_WORD and not w.isdigit()]


def _name_forms(text: str) -> list[Forms]:
    """The words of a topic's name that can tell it from its siblings: abbreviations
    (ТКО, МФЦ) and words whose lemma has 4 letters or more («дом» is said about anything)."""
    from kb_index.analysis import TOKEN_RE

    out: list[Forms] = []
    for m in TOKEN_RE.finditer(text):
        raw = m.group()
        if (raw.isupper() and len(raw) >= 2) or len(raw) >= MIN_WORD:
            f = forms(raw)
            if (raw.isupper() or len(f.lemma) > MIN_WORD) and f.word not in _stop_words():
                out.append(f)
    return out


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from kb_index.analysis import STOP_WORDS

    return STOP_WORDS


def _find(topics: Sequence[TopicPublic], assistant_topic: str) -> TopicPublic | None:
    """The assistant's topic by code, else by its name (assistants send either)."""
    wanted = assistant_topic.strip()
    for topic in topics:
        if topic.code == wanted:
            return topic
    folded = wanted.lower().replace("ё", "е")
    for topic in topics:
        if topic.name.lower().replace("ё", "е") == folded:
            return topic
    return None


def _best_child(
    children: Sequence[TopicPublic],
    said: Sequence[Forms],
    keywords: Mapping[str, Sequence[str]],
) -> TopicPublic | None:
    """The one child whose name (and keywords) the transcript names best, or None when none
    or several equally. A name word the caller said counts by how surely it is the same
    word (`_likeness`) divided by the number of siblings sharing it; a child needs
    MIN_SCORE, so «медицинская помощь» (in three names) alone picks nothing."""
    names: dict[str, list[Forms]] = {}
    for child in children:
        text = " ".join([child.name, *keywords.get(child.code, ())])
        seen: list[Forms] = []
        for f in _name_forms(text):
            if not any(_same_word(f, s) for s in seen):
                seen.append(f)
        names[child.code] = seen
    scores: dict[str, float] = {}
    for child in children:
        score = 0.0
        for f in names[child.code]:
            likeness = max((_likeness(f, s) for s in said), default=0.0)
            if not likeness:
                continue
            shared = sum(1 for other in names.values() if any(_same_word(f, o) for o in other))
            score += likeness / shared
        if score >= MIN_SCORE:
            scores[child.code] = score
    if not scores:
        return None
    best = max(scores.values())
    winners = [c for c in children if scores.get(c.code) == best]
    return winners[0] if len(winners) == 1 else None


def suggest_topic(
    assistant_topic: str | None,
    transcript: str,
    topics: Sequence[TopicPublic],
    *,
    keywords: Mapping[str, Sequence[str]] | None = None,
) -> str | None:
    """The deepest active sub-topic under the assistant's topic that the transcript names
    (by word forms of the sub-topics' names and optional `keywords` by code), else the
    assistant's topic as it came; None when the assistant gave none.

    The voice assistant often knows only the top level («Медицина»); the caller's words
    («выписали рецепт на льготное лекарство») pick «Льготные лекарства» under it.
    """
    if not assistant_topic or not assistant_topic.strip():
        return None
    topic = _find(topics, assistant_topic)
    if topic is None:
        return assistant_topic
    said = _content_forms(transcript)
    if not said:
        return topic.code
    by_parent: dict[str, list[TopicPublic]] = {}
    for t in topics:
        if t.parent_code is not None and t.active:
            by_parent.setdefault(t.parent_code, []).append(t)
    current = topic
    while current.code in by_parent:
        child = _best_child(by_parent[current.code], said, keywords or {})
        if child is None:
            break
        current = child
    return current.code
