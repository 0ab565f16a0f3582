"""What outside systems report about contacts: the caller's post-call survey (telephony
gateway), video consultations from MFC offices (video system's gateway), and the video
report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse

from ekc_core.enums import Role
from ekc_core.feedback import SurveyCreate, SurveyPublic, VideoConsultationCreate
from ekc_core.fields import Id, InputDate
from ekc_core.reports import Report
from ekc_core.schemas import ContactPublic
from ekc_server.deps import Lead, Principal, SessionDep, require_roles
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.services import report_video, surveys, video
from ekc_server.write_time import WriteTimeDep

router = APIRouter(tags=["feedback"], responses=SIGNED_IN_ERRORS)

Gateway = Annotated[Principal, Depends(require_roles(Role.gateway, Role.admin))]
"""An integration's service account; admins too (to repair what a gateway could not send)."""


@router.post(
    "/contacts/{contact_id}/survey",
    response_model=SurveyPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Already stored (a repeat), or a missing answer filled in"},
        **CONFLICT,
    },
)
def post_survey(
    contact_id: Id, body: SurveyCreate, _: Gateway, session: SessionDep, at: WriteTimeDep
) -> JSONResponse:
    """The caller's post-call survey: `csat` 1–5 and / or `recommend` 0–10.

    201 for the first post. A repeat with the same answers answers 200 with the stored row
    (a gateway's retry is harmless); a post that fills in an answer still missing completes
    the row (200); one that contradicts a stored answer is refused: 409 `survey_conflict`,
    the first answer stays. 409 too for a contact that was never answered (abandoned or
    still waiting)."""
    row, created = surveys.post_survey(session=session, contact_id=contact_id, data=body, at=at)
    return JSONResponse(
        row.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@router.post(
    "/contacts/video",
    response_model=ContactPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Already known (the same external_id)"}},
)
def post_video(
    body: VideoConsultationCreate, _: Gateway, session: SessionDep, at: WriteTimeDep
) -> JSONResponse:
    """A video consultation held from an MFC office, posted when it is over: stored as a
    finished contact on the `video` channel. A repeat with the same `external_id` answers
    200 with the first one, unchanged."""
    contact, created = video.post_video(session=session, data=body, at=at)
    return JSONResponse(
        contact.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@router.get("/reports/video", response_model=Report)
def video_report(
    _: Lead,
    session: SessionDep,
    date_from: Annotated[InputDate, Query(alias="from", description="первый день (местный)")],
    date_to: Annotated[InputDate, Query(alias="to", description="последний день, включительно")],
    by: report_video.VideoBy = report_video.VideoBy.office,
) -> Report:
    """Video consultations: count, total and average duration (answered → ended) per MFC
    office or per month, and how many of the MFC offices held at least one."""
    return report_video.video_report(session=session, date_from=date_from, date_to=date_to, by=by)
