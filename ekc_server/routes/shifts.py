"""Shift templates (everyone reads, leads change), absences and roster preferences."""

from __future__ import annotations

from fastapi import APIRouter, status

from ekc_core.fields import Code, Id
from ekc_core.workforce import (
    AbsenceCreate,
    AbsenceCreated,
    AbsencePublic,
    Month,
    PreferenceCreate,
    PreferencePublic,
    ShiftTemplateCreate,
    ShiftTemplatePublic,
    ShiftTemplateUpdate,
)
from ekc_server.deps import Lead, SessionDep, Staffer
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.routes.staffing import CalendarDep
from ekc_server.services import roster_absences, shifts

router = APIRouter(tags=["shifts"], responses=SIGNED_IN_ERRORS)


@router.get("/shift-templates", response_model=list[ShiftTemplatePublic])
def list_templates(
    _: Staffer, session: SessionDep, active: bool | None = None
) -> list[ShiftTemplatePublic]:
    """Kinds of shift with paid and night hours (22:00–06:00), by start time."""
    return shifts.list_templates(session=session, active=active)


@router.post(
    "/shift-templates",
    response_model=ShiftTemplatePublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
def create_template(body: ShiftTemplateCreate, _: Lead, session: SessionDep) -> ShiftTemplatePublic:
    """A new kind of shift; a code already taken is refused (409)."""
    return shifts.create_template(session=session, data=body)


@router.patch("/shift-templates/{code}", response_model=ShiftTemplatePublic)
def update_template(
    code: Code, body: ShiftTemplateUpdate, _: Lead, session: SessionDep
) -> ShiftTemplatePublic:
    """Rename, move, change the break, or switch a template off (`active: false`)."""
    return shifts.update_template(session=session, code=code, data=body)


@router.get("/absences", response_model=list[AbsencePublic])
def list_all_absences(
    principal: Lead, session: SessionDep, month: Month | None = None
) -> list[AbsencePublic]:
    """Everyone's absences touching `month` (YYYY-MM), or all of them."""
    return shifts.list_absences(session=session, principal=principal, month=month)


@router.get("/staff/{username}/absences", response_model=list[AbsencePublic])
def list_absences(
    username: Code, principal: Staffer, session: SessionDep, month: Month | None = None
) -> list[AbsencePublic]:
    """One person's absences (an operator may read only their own)."""
    return shifts.list_absences(
        session=session, principal=principal, username=username, month=month
    )


@router.post(
    "/staff/{username}/absences",
    response_model=AbsenceCreated,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
def create_absence(
    username: Code, body: AbsenceCreate, principal: Lead, session: SessionDep, calendar: CalendarDep
) -> AbsenceCreated:
    """Vacation, sick leave, a day off…: refused (409) when it overlaps another one. The
    answer names the shifts of existing rosters it falls on and the gaps it would open."""
    saved = shifts.create_absence(
        session=session, principal=principal, username=username, data=body
    )
    return roster_absences.absence_impact(
        session=session,
        calendar=calendar,
        absence=AbsenceCreated.model_validate(saved.model_dump()),
    )


@router.delete("/absences/{absence_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_absence(absence_id: Id, _: Lead, session: SessionDep) -> None:
    shifts.delete_absence(session=session, absence_id=absence_id)


@router.get("/preferences", response_model=list[PreferencePublic])
def list_all_preferences(principal: Staffer, session: SessionDep) -> list[PreferencePublic]:
    """Everyone's roster wishes (an operator gets only their own)."""
    return shifts.list_preferences(session=session, principal=principal)


@router.get("/staff/{username}/preferences", response_model=list[PreferencePublic])
def list_preferences(
    username: Code, principal: Staffer, session: SessionDep
) -> list[PreferencePublic]:
    return shifts.list_preferences(session=session, principal=principal, username=username)


@router.post(
    "/staff/{username}/preferences",
    response_model=PreferencePublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
def create_preference(
    username: Code, body: PreferenceCreate, principal: Staffer, session: SessionDep
) -> PreferencePublic:
    """A wish the roster tries to honour; an operator adds only their own."""
    return shifts.create_preference(
        session=session, principal=principal, username=username, data=body
    )


@router.delete("/preferences/{preference_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_preference(preference_id: Id, principal: Staffer, session: SessionDep) -> None:
    shifts.delete_preference(session=session, principal=principal, preference_id=preference_id)
