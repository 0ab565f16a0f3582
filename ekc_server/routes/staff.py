"""Staff: list and show (shift leads, admins); create, edit, deactivate, import (admins)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ekc_core.enums import Role
from ekc_core.fields import Code
from ekc_core.workforce import (
    StaffCreate,
    StaffImportRequest,
    StaffImportResult,
    StaffRecord,
    StaffUpdate,
)
from ekc_server.deps import Admin, Lead, SessionDep
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.services import staff

router = APIRouter(tags=["staff"], responses=SIGNED_IN_ERRORS)


@router.get("/staff", response_model=list[StaffRecord])
def list_staff(
    _: Lead,
    session: SessionDep,
    role: Role | None = None,
    office: Code | None = None,
    skill: Code | None = None,
    active: bool | None = None,
) -> list[StaffRecord]:
    """Staff by login; `office` is an office code, `skill` a topic group (`svo`, …);
    without `active` both active and deactivated accounts are listed."""
    return staff.list_staff(session=session, role=role, office=office, skill=skill, active=active)


@router.post("/staff/import", response_model=StaffImportResult, responses=CONFLICT)
def import_staff(
    body: StaffImportRequest, principal: Admin, session: SessionDep, dry_run: bool = False
) -> StaffImportResult:
    """A whole file of people, matched by login: every row is checked first (422 lists every
    problem as `rows.<i>.<field>`, 0-based), then all are written in one transaction.
    `dry_run=true` only counts what would be created, updated or left unchanged."""
    return staff.import_rows(session=session, principal=principal, data=body, dry_run=dry_run)


@router.post(
    "/staff", response_model=StaffRecord, status_code=status.HTTP_201_CREATED, responses=CONFLICT
)
def create_staff(body: StaffCreate, principal: Admin, session: SessionDep) -> StaffRecord:
    """A new account; without a password the person cannot sign in yet."""
    return staff.create(session=session, principal=principal, data=body)


@router.get("/staff/{username}", response_model=StaffRecord)
def get_staff(username: Code, _: Lead, session: SessionDep) -> StaffRecord:
    return staff.read(session=session, username=username)


@router.patch("/staff/{username}", response_model=StaffRecord)
def edit_staff(
    username: Code, body: StaffUpdate, principal: Admin, session: SessionDep
) -> StaffRecord:
    """Change the given fields; `null` clears the office, phone or e-mail; `active: false`
    also revokes the person's tokens."""
    return staff.edit(session=session, principal=principal, username=username, data=body)


@router.post("/staff/{username}/deactivate", response_model=StaffRecord, responses=CONFLICT)
def deactivate_staff(username: Code, principal: Admin, session: SessionDep) -> StaffRecord:
    """Switch the account off and revoke all its tokens (its history is kept)."""
    return staff.deactivate(session=session, principal=principal, username=username)
