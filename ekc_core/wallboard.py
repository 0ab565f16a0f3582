"""Wire schema of the shift lead's live wallboard (`GET /wallboard`, a long poll).

Compact on purpose (a lead may watch it over a satellite link): times are points in time
(`oldest`, `since`), never ages, so the document stays the same while nothing happens and
the console ticks the clocks itself; operators are `[id, name, activity, since, reason]`
rows. `version` is a digest of everything but `at`: the long poll answers 304 while it holds.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ekc_core.presence import Activity
from ekc_core.schemas import Wire


class QueueFigure(Wire):
    """Contacts waiting on one line (or in the written channels) and the oldest of them."""

    waiting: int = 0
    oldest: datetime | None = None
    """When the longest-waiting one joined the queue (None: nobody waits)."""


class ServiceLevel(Wire):
    """Calls answered within the threshold over calls offered, by the KPI report's rules."""

    offered: int = 0
    answered_in: int = 0
    value: float | None = None
    """0–1 (None: no call offered yet)."""


class AgentRow(Wire):
    id: int
    name: str
    """Short name («Романов Л. Р.»)."""
    act: Activity
    since: datetime | None = None
    reason: str | None = None


class Wallboard(Wire):
    version: str
    at: datetime
    """The backend's clock when computed: the console corrects its own by it."""
    lines: dict[str, QueueFigure] = Field(default_factory=dict)
    """Calls waiting per phone line ("122", "117")."""
    written: QueueFigure = Field(default_factory=QueueFigure)
    """Messages waiting in the written channels (social, ПОС, chats, e-mail)."""
    sl_target: float = 0.8
    sl_seconds: int = 20
    sl_today: ServiceLevel = Field(default_factory=ServiceLevel)
    """Since local midnight of the centre (Asia/Irkutsk)."""
    sl_30m: ServiceLevel = Field(default_factory=ServiceLevel)
    callbacks_due: int = 0
    """Open callbacks due by the end of today (overdue included)."""
    callbacks_overdue: int = 0
    appeals_due_today: int = 0
    """Open appeals whose answer (or forward) term ends today."""
    agents: list[AgentRow] = Field(default_factory=list)
    """Everyone not offline, sorted by activity and then the longest in it first."""
    offline: int = 0
    """Active operators not signed in (or silent)."""
