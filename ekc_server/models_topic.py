"""Topic classifier models, versioned (issue 14, point 2): one row per training run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from ekc_server.model_types import ts, ts_now


class TopicModelVersion(SQLModel, table=True):
    """One trained classifier with what it learnt from and how it scored. The active one
    (at most one) guesses the topic of inbound contacts; a candidate that scored worse than
    it on the hold-out is kept, inactive, with `reason`."""

    __tablename__ = "topic_model"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    created_at: datetime = ts_now()
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    active: bool = Field(default=False, index=True)
    activated_at: datetime | None = ts()
    reason: str | None = Field(default=None, max_length=500)
    """Why it was (not) activated, in Russian."""
    articles: int = 0
    """Knowledge-base articles learnt from."""
    contacts: int = 0
    """Distinct contacts' texts learnt from."""
    samples: int = 0
    train_seconds: float = 0.0
    threshold: float = 0.0
    """Confidence below which the general group is the better answer (chosen on the dev set)."""
    scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """{"holdout": {n, group_top1, topic_top1, topic_top3}, "dev": {...}} (absent: no set)."""
    blob: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    """The model (`topic_model.TopicModel.dumps`)."""
