"""Wire schemas of operator presence: the ready / away state an operator sets at the console
(`PUT /agents/me/state`) and what shift leads read of every operator (`GET /agents`).

What an operator is *doing* (`Activity`) combines the state they set with their open
contacts: an active contact is "on a contact" and one in after-call work is "after-call
work", whatever the set state; otherwise ready is "free", away is "away", offline (or a
console silent for longer than the backend's limit) is "offline".

The rules a real operator expects (the console and the backend apply them):
- signing in to the console makes the operator ready (they sat down to work); a console that
  crashed while away comes back away;
- quitting the console makes them offline (sent at once when the link answers, else with the
  next start; its time is when they quit);
- a console that sends nothing (heartbeat, long poll) for `SILENT_MINUTES` counts offline
  from its last request (an `offline` event with reason `silent` is logged at that time);
  when it is heard again it sends its state again;
- while away the console does not poll the queue (saves the link; F2 says how to come back).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from ekc_core.enums import AgentState, AwayReason
from ekc_core.fields import InputDatetime
from ekc_core.schemas import Wire

#: minutes without a request from a console after which its operator counts offline
SILENT_MINUTES = 2
#: reason stored with an `offline` event the backend logs for a silent console
SILENT_REASON = "silent"

AWAY_REASONS_RU: dict[AwayReason, str] = {
    AwayReason.break_: "перерыв",
    AwayReason.lunch: "обед",
    AwayReason.training: "обучение",
    AwayReason.meeting: "совещание",
    AwayReason.other: "другое",
}


class Activity(StrEnum):
    """What an operator is doing now, as the wallboard shows it (in its sort order)."""

    free = "free"
    contact = "contact"
    acw = "acw"
    away = "away"
    offline = "offline"


ACTIVITY_RU: dict[Activity, str] = {
    Activity.free: "свободен",
    Activity.contact: "на контакте",
    Activity.acw: "постобработка",
    Activity.away: "отошёл",
    Activity.offline: "не в сети",
}


class PresenceUpdate(Wire):
    """An operator's state change, as the console's outbox sends it."""

    state: AgentState
    reason: AwayReason | None = None
    """Why away (only with `away`)."""
    at: InputDatetime | None = None
    """When it happened at the desk (by its clock; the backend corrects it with `X-Sent-At`).
    Without it: the request's `X-Occurred-At`, or its arrival."""

    @model_validator(mode="after")
    def _reason_only_when_away(self) -> PresenceUpdate:
        if self.reason is not None and self.state != AgentState.away:
            raise ValueError("причина указывается только для состояния away")
        return self


class PresencePublic(Wire):
    """One operator's presence (the answer to a state change, a row of `GET /agents`)."""

    staff_id: int
    username: str
    full_name: str
    state: AgentState
    """The state as set (offline also when the console went silent)."""
    reason: str | None = None
    """An `AwayReason` when away; `silent` when offline because the console went quiet."""
    since: datetime | None = None
    """When the state began at the desk (None: never signed in to a console)."""
    last_seen_at: datetime | None = None
    activity: Activity
    activity_since: datetime | None = None
    """Since when the activity holds (a contact's answer or end, else `since`)."""
    contact_id: int | None = None
    """The open contact behind `contact` / `acw`."""


class AgentsPublic(Wire):
    """`GET /agents`: every active operator (and any lead who signed in to a console)."""

    at: datetime
    agents: list[PresencePublic] = Field(default_factory=list)
