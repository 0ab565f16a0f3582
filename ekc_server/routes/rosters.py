"""Rosters: generate (CP-SAT), read with its check, check a hand-made roster, import, swap
and assign days, publish. Shift leads and admins plan; everyone reads a published roster."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from ekc_core.workforce import (
    RosterAssignRequest,
    RosterCheck,
    RosterGenerateRequest,
    RosterImport,
    RosterPublic,
    RosterPublishRequest,
    RosterSwapRequest,
)
from ekc_server.deps import Lead, SessionDep, Staffer
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.routes.staffing import CalendarDep, MonthPath
from ekc_server.services import rosters

router = APIRouter(tags=["rosters"], responses=SIGNED_IN_ERRORS)


@router.post("/rosters/{month}/generate", response_model=RosterPublic, responses=CONFLICT)
def generate_roster(
    month: MonthPath,
    body: RosterGenerateRequest,
    principal: Lead,
    session: SessionDep,
    calendar: CalendarDep,
) -> RosterPublic:
    """Build the month's draft with CP-SAT against the stored staffing requirement.

    Takes up to `time_limit_seconds`; a roster that cannot cover the requirement is still
    saved, with every gap listed."""
    return rosters.generate_roster(
        session=session, calendar=calendar, principal=principal, month=month, request=body
    )


@router.get("/rosters/{month}", response_model=RosterPublic)
def read_roster(
    month: MonthPath, principal: Staffer, session: SessionDep, calendar: CalendarDep
) -> RosterPublic:
    """The roster with its hourly coverage, per-person totals and the rule check."""
    return rosters.read_roster(session=session, calendar=calendar, principal=principal, month=month)


@router.post("/rosters/{month}/check", response_model=RosterCheck)
def check_roster(
    month: MonthPath,
    principal: Lead,
    session: SessionDep,
    calendar: CalendarDep,
    body: Annotated[RosterImport | None, Body()] = None,
) -> RosterCheck:
    """Check the saved roster, or the one in the body (nothing is saved)."""
    return rosters.check_roster(session=session, calendar=calendar, month=month, roster_import=body)


@router.put("/rosters/{month}", response_model=RosterPublic, responses=CONFLICT)
def import_roster(
    month: MonthPath,
    body: RosterImport,
    principal: Lead,
    session: SessionDep,
    calendar: CalendarDep,
) -> RosterPublic:
    """Save a hand-made roster as the month's draft (refused when it breaks a rule)."""
    return rosters.import_roster(
        session=session, calendar=calendar, principal=principal, month=month, roster_import=body
    )


@router.post("/rosters/{month}/swap", response_model=RosterPublic, responses=CONFLICT)
def swap(
    month: MonthPath,
    body: RosterSwapRequest,
    principal: Lead,
    session: SessionDep,
    calendar: CalendarDep,
) -> RosterPublic:
    """Two people exchange their shifts (or shift and day off) on one date, re-checked."""
    return rosters.swap(
        session=session, calendar=calendar, principal=principal, month=month, request=body
    )


@router.post("/rosters/{month}/assign", response_model=RosterPublic, responses=CONFLICT)
def assign(
    month: MonthPath,
    body: RosterAssignRequest,
    principal: Lead,
    session: SessionDep,
    calendar: CalendarDep,
) -> RosterPublic:
    """Put a person on a shift (or a day off) on one date, re-checked."""
    return rosters.assign(
        session=session, calendar=calendar, principal=principal, month=month, request=body
    )


@router.post("/rosters/{month}/publish", response_model=RosterPublic, responses=CONFLICT)
def publish(
    month: MonthPath,
    body: RosterPublishRequest,
    principal: Lead,
    session: SessionDep,
    calendar: CalendarDep,
) -> RosterPublic:
    """Publish the draft; refused with violations or gaps unless forced. Warns when the
    month starts less than a month away (ст.103)."""
    return rosters.publish(
        session=session, calendar=calendar, principal=principal, month=month, force=body.force
    )
