"""Routing by topic: every version of the routing table, kept (issue 14)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from ekc_server.model_types import ts_now


class RoutingVersion(SQLModel, table=True):
    """One version of the routing file as an admin imported it; the newest is in force."""

    __tablename__ = "routing_version"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    text: str
    """The routing file (YAML, `ekc_core.routing`), exactly as imported."""
    source_name: str = Field(max_length=200)
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = ts_now()
