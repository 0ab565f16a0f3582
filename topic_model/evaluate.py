"""Scores of a classifier on labelled texts, and the two baselines it is measured against.

Top-1 group (what routing needs), top-1 and top-3 top-level topic, recall per topic and the
confusion counts (true topic → predicted topic). Baselines: the most frequent topic of the
training data, and plain TF-IDF (scikit-learn's default word analysis of the raw text, whole
articles and contacts only) with the same linear model, without lemmas, derivational keys,
character n-grams, article parts or calibration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from topic_model.data import Sample
from topic_model.model import GroupOf, scores_2d, softmax

#: the baseline's linear model: LinearSVC's default C (the first round's, kept so that the
#: baseline's numbers stay comparable)
BASELINE_C = 1.0


class Classifier(Protocol):
    @property
    def topics(self) -> list[str]: ...

    def proba(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class Scores:
    n: int
    group_top1: float
    topic_top1: float
    topic_top3: float
    per_topic: dict[str, float] = field(default_factory=dict)
    """Recall per true top-level topic."""
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    """True topic → predicted topic → count (mistakes only)."""

    def as_dict(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "group_top1": round(self.group_top1, 4),
            "topic_top1": round(self.topic_top1, 4),
            "topic_top3": round(self.topic_top3, 4),
        }


def evaluate(
    model: Classifier, samples: Sequence[Sample], group_of: GroupOf, *, group_by_sum: bool = True
) -> Scores:
    """Scores of `model` on `samples`; the group of a text is the one whose topics are the
    most probable together (as `TopicModel.guess` routes), or with `group_by_sum=False` the
    group of the most probable topic (for the baselines, whose scores are no probabilities)."""
    if not samples:
        return Scores(0, 0.0, 0.0, 0.0)
    topics = model.topics
    p = model.proba([s.text for s in samples])
    groups = sorted({group_of(t) for t in topics})
    member = np.array([[group_of(t) == g for g in groups] for t in topics], dtype=np.float64)
    group_p = p @ member
    top1 = [topics[int(i)] for i in np.argmax(p, axis=1)]
    top3 = [{topics[int(i)] for i in row} for row in np.argsort(-p, axis=1)[:, :3]]
    group1 = (
        [groups[int(i)] for i in np.argmax(group_p, axis=1)]
        if group_by_sum
        else [group_of(t) for t in top1]
    )
    hits: dict[str, list[bool]] = {}
    confusion: dict[str, dict[str, int]] = {}
    for s, t in zip(samples, top1, strict=True):
        hits.setdefault(s.topic, []).append(s.topic == t)
        if s.topic != t:
            row = confusion.setdefault(s.topic, {})
            row[t] = row.get(t, 0) + 1
    n = len(samples)
    return Scores(
        n=n,
        group_top1=sum(g == group_of(s.topic) for s, g in zip(samples, group1, strict=True)) / n,
        topic_top1=sum(s.topic == t for s, t in zip(samples, top1, strict=True)) / n,
        topic_top3=sum(s.topic in t3 for s, t3 in zip(samples, top3, strict=True)) / n,
        per_topic={k: sum(v) / len(v) for k, v in sorted(hits.items())},
        confusion=confusion,
    )


class MostFrequent:
    """Always the topic with the most training samples."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        weights: dict[str, float] = {}
        for s in samples:
            weights[s.topic] = weights.get(s.topic, 0.0) + 1.0
        self._topics = sorted(weights, key=lambda t: -weights[t])

    @property
    def topics(self) -> list[str]:
        return self._topics

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        p = np.zeros((len(texts), len(self._topics)))
        p[:, 0] = 1.0
        return p


class PlainTfidf:
    """TF-IDF of the raw words and the same linear model: the baseline of the extras (give it
    whole articles and contacts: `article_samples(..., parts=False)`)."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        self.vectorizer = TfidfVectorizer()
        x = self.vectorizer.fit_transform([s.text for s in samples])
        self.linear = LinearSVC(C=BASELINE_C)
        self.linear.fit(x, [s.topic for s in samples])

    @property
    def topics(self) -> list[str]:
        return [str(t) for t in self.linear.classes_]

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        scores = self.linear.decision_function(self.vectorizer.transform(list(texts)))
        return softmax(scores_2d(scores), 1.0)
