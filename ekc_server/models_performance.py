"""Tables of the centre's performance: operator presence (ready / away / offline, as a
current row and an event log), post-call surveys, and quality reviews against checklists.

The KPI formulas that read them live in `ekc_core.kpi`; video consultations are contacts on
the `video` channel with the MFC office they came from (`Contact.office_id`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ekc_server.model_types import json_dict, json_list, ts_now


class AgentPresence(SQLModel, table=True):
    """The current state of each operator who ever signed in to a console: one row each."""

    __tablename__ = "agent_presence"

    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    state: str = Field(max_length=12)  # ekc_core.enums.AgentState
    reason: str | None = Field(default=None, max_length=20)  # AwayReason when away
    since: datetime = ts_now()
    """When the state began at the operator's desk (not when the backend learnt of it)."""
    last_seen_at: datetime = ts_now(index=True)
    """Last request from the operator's console: a console silent for long counts offline."""
    version: int = 1


class AgentStateEvent(SQLModel, table=True):
    """Every change of an operator's state, in the order it happened: the intervals that the
    plan-vs-fact report and the occupancy figures are built from."""

    __tablename__ = "agent_state_event"
    __table_args__ = (Index("ix_agent_state_event_staff_at", "staff_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    state: str = Field(max_length=12)
    reason: str | None = Field(default=None, max_length=20)
    at: datetime = ts_now(index=True)
    """When it happened at the desk (checked against the backend's clock)."""
    recorded_at: datetime = ts_now()
    """When the backend learnt of it."""


class ContactSurvey(SQLModel, table=True):
    """The caller's answers to the post-call survey, posted by the telephony gateway."""

    __tablename__ = "contact_survey"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", unique=True)
    csat: int | None = None
    """"How satisfied are you" on 1–5 (None: not answered)."""
    recommend: int | None = None
    """"Would you recommend the line" on 0–10 (None: not answered)."""
    answered_at: datetime = ts_now(index=True)
    recorded_at: datetime = ts_now()


class QualityForm(SQLModel, table=True):
    """A checklist a lead scores a contact against; admins define it, every change is a new
    version (reviews keep pointing at the version they were scored with)."""

    __tablename__ = "quality_form"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_quality_form_code_version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40)
    version: int = 1
    name: str = Field(max_length=200)
    items: list[dict[str, Any]] = json_list()
    """[{code, text, weight, critical}, …]: a critical item failed makes the contact 0."""
    active: bool = True
    created_by_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = ts_now()


class QualityReview(SQLModel, table=True):
    """A lead's scoring of one contact against one form version."""

    __tablename__ = "quality_review"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", unique=True)
    """A contact is reviewed once (the unique key stops a second lead's concurrent review)."""
    form_id: int = Field(foreign_key="quality_form.id")
    operator_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    """The contact's operator when it was reviewed."""
    reviewer_id: int | None = Field(default=None, foreign_key="staff.id")
    answers: dict[str, Any] = json_dict()
    """item code → met (true / false) or not applicable (null)."""
    score: float = 0.0
    """Weighted share of the applicable items met, 0–1 (0 when a critical item failed)."""
    comment: str = ""
    reviewed_at: datetime = ts_now(index=True)
    recorded_at: datetime = ts_now()
