"""Wire models of the routing table (`/api/v1/routing`, `ekc-admin routing`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from ekc_core.enums import Line
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


class RoutingStepIn(Wire):
    after: Annotated[int, Field(ge=0, le=3600)]
    """Seconds of waiting."""
    to: Annotated[list[Annotated[str, Field(min_length=1, max_length=40)]], Field(max_length=50)]
    """Group codes; empty: everyone on the line."""


class RoutingOverflowIn(Wire):
    group: Annotated[str, Field(min_length=1, max_length=40)]
    line: Line | None = None
    """Only this line's own steps; none: the group's steps for every line."""
    steps: Annotated[list[RoutingStepIn], Field(max_length=20)] | None
    """The new steps; none with a line: the line takes the group's steps again."""


class RoutingChange(Wire):
    """A change to the table in force (`ekc-admin routing set`): stored as the next version."""

    topics: Annotated[
        dict[Annotated[str, Field(min_length=1, max_length=80)], str | None],
        Field(default_factory=dict, max_length=500),
    ]
    """Topic code → group; none: back to the topic tree's group."""
    overflow: Annotated[list[RoutingOverflowIn], Field(default_factory=list, max_length=100)]
    base_version: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    """The version the change was made against: 409 when another is in force by now."""
    dry_run: bool = False
