"""Wire schemas of what the centre's outside systems report after a contact: the caller's
post-call survey (telephony gateway) and video consultations from MFC offices (the video
system's gateway).

The indicators computed from the surveys (CSAT, loyalty index) are defined in
`ekc_core.kpi`; these schemas only carry the answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, field_validator

from ekc_core.fields import Code, InputDatetime, Text
from ekc_core.schemas import Wire

CSAT_MIN, CSAT_MAX = 1, 5
RECOMMEND_MIN, RECOMMEND_MAX = 0, 10


class SurveyCreate(Wire):
    """`POST /contacts/{id}/survey`: the caller's answers; either may be missing (the
    caller hung up after the first question), not both.

    A repeat of the same answers returns the stored row (200). A post that fills in an
    answer still missing (the gateway posts each question as it is answered) completes it.
    A post that contradicts a stored answer is refused (409, the first answer stays)."""

    csat: Annotated[int, Field(ge=CSAT_MIN, le=CSAT_MAX)] | None = None
    """"How satisfied are you with the answer", 1 (not at all) … 5 (fully)."""
    recommend: Annotated[int, Field(ge=RECOMMEND_MIN, le=RECOMMEND_MAX)] | None = None
    """"Would you recommend line 122", 0 … 10."""
    answered_at: InputDatetime | None = None
    """When the caller answered (the arrival time when left out)."""


class SurveyPublic(Wire):
    id: int
    contact_id: int
    csat: int | None
    recommend: int | None
    answered_at: datetime
    recorded_at: datetime


class VideoConsultationCreate(Wire):
    """`POST /contacts/video`: one consultation held over video from an MFC office's
    self-service zone, posted by the video system's gateway when it is over."""

    external_id: Annotated[Text, Field(min_length=1, max_length=120)]
    """The video system's id of the session: a repeat with the same id is not new."""
    office_code: Code
    """The MFC office the citizen called from (`ekc-admin offices list`)."""
    started_at: InputDatetime
    """When the citizen started the call (joined the queue)."""
    answered_at: InputDatetime
    """When an operator answered."""
    ended_at: InputDatetime
    topic_code: Code | None = None
    operator: Code | None = None
    """The operator's login, when the video system knows it."""
    summary: Annotated[Text, Field(max_length=2000)] | None = None

    @field_validator("external_id", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value
