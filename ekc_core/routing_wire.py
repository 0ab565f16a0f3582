"""Wire models of the routing table (`/api/v1/routing`, `ekc-admin routing`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from ekc_core.schemas import Wire

#: the largest routing file accepted (a table of every topic fits in a few kilobytes)
MAX_ROUTING_TEXT = 200_000


class RoutingImport(Wire):
    text: Annotated[str, Field(min_length=1, max_length=MAX_ROUTING_TEXT)]
    """The routing file (YAML; see `ekc_core.routing`)."""
    source_name: Annotated[str, Field(min_length=1, max_length=200)]
    """The file's name, for the problems' `file:line` and the version's record."""
    dry_run: bool = False
    """Check only: nothing stored."""


class RoutingStepPublic(Wire):
    after: int
    to: list[str] | None
    """Group codes; None: everyone on the line."""


class RoutingGroupPublic(Wire):
    code: str
    name: str
    overflow: list[RoutingStepPublic]
    lines: dict[str, list[RoutingStepPublic]]


class RoutingPublic(Wire):
    version: int
    """0: the shipped file, never imported."""
    source_name: str
    created_at: datetime | None
    created_by: str | None
    general: str
    groups: list[RoutingGroupPublic]
    topics: dict[str, str]
    """Topic code → group, for every topic of the tree."""
    text: str


class RoutingVersionPublic(Wire):
    version: int
    source_name: str
    created_at: datetime
    created_by: str | None
