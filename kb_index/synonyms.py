"""Synonym groups from a data file that admins extend (`data/kb/synonyms.txt`).

One group per line, phrases separated by commas; `#` starts a comment:

    ЖКХ, коммунальные услуги, коммуналка, жилищно-коммунальное хозяйство

A query that contains any phrase of a group also searches for the others. Expansion happens
at query time, so a `KbIndex` takes new groups by assigning `index.synonyms` (no reindex):
the backend keeps the groups as data (`ekc-admin kb synonyms`, seeded from this file) and
the console replaces its set after each KB sync (`ekc_tui.kbsync`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kb_index.analysis import DEFAULT_METHOD, stem, words


class SynonymFileError(ValueError):
    """A line of the synonyms file that cannot be used; the message names file and line."""


@dataclass(frozen=True)
class Synonyms:
    """Groups of phrases; each phrase kept as its sequence of stems."""

    groups: tuple[tuple[tuple[str, ...], ...], ...] = ()
    lines: tuple[str, ...] = ()
    """The source lines, to recompile for another stemming method."""
    method: str = DEFAULT_METHOD
    _index: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_lines(
        cls, lines: Sequence[str], *, method: str = DEFAULT_METHOD, source: str = "<synonyms>"
    ) -> Synonyms:
        groups: list[tuple[tuple[str, ...], ...]] = []
        for number, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            phrases = []
            for raw in text.split(","):
                stems = tuple(stem(w, method) for w in words(raw))
                if stems and stems not in phrases:
                    phrases.append(stems)
            if len(phrases) < 2:
                raise SynonymFileError(
                    f"{source}:{number}: в группе синонимов нужно хотя бы два слова или фразы"
                )
            groups.append(tuple(phrases))
        index: dict[str, list[int]] = {}
        for gi, group in enumerate(groups):
            for phrase in group:
                index.setdefault(phrase[0], []).append(gi)
        return cls(groups=tuple(groups), lines=tuple(lines), method=method, _index=index)

    @classmethod
    def load(cls, path: Path, *, method: str = DEFAULT_METHOD) -> Synonyms:
        return cls.from_lines(
            path.read_text(encoding="utf-8").splitlines(), method=method, source=str(path)
        )

    def single_words(self) -> list[str]:
        """The one-word phrases of all groups (for typo correction)."""
        return sorted({p[0] for group in self.groups for p in group if len(p) == 1})

    def for_method(self, method: str) -> Synonyms:
        """The same groups analysed for another stemming method."""
        if method == self.method:
            return self
        return Synonyms.from_lines(self.lines, method=method)

    def expansions(self, stems: Sequence[str]) -> list[tuple[int, int, list[tuple[str, ...]]]]:
        """Matches in a stem sequence: (start, end, the other phrases of the group)."""
        found = []
        for start, first in enumerate(stems):
            for gi in self._index.get(first, ()):
                for phrase in self.groups[gi]:
                    end = start + len(phrase)
                    if tuple(stems[start:end]) == phrase:
                        others = [p for p in self.groups[gi] if p != phrase]
                        found.append((start, end, others))
        return found


_PERSON_GRAMMEMES = frozenset({"Name", "Surn", "Patr"})


def looks_like_person_name(word: str) -> bool:
    """Whether pymorphy3's most likely reading of `word` is a first name, surname or
    patronymic (Мария, Иванов, Петрович; also «роза», «Лена»): the search log and the data
    learnt from it keep no such word (see `ekc_core.kb_gaps.scrub_query`)."""
    from kb_index.analysis import _morph  # the analyser the index already loaded

    parses = _morph().parse(word)
    return bool(parses) and bool(_PERSON_GRAMMEMES & set(parses[0].tag.grammemes))
