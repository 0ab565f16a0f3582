"""Wire models of the topic classifier (`/api/v1/routing/retrain|models|guess`,
`ekc-admin routing retrain|models|guess`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from ekc_core.schemas import Wire

#: the longest text `routing guess` takes (a long e-mail; the model reads its beginning)
MAX_GUESS_TEXT = 20_000


class TopicScores(Wire):
    """Scores on one labelled set."""

    n: int
    group_top1: float
    topic_top1: float
    topic_top3: float


class TopicModelPublic(Wire):
    version: int
    created_at: datetime
    created_by: str | None
    active: bool
    activated_at: datetime | None
    reason: str | None
    """Why it was (not) activated."""
    articles: int
    contacts: int
    samples: int
    train_seconds: float
    threshold: float
    holdout: TopicScores | None
    """None: no hold-out set was found when it was trained."""
    dev: TopicScores | None
    size_bytes: int


class RetrainResult(Wire):
    model: TopicModelPublic
    """The new version."""
    activated: bool
    previous: TopicModelPublic | None
    """The version that was active before, with its scores on today's hold-out."""
    reason: str


class GuessRequest(Wire):
    text: Annotated[str, Field(min_length=1, max_length=MAX_GUESS_TEXT)]


class TopicGuessPublic(Wire):
    topic: str
    topic_name: str | None
    group: str
    confidence: float
    confident: bool
    """False: below the model's threshold, the contact goes to the general group."""
    routed_to: str
    """The group the contact goes to: `group` when confident, else the general group."""
    top: list[tuple[str, float]]
    """The three most probable topics with their probabilities."""
    model_version: int
