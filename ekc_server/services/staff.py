"""Staff accounts as shift leads and admins keep them: list, create, edit, deactivate, import."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ekc_core.enums import AuditAction, Role
from ekc_core.workforce import (
    StaffCreate,
    StaffImportRequest,
    StaffImportResult,
    StaffRecord,
    StaffUpdate,
)
from ekc_server.deps import Principal
from ekc_server.errors import (
    ConflictError,
    FieldErrorsError,
    InvalidFieldError,
    NotFoundError,
)
from ekc_server.models import ApiToken, Office, Staff, Topic
from ekc_server.security import hash_password, verify_password
from ekc_server.services import audit, auth

#: fields copied as they are from a create/update body onto the row
_PLAIN = ("full_name", "phone", "email", "employment_rate", "week_hours", "night_work")
#: fields that cannot be cleared with an explicit null
_REQUIRED = ("full_name", "role", "skills", "employment_rate", "week_hours", "night_work", "active")


def staff_record(staff: Staff, office_code: str | None) -> StaffRecord:
    return StaffRecord(
        id=staff.id or 0,
        username=staff.username,
        full_name=staff.full_name,
        role=Role(staff.role),
        office_code=office_code,
        skills=list(staff.skills or []),
        phone=staff.phone,
        email=staff.email,
        employment_rate=staff.employment_rate,
        week_hours=staff.week_hours,
        night_work=staff.night_work,
        active=staff.active,
        can_sign_in=staff.active and bool(staff.password_hash),
        created_at=staff.created_at,
        updated_at=staff.updated_at,
    )


def _office_codes(session: Session) -> dict[int | None, str]:
    return dict(session.exec(select(Office.id, Office.code)).all())


def _office_ids(session: Session) -> dict[str, int]:
    return {code: id_ for id_, code in session.exec(select(Office.id, Office.code)).all() if id_}


def skill_codes(*, session: Session) -> set[str]:
    """Valid skills: the operator groups of the topic tree (`svo`, `medicine`, …)."""
    return set(session.exec(select(Topic.group_code).distinct()).all())


def get_staff(*, session: Session, username: str) -> Staff:
    staff = session.exec(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise NotFoundError(f"сотрудник «{username}» не найден")
    return staff


def read(*, session: Session, username: str) -> StaffRecord:
    staff = get_staff(session=session, username=username)
    return staff_record(staff, _office_codes(session).get(staff.office_id))


def list_staff(
    *,
    session: Session,
    role: Role | None = None,
    office: str | None = None,
    skill: str | None = None,
    active: bool | None = None,
) -> list[StaffRecord]:
    """Staff by username; filters combine (a skill is matched in the person's skill list)."""
    query = select(Staff)
    if role is not None:
        query = query.where(Staff.role == role.value)
    if active is not None:
        query = query.where(Staff.active == active)
    offices = _office_codes(session)
    if office is not None:
        office_id = next((i for i, code in offices.items() if code == office), None)
        if office_id is None:
            raise InvalidFieldError(f"нет офиса «{office}»", field="office", location="query")
        query = query.where(Staff.office_id == office_id)
    rows = session.exec(query.order_by(col(Staff.username))).all()
    if skill is not None:  # a JSON list: filtered here, a centre has at most a few hundred
        rows = [s for s in rows if skill in (s.skills or [])]
    return [staff_record(s, offices.get(s.office_id)) for s in rows]


def _problems(
    *,
    data: StaffCreate | StaffUpdate,
    offices: dict[str, int],
    skills: set[str],
    prefix: list[str | int],
) -> list[tuple[list[str | int], str]]:
    """Domain problems of one body: unknown office or skills (the schema checked the rest)."""
    found: list[tuple[list[str | int], str]] = []
    if data.office_code and data.office_code not in offices:
        found.append(
            ([*prefix, "office_code"], f"нет офиса «{data.office_code}» (ekc-admin offices list)")
        )
    unknown = [s for s in data.skills or [] if s not in skills]
    if unknown:
        found.append(
            (
                [*prefix, "skills"],
                f"неизвестные навыки: {', '.join(unknown)} (допустимы: "
                f"{', '.join(sorted(skills))})",
            )
        )
    return found


def _apply(
    staff: Staff,
    changes: dict[str, Any],
    *,
    offices: dict[str, int],
    password: str | None,
) -> bool:
    """Put `changes` (already checked) on the row; True when anything differs."""
    changed = False
    for name in _PLAIN:
        if name in changes and getattr(staff, name) != changes[name]:
            setattr(staff, name, changes[name])
            changed = True
    if "role" in changes and staff.role != Role(changes["role"]).value:
        staff.role = Role(changes["role"]).value
        changed = True
    if "skills" in changes:
        skills = list(dict.fromkeys(changes["skills"]))
        if list(staff.skills or []) != skills:
            staff.skills = skills
            changed = True
    if "office_code" in changes:
        office_id = offices[changes["office_code"]] if changes["office_code"] else None
        if staff.office_id != office_id:
            staff.office_id = office_id
            changed = True
    if "active" in changes and staff.active != changes["active"]:
        staff.active = changes["active"]
        changed = True
    if password is not None and not verify_password(staff.password_hash, password):
        staff.password_hash = hash_password(password)
        changed = True
    if changed:
        staff.updated_at = datetime.now(UTC)
    return changed


def _revoke_tokens(session: Session, staff_id: int) -> None:
    session.execute(
        update(ApiToken)
        .where(col(ApiToken.staff_id) == staff_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


def create(*, session: Session, principal: Principal, data: StaffCreate) -> StaffRecord:
    if session.exec(select(Staff.id).where(Staff.username == data.username)).first():
        raise ConflictError(f"учётная запись «{data.username}» уже есть", field="username")
    offices = _office_ids(session)
    problems = _problems(data=data, offices=offices, skills=skill_codes(session=session), prefix=[])
    if problems:
        raise FieldErrorsError(problems)
    staff = Staff(username=data.username, full_name=data.full_name, role=data.role.value)
    _apply(
        staff,
        data.model_dump(exclude={"username", "password"}, exclude_none=True),
        offices=offices,
        password=data.password,
    )
    session.add(staff)
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.create_staff,
        citizen_id=None,
        details={"username": data.username, "role": data.role.value},
    )
    try:
        session.commit()
    except IntegrityError as exc:  # the same login created at the same moment
        session.rollback()
        raise ConflictError(f"учётная запись «{data.username}» уже есть", field="username") from exc
    return staff_record(staff, data.office_code)


def edit(
    *, session: Session, principal: Principal, username: str, data: StaffUpdate
) -> StaffRecord:
    """Change what is given; `null` clears the office, phone or e-mail. Deactivating also
    revokes the person's tokens; a new password ends the person's other sessions."""
    staff = get_staff(session=session, username=username)
    changes = data.model_dump(exclude_unset=True, exclude={"password"})
    cleared = [name for name in _REQUIRED if name in changes and changes[name] is None]
    problems: list[tuple[list[str | int], str]] = [
        ([name], "значение нельзя очистить") for name in cleared
    ]
    offices = _office_ids(session)
    problems += _problems(
        data=data, offices=offices, skills=skill_codes(session=session), prefix=[]
    )
    if staff.id == principal.staff_id:
        if changes.get("active") is False:
            problems.append((["active"], "нельзя отключить собственную учётную запись"))
        if changes.get("role") not in (None, staff.role):
            problems.append((["role"], "нельзя сменить роль собственной учётной записи"))
    if problems:
        raise FieldErrorsError(problems)
    old_hash = staff.password_hash
    _apply(staff, changes, offices=offices, password=data.password)
    if not staff.active:
        _revoke_tokens(session, staff.id or 0)
    elif staff.password_hash != old_hash:
        keep = principal.token_id if staff.id == principal.staff_id else None
        auth.revoke_on_password_change(session=session, staff=staff, keep_token_id=keep)
    session.add(staff)
    fields = sorted(changes) + (["password"] if data.password else [])
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.update_staff,
        citizen_id=None,
        details={"username": username, "fields": fields},
    )
    session.commit()
    return staff_record(staff, _office_codes(session).get(staff.office_id))


def deactivate(*, session: Session, principal: Principal, username: str) -> StaffRecord:
    """The person can no longer sign in; their tokens are revoked. History is kept."""
    staff = get_staff(session=session, username=username)
    if staff.id == principal.staff_id:
        raise ConflictError("нельзя отключить собственную учётную запись")
    if staff.active:
        staff.active = False
        staff.updated_at = datetime.now(UTC)
        session.add(staff)
    _revoke_tokens(session, staff.id or 0)
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.deactivate_staff,
        citizen_id=None,
        details={"username": username},
    )
    session.commit()
    return staff_record(staff, _office_codes(session).get(staff.office_id))


