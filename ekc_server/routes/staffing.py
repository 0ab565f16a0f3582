"""Workforce API: the calls-per-hour forecast and the required operators per hour."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ekc_core.fields import InputDate
from ekc_core.workforce import (
    MONTH_PATTERN,
    ForecastProfile,
    RequirementsPublic,
    RequirementsRequest,
)
from ekc_roster.calendar import ProductionCalendar
from ekc_server.deps import Lead, SessionDep, SettingsDep
from ekc_server.error_handlers import SIGNED_IN_ERRORS, error_responses
from ekc_server.services import staffing, staffing_groups

router = APIRouter(tags=["staffing"], responses=SIGNED_IN_ERRORS)

MonthPath = Annotated[
    str, Path(pattern=MONTH_PATTERN, description="Месяц ГГГГ-ММ", examples=["2026-12"])
]


def get_calendar(settings: SettingsDep) -> ProductionCalendar:
    """The production calendar of the reference data (cached, re-read when the file changes)."""
    return staffing.load_calendar(settings.reference_dir)


CalendarDep = Annotated[ProductionCalendar, Depends(get_calendar)]


@router.get("/staffing/forecast", response_model=ForecastProfile)
def get_forecast(
    principal: Lead,
    session: SessionDep,
    calendar: CalendarDep,
    weeks: Annotated[int, Query(ge=1, le=52)] = 8,
    until: InputDate | None = None,
) -> ForecastProfile:
    """Mean offered calls per weekday × hour (local time) over the `weeks` whole weeks before
    `until` (default: today in Irkutsk, not included), public holidays apart; handle times,
    caller patience, outgoing and written work per day."""
    return staffing.forecast(
        session=session,
        weeks=weeks,
        until=until,
        calendar=calendar,
    )


@router.post("/staffing/requirements", response_model=RequirementsPublic)
def compute_requirements(
    body: RequirementsRequest, principal: Lead, session: SessionDep, calendar: CalendarDep
) -> RequirementsPublic:
    """Required operators for every hour of the month (Erlang C or A, shrinkage, floor,
    non-queue work); replaces the month's earlier result."""
    return staffing.requirements(
        session=session,
        request=body,
        created_by_id=principal.staff_id,
        calendar=calendar,
    )


@router.get(
    "/staffing/requirements/{month}",
    response_model=RequirementsPublic,
    responses=error_responses(404),
)
def get_requirements(
    month: MonthPath,
    principal: Lead,
    session: SessionDep,
    group: Annotated[
        str | None,
        Query(max_length=40, description="Только эта группа операторов (код, например svo)"),
    ] = None,
) -> RequirementsPublic:
    """The requirement last computed for the month (the roster generator uses it), with each
    operator group's own requirement; `group` keeps only that group's.

    404: not computed for the month; 422: no such group in it."""
    result = staffing.stored(session=session, month=month)
    return result if group is None else staffing_groups.one_group(result, group)
