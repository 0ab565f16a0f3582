"""Tables of the knowledge base's learning loop: the console's search log (no personal data,
see `ekc_core.kb_gaps`) and the synonym groups admins edit as data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ekc_server.model_types import json_list, ts, ts_now


class KbSearchLog(SQLModel, table=True):
    """One settled search of an operator's console: the query (scrubbed), what it found,
    what was opened or copied. No citizen, contact or operator id."""

    __tablename__ = "kb_search_log"
    __table_args__ = (Index("ix_kb_search_log_session_seq", "session", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    """The console's id of the event: a batch sent again stores nothing twice."""
    session: str = Field(max_length=64)
    seq: int = 0
    query: str = Field(max_length=200)
    key: str = Field(max_length=400, index=True)
    """The normalised query (lower case, ё → е, word forms folded): the grouping key."""
    hits: int = 0
    opened: str | None = Field(default=None, max_length=120)
    copied: bool = False
    at: datetime = ts_now(index=True)
    """When it was searched at the desk (corrected for the desk's clock)."""
    recorded_at: datetime = ts_now()


class KbSynonymGroup(SQLModel, table=True):
    """One group of synonyms (phrases of equal meaning for query-time expansion). Removed
    groups stay as rows (`removed_at`), so the shipped file seeds the table only once."""

    __tablename__ = "kb_synonym_group"

    id: int | None = Field(default=None, primary_key=True)
    phrases: list[str] = json_list()
    means: list[str] = json_list()
    """The articles' wording when the group is a one-way rule: its phrases are a caller's,
    searched also as this wording (`kb_index.colloquial`); empty for equal synonyms."""
    created_at: datetime = ts_now()
    removed_at: datetime | None = ts()


class KbImportStage(SQLModel, table=True):
    """An article of a staged import (`kb_import_batch.status = 'staging'`): chunks of a big
    file append here, resolved and checked; the batch's commit publishes them all in one
    transaction and deletes these rows. Nothing here is visible to searches or the feed."""

    __tablename__ = "kb_import_stage"
    __table_args__ = (
        UniqueConstraint("batch_id", "article_id", name="uq_kb_import_stage_batch_article"),
        UniqueConstraint("batch_id", "position", name="uq_kb_import_stage_batch_position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="kb_import_batch.id")
    position: int
    """The article's place in the whole import (0-based), for messages and order."""
    article_id: str = Field(max_length=80)
    title: str = Field(max_length=300)
    body: str = ""
    topic_id: int | None = Field(default=None, foreign_key="topic.id")
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    tags: list[str] = json_list()
    audience: str | None = Field(default=None, max_length=60)
