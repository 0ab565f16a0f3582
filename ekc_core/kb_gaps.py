"""Learning from the operators: what the console's knowledge-base searches found (the search
log), the gaps report built from it, and the synonym groups admins edit as data.

The search log must carry NO personal data. `scrub_query` is the one rule, applied by the
console before a search is stored and again by the backend before it is saved:

- e-mail addresses and web links are removed;
- any run of digits (spaces, dashes, brackets, dots and `+` inside allowed) holding 5 or more
  digits is removed: phone numbers, SNILS, passport, policy and account numbers; shorter
  numbers stay (112, 103, 2025, "3 группа");
- a number after an address word (ул, улица, д, дом, кв, квартира, корп, стр, мкр...) is
  removed together with that word, and so is the word after a street word (ул Ленина);
- a word written with a capital letter and then small letters is taken for a name and
  removed, except the first word of the query when it has no name-like ending (-ов(а),
  -ев(а), -ин(а), -ович, -евич, -овна, -евна, -ична, -ский, -ская); abbreviations in
  capitals (ЖКХ, СВО, МФЦ) stay; words ending as patronymics are removed in any case;
- if what is left has fewer than 3 letters, or more than half of the words were removed,
  the search is not recorded at all (`None`);
- where a dictionary is at hand (the console, the backend), a word whose most likely reading
  is a first name, surname or patronymic (pymorphy3) is removed too, in any case.

Nothing else identifies a person: an event has no citizen, contact or operator id (the
backend keeps who sent a batch only for the idempotency of the outbox, not in the log).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from pydantic import Field

from ekc_core.fields import Code, InputDatetime, Text
from ekc_core.schemas import Wire

#: the longest query kept (a search box, not a letter)
QUERY_MAX = 200
#: events one outbox item carries at most (a satellite link: a few KB per request)
BATCH_MAX = 50

_EMAIL = re.compile(r"\S+@\S+")
_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"\+?\d[\d\s\-().]*\d|\d")
_ADDRESS_NUMBER = re.compile(
    r"\b(?:ул|улица|пр|пр-т|проспект|пер|переулок|д|дом|кв|квартира|корп|корпус|стр|строение"
    r"|мкр|микрорайон|оф|офис|комн|комната)\b\.?\s*\d+\S*",
    re.IGNORECASE,
)
_STREET_NAME = re.compile(
    r"\b(?:ул|улица|пр-т|проспект|пер|переулок|бульвар|б-р|шоссе|мкр|микрорайон)\b\.?\s+"
    r"[А-ЯЁA-Z][\w-]*",
)
_WORD = re.compile(r"[0-9a-zA-Zа-яА-ЯёЁ]+(?:-[0-9a-zA-Zа-яА-ЯёЁ]+)*")
_NAME_ENDINGS = (
    "ов",
    "ова",
    "ев",
    "ева",
    "ёв",
    "ёва",
    "ин",
    "ина",
    "ский",
    "ская",
    "цкий",
    "цкая",
)
_PATRONYMIC = re.compile(r"(?:ович|евич|овна|евна|ична|инична)$", re.IGNORECASE)
_NAME_LIKE = re.compile(r"^[А-ЯЁA-Z][а-яёa-z]")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def scrub_query(text: str, *, is_name: Callable[[str], bool] | None = None) -> str | None:
    """The query without personal data, or None when it should not be recorded (see the
    module's rule). Spacing is folded; letter case is kept (the backend normalises).

    `is_name` says whether a word is a person's name by a dictionary (the console and the
    backend pass `kb_index.synonyms.looks_like_person_name`, pymorphy3's Name / Surn / Patr);
    such words are removed in any case and position."""
    text = _EMAIL.sub(" ", text)
    text = _LINK.sub(" ", text)
    text = _ADDRESS_NUMBER.sub(" ", text)
    text = _STREET_NAME.sub(" ", text)
    text = _DIGIT_RUN.sub(lambda m: " " if _digits(m.group()) >= 5 else m.group(), text)
    original = _WORD.findall(text)
    kept: list[str] = []
    removed = 0
    for position, word in enumerate(original):
        lower = word.lower()
        if (_PATRONYMIC.search(lower) and len(lower) > 5) or (is_name and is_name(word)):
            removed += 1
            continue
        name_like = _NAME_LIKE.match(word) is not None and not word.isupper()
        if name_like and (position > 0 or lower.endswith(_NAME_ENDINGS)):
            removed += 1
            continue
        kept.append(word)
    if not original:
        return None
    if removed * 2 > len(original):
        return None
    result = " ".join(kept)[:QUERY_MAX].strip()
    if sum(ch.isalpha() for ch in result) < 3:
        return None
    return result


def normalise(text: str) -> str:
    """Lower case, ё → е, words only, single spaces (the grouping key before word forms are
    folded by the backend's analysis)."""
    return " ".join(_WORD.findall(text.lower().replace("ё", "е")))


# --- wire schemas ---------------------------------------------------------------------------

EventId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]


class KbSearchEvent(Wire):
    """One settled search of the console's knowledge-base pane (not every keystroke)."""

    event_id: EventId
    """Made by the console once; a batch sent again stores nothing twice."""
    session: EventId
    """A random id of the search session (rephrasings of one question); not a person."""
    seq: Annotated[int, Field(ge=0, le=10_000)] = 0
    """The order of the search in its session."""
    query: Annotated[Text, Field(min_length=1, max_length=QUERY_MAX)]
    hits: Annotated[int, Field(ge=0, le=10_000)] = 0
    opened: Code | None = None
    """The article opened from the results (the last one, if several)."""
    copied: bool = False
    """The article's answer was copied into the card's summary."""
    at: InputDatetime


class KbSearchEventBatch(Wire):
    events: Annotated[list[KbSearchEvent], Field(min_length=1, max_length=BATCH_MAX)]


class KbSearchEventsResult(Wire):
    stored: int
    """New events stored (repeats of events already stored are skipped)."""
    skipped: int
    """Events already stored, or whose query held nothing left to keep."""


class KbGapArticle(Wire):
    article_id: str
    title: str | None = None
    count: int
    """How many sessions opened it after this query."""


class KbGap(Wire):
    key: str
    """The normalised query (lower case, ё → е, word forms folded)."""
    query: str
    """Its most frequent spelling."""
    count: int
    not_found: int
    """Of `count`: searches that found nothing."""
    not_opened: int
    """Of `count`: searches that found something, but nothing was opened."""
    last_at: datetime
    then_opened: list[KbGapArticle] = Field(default_factory=list)
    """What operators finally opened after rephrasing in the same session, most often first."""


class KbGapReport(Wire):
    date_from: date | None = None
    date_to: date | None = None
    """The period's days (the centre's time), `date_to` included; None: open-ended."""
    searches: int
    """All searches in the period."""
    gaps: list[KbGap]


class KbSynonymCreate(Wire):
    """Equal phrases (two or more), or with `means` a one-way rule: a caller's phrases
    (one or more) searched also as the articles' wording («капает с потолка» → «протечка
    кровли»), never the other way round."""

    phrases: Annotated[
        list[Annotated[Text, Field(min_length=1, max_length=120)]],
        Field(min_length=1, max_length=50),
    ]
    means: Annotated[
        list[Annotated[Text, Field(min_length=1, max_length=120)]],
        Field(max_length=20),
    ] = Field(default_factory=list)


class KbSynonymGroup(Wire):
    id: int
    phrases: list[str]
    means: list[str] = Field(default_factory=list, exclude_if=lambda means: not means)
    """Empty: equal synonyms (and left out of the JSON: a console of the release before
    rules reads exactly the fields it knows); else the articles' wording the phrases stand
    for."""
    created_at: datetime

    def line(self) -> str:
        """The group as a line of its file format: the synonyms file (`kb_index.synonyms`),
        or with `means` the colloquial rules file (`kb_index.colloquial`)."""
        phrases = ", ".join(self.phrases)
        return f"{phrases} => {', '.join(self.means)}" if self.means else phrases


class KbSynonymSet(Wire):
    """The current synonym groups; `unchanged` when the caller already has `version`."""

    version: str
    unchanged: bool = False
    groups: list[KbSynonymGroup] = Field(default_factory=list)

    def lines(self) -> list[str]:
        """The equal groups as lines of the synonyms file format (`kb_index.synonyms`)."""
        return [g.line() for g in self.groups if not g.means]

    def rules(self) -> list[str]:
        """The one-way groups as lines of the colloquial rules format
        (`kb_index.colloquial`)."""
        return [g.line() for g in self.groups if g.means]
