"""What happened to a contact besides its status (issue 14): transfers onward to an agency,
with who and when, like `appeal_event` for appeals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from ekc_server.model_types import json_dict, ts_now


class ContactEvent(SQLModel, table=True):
    __tablename__ = "contact_event"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    type: str = Field(max_length=20)
    at: datetime = ts_now(index=True)
    """When it happened (the desk's time from the outbox, corrected; see write_time)."""
    recorded_at: datetime = ts_now()
    """When the backend learnt of it."""
    actor_id: int | None = Field(default=None, foreign_key="staff.id")
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    text: str = ""
    data: dict[str, Any] = json_dict()
