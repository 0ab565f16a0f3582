"""Workforce API: the calls-per-hour forecast and the required operators per hour."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query

from ekc_core.workforce import ForecastProfile, RequirementsPublic, RequirementsRequest
from ekc_server.deps import Lead, SessionDep, SettingsDep
from ekc_server.services import staffing

router = APIRouter(tags=["staffing"])

MonthPath = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-12"])]


@router.get("/staffing/forecast", response_model=ForecastProfile)
def get_forecast(
    principal: Lead,
    session: SessionDep,
    settings: SettingsDep,
    weeks: Annotated[int, Query(ge=1, le=52)] = 8,
    until: date | None = None,
) -> ForecastProfile:
    """Mean offered calls per weekday × hour (local time) over the `weeks` whole weeks before
    `until` (default: today in Irkutsk, not included), public holidays apart; handle times,
    caller patience, outgoing and written work per day."""
    return staffing.forecast(
        session=session,
        weeks=weeks,
        until=until,
        calendar=staffing.load_calendar(settings.reference_dir),
    )


@router.post("/staffing/requirements", response_model=RequirementsPublic)
def compute_requirements(
    body: RequirementsRequest, principal: Lead, session: SessionDep, settings: SettingsDep
) -> RequirementsPublic:
    """Required operators for every hour of the month (Erlang C or A, shrinkage, floor,
    non-queue work); replaces the month's earlier result."""
    return staffing.requirements(
        session=session,
        request=body,
        created_by_id=principal.staff_id,
        calendar=staffing.load_calendar(settings.reference_dir),
    )


@router.get("/staffing/requirements/{month}", response_model=RequirementsPublic)
def get_requirements(month: MonthPath, principal: Lead, session: SessionDep) -> RequirementsPublic:
    """The requirement last computed for the month (the roster generator uses it)."""
    return staffing.stored(session=session, month=month)
