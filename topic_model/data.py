"""Labelled texts: the training pairs and the labelled sets (`data/routing/*/texts.yaml`)."""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ekc_core.settings import default_reference_dir

#: KB articles are split into their parts: a short citizen's text looks more like one part
#: (the title, a tag, a paragraph) than like a whole article
_PARAGRAPH = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*]|\d+\.)\s)")
_MARKUP = re.compile(r"[*_#>`]+")
MIN_PART = 12


@dataclass(frozen=True)
class Sample:
    text: str
    topic: str
    """Top-level topic code."""
    weight: float = 1.0
    part: bool = False
    """A part of an article (its title, a tag, a paragraph), not a whole text."""


def top_level(code: str) -> str:
    """The top-level topic of a topic code (`svo.contract` → `svo`)."""
    return code.split(".", 1)[0]


def article_samples(
    title: str, body: str, tags: Iterable[str], topic: str, *, parts: bool = True
) -> list[Sample]:
    """One article as training samples: the whole of it, and (`parts`) its title, its tags
    and each paragraph on their own, lighter."""
    top = top_level(topic)
    tags = [t for t in tags if t.strip()]
    whole = " ".join([title, " ".join(tags), body])
    out = [Sample(whole, top)]
    if not parts:
        return out
    out.append(Sample(title, top, part=True))
    out.extend(Sample(t, top, 0.5, part=True) for t in tags)
    for part in _PARAGRAPH.split(body):
        clean = _MARKUP.sub(" ", part).strip()
        if len(clean) >= MIN_PART:
            out.append(Sample(clean, top, 0.5, part=True))
    return out


#: the weight of a reference name (a topic's or an agency's) as a training sample
NAME_WEIGHT = 1.0


def reference_samples(
    topics: Iterable[tuple[str, str, str | None]], agencies: Mapping[str, str]
) -> list[Sample]:
    """The centre's reference data as short samples: each topic's and sub-topic's name
    (`(code, name, default agency code)`) under its top-level topic, and the full name of
    each agency that is the default agency of topics of one top-level topic only (an agency
    shared by two top-level topics says nothing about either). Chosen on the dev set, kept
    because it also helped on dev2 (see README, the topic classifier)."""
    out: list[Sample] = []
    owners: dict[str, set[str]] = defaultdict(set)
    for code, name, agency in topics:
        top = top_level(code)
        if name.strip():
            out.append(Sample(name, top, NAME_WEIGHT, part=True))
        if agency:
            owners[agency].add(top)
    for agency, tops in sorted(owners.items()):
        name = agencies.get(agency, "")
        if len(tops) == 1 and name.strip():
            out.append(Sample(name, next(iter(tops)), NAME_WEIGHT, part=True))
    return out


#: e-mail addresses and runs of five or more digits (phone, account, passport numbers):
#: left out of contacts' texts before they are learnt from
_PERSONAL = re.compile(r"\S+@\S+|\+?\d[\d\s()-]{3,}\d")


def labelled_texts(rows: Iterable[tuple[str, str, int]]) -> list[Sample]:
    """Contacts' texts with the topic operators gave them, as (text, topic, how many
    contacts): one sample per distinct text, labelled with its most frequent top-level topic
    (the same summary written under two topics counts once, for the topic it was given
    most)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for text, topic, n in rows:
        clean = " ".join(_PERSONAL.sub(" ", text).split())
        if clean:
            counts[clean][top_level(topic)] += n
    return [Sample(text, c.most_common(1)[0][0]) for text, c in counts.items()]


#: a colloquial rule's weight as a training sample (chosen on the dev set: 0.5 vs 1.0;
#: the rule's caller phrases together as one sample rather than each on its own)
RULE_WEIGHT = 0.5


@dataclass(frozen=True)
class ColloquialRule:
    """A line of the KB's colloquial phrases (`data/kb/colloquial.txt`): how callers say it
    (the left side) and the articles' wording (the right side), as written."""

    callers: str
    articles: str


def read_rules(path: Path) -> list[ColloquialRule]:
    """The rules of a colloquial phrases file, as written (`kb_index.colloquial` checks
    and uses them for search; a line it would reject is skipped here, no file: none)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out: list[ColloquialRule] = []
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if text.count("=>") != 1:
            continue
        left, right = (" ".join(side.split()) for side in text.split("=>"))
        callers = ", ".join(p.strip() for p in left.split(",") if p.strip())
        articles = ", ".join(p.strip() for p in right.split(",") if p.strip())
        if callers and articles:
            out.append(ColloquialRule(callers, articles))
    return out


def shipped_rules() -> list[ColloquialRule]:
    """The rules KB search uses: the file of `EKC_KB_COLLOQUIAL`, else the reference data's
    `kb/colloquial.txt`."""
    override = os.environ.get("EKC_KB_COLLOQUIAL")
    path = Path(override) if override else default_reference_dir() / "kb" / "colloquial.txt"
    return read_rules(path)


class LabelledFileError(ValueError):
    pass


def read_labelled(path: Path) -> list[Sample]:
    """A labelled set: a YAML list of `{id, text, topic, channel}` (topic rolled up)."""
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict):  # a set may wrap its list: {items: [...]}
        raw = raw.get("items") or raw.get("texts")
    if not isinstance(raw, list):
        raise LabelledFileError(f"{path}: нужен список {{id, text, topic, channel}}")
    out: list[Sample] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("text") or not item.get("topic"):
            raise LabelledFileError(f"{path}: запись {i + 1}: нужны text и topic")
        out.append(Sample(str(item["text"]), top_level(str(item["topic"]))))
    return out
