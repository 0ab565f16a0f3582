"""The personal-data audit log (152-FZ): every view or change of a citizen's data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, SQLModel

from ekc_core.enums import AuditAction
from ekc_server.deps import Principal
from ekc_server.models import AuditLog, utcnow

_INSERT = insert(SQLModel.metadata.tables[AuditLog.__tablename__])


def record(
    *,
    session: Session,
    principal: Principal,
    action: AuditAction,
    citizen_id: int | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write an audit row in the caller's transaction (committed with the work it records,
    gone if that work is rolled back).

    One plain INSERT sent at once, not an ORM object flushed later: a read that is audited
    (a history, a search) then costs one statement, not a unit-of-work flush.
    """
    session.execute(
        _INSERT,
        {
            "at": utcnow(),
            "staff_id": principal.staff_id,
            "workstation": principal.workstation,
            "action": action.value,
            "citizen_id": citizen_id,
            "details": details or {},
        },
    )


def record_system(
    *,
    session: Session,
    action: AuditAction,
    citizen_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """An audit row for what the backend did by itself (no staff member, no workstation)."""
    session.add(
        AuditLog(
            staff_id=None,
            workstation="ekc-server",
            action=action.value,
            citizen_id=citizen_id,
            details=details or {},
        )
    )