def import_rows(
    *, session: Session, principal: Principal, data: StaffImportRequest, dry_run: bool = False
) -> StaffImportResult:
    """Check every row, then create or update by username in one transaction.

    Problems are reported all at once as `rows.<i>.<field>` (0-based); nothing is written
    unless every row is valid. With `dry_run` the counts are computed and nothing is saved.
    """
    offices = _office_ids(session)
    skills = skill_codes(session=session)
    usernames = [row.username for row in data.rows]
    existing = {
        s.username: s
        for s in session.exec(select(Staff).where(col(Staff.username).in_(usernames))).all()
    }
    problems: list[tuple[list[str | int], str]] = []
    first_seen: dict[str, int] = {}
    for i, row in enumerate(data.rows):
        if row.username in first_seen:
            problems.append(
                (
                    ["rows", i, "username"],
                    f"«{row.username}» повторяется (первая запись с этим логином — "
                    f"№{first_seen[row.username] + 1})",
                )
            )
        else:
            first_seen[row.username] = i
        if row.role == Role.gateway:
            problems.append((["rows", i, "role"], "служебные учётные записи не импортируются"))
        current = existing.get(row.username)
        if current is not None and current.role == Role.gateway.value:
            problems.append(
                (["rows", i, "username"], f"«{row.username}» — служебная учётная запись шлюза")
            )
        own = current is not None and current.id == principal.staff_id
        if own and "role" in row.model_fields_set and current and row.role != current.role:
            problems.append((["rows", i, "role"], "нельзя сменить роль собственной записи"))
        problems += _problems(data=row, offices=offices, skills=skills, prefix=["rows", i])
    if problems:
        raise FieldErrorsError(problems)

    result = StaffImportResult(created=0, updated=0, unchanged=0)
    for row in data.rows:
        changes = row.model_dump(
            include=row.model_fields_set - {"username", "password"}, exclude_none=True
        )
        staff = existing.get(row.username)
        if staff is None:
            staff = Staff(username=row.username, full_name=row.full_name, role=row.role.value)
            _apply(staff, changes, offices=offices, password=row.password)
            result.created += 1
        else:
            old_hash = staff.password_hash
            if not _apply(staff, changes, offices=offices, password=row.password):
                result.unchanged += 1
                continue
            result.updated += 1
            if staff.password_hash != old_hash:
                keep = principal.token_id if staff.id == principal.staff_id else None
                auth.revoke_on_password_change(session=session, staff=staff, keep_token_id=keep)
        session.add(staff)
    if dry_run:
        session.rollback()
        return result
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.import_staff,
        citizen_id=None,
        details={"source": data.source, **result.model_dump()},
    )
    try:
        session.commit()
    except IntegrityError as exc:  # a login created by someone else meanwhile
        session.rollback()
        raise ConflictError("учётные записи изменились во время импорта; повторите") from exc
    return result
