"""Wire schemas of staffing by operator group (issue 14): each group's own requirement per
hour of a month, and the hours a roster leaves a group short.

A group's requirement comes from its share of the contact history (contacts' topics mapped
to groups by the routing table in force); in the hours its load is too small for a queue of
its own, its calls join its first overflow target's queue (`ekc_roster.group_merge`). A
person on shift counts for any one of their groups at a time (`ekc_roster.groups`).
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from ekc_core.schemas import Wire

#: by default a group whose calls would keep less than one operator busy in an hour joins its
#: first overflow target's queue that hour (`RequirementsRequest.merge_below_erlangs`)
DEFAULT_MERGE_BELOW_ERLANGS = 1.0


class GroupRequirementPublic(Wire):
    code: str
    name: str
    hourly: list[int]
    """Required operators of the group for every hour of the month (days × 24)."""
    calls: list[float]
    """The group's forecast offered calls for every hour of the month."""
    operator_hours: int
    """Sum of `hourly`."""
    share: float
    """The group's share of the inbound calls of the history window."""
    merged_into: list[str] = Field(default_factory=list)
    """For every hour of the month: the group whose queue takes this group's calls that hour
    (its own load is below the threshold; `hourly` is 0 then), "" when it keeps its own
    queue; empty for a requirement computed before the rule."""


class GroupGap(Wire):
    """A run of hours of one day in which the group's requirement is not met by the staff on
    shift with the group's skill (each counted for one group at a time)."""

    group: str
    group_name: str = ""
    on_date: date
    from_hour: int
    to_hour: int
    """Exclusive; 24 = midnight."""
    short: int
    """Most operators of the group missing in any hour of the run."""
    short_hours: int = Field(default=0)
    """Operator-hours of the group missing over the run."""
    required: int = 0
    """The group's requirement in the run's worst hour."""
    able: int = 0
    """Staff on shift with the group's skill in that hour (some may serve other groups)."""
