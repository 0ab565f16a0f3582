"""Shift templates, absences (vacation, sick leave, days off) and roster preferences."""

from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ekc_core.enums import Role
from ekc_core.reference_data import ReferenceDataError
from ekc_core.workforce import (
    AbsenceCreate,
    AbsenceKind,
    AbsencePublic,
    PreferenceCreate,
    PreferenceKind,
    PreferencePublic,
    RosterRules,
    ShiftTemplateCreate,
    ShiftTemplatePublic,
    ShiftTemplateUpdate,
    month_bounds,
)
from ekc_roster.model import Template
from ekc_server.deps import Principal
from ekc_server.errors import (
    ConflictError,
    FieldErrorsError,
    ForbiddenError,
    InvalidFieldError,
    NotFoundError,
)
from ekc_server.models import ShiftTemplate, Staff, StaffAbsence, StaffPreference
from ekc_server.services.staff import get_staff

#: the centre's default templates, relative to the data directory
TEMPLATES_FILE = Path("reference") / "shift_templates.yaml"

ABSENCE_NAMES = {
    AbsenceKind.vacation: "отпуск",
    AbsenceKind.sick: "больничный",
    AbsenceKind.day_off: "отгул",
    AbsenceKind.study: "учебный отпуск",
    AbsenceKind.other: "отсутствие",
}


# --- shift templates ----------------------------------------------------------------------


def template_public(template: ShiftTemplate) -> ShiftTemplatePublic:
    # the rostering engine's own arithmetic: the roster and the template list agree
    kind = Template.of(template.code, template.starts_at, template.ends_at, template.break_minutes)
    return ShiftTemplatePublic(
        id=template.id or 0,
        code=template.code,
        name=template.name,
        starts_at=template.starts_at,
        ends_at=template.ends_at,
        break_minutes=template.break_minutes,
        active=template.active,
        work_hours=round(kind.work_minutes / 60, 2),
        night_hours=round(kind.night_minutes(RosterRules()) / 60, 2),
    )


def template_by_code(*, session: Session, code: str, field: str | None = None) -> ShiftTemplate:
    """The template with `code`; 404 (or 422 on `field` of a request body) when missing."""
    template = session.exec(select(ShiftTemplate).where(ShiftTemplate.code == code)).first()
    if template is None:
        message = f"нет шаблона смены «{code}» (см. ekc-admin shifts templates)"
        if field:
            raise InvalidFieldError(message, field=field)
        raise NotFoundError(message)
    return template


def list_templates(*, session: Session, active: bool | None = None) -> list[ShiftTemplatePublic]:
    query = select(ShiftTemplate)
    if active is not None:
        query = query.where(ShiftTemplate.active == active)
    rows = session.exec(query.order_by(col(ShiftTemplate.starts_at), col(ShiftTemplate.code)))
    return [template_public(t) for t in rows.all()]


def create_template(*, session: Session, data: ShiftTemplateCreate) -> ShiftTemplatePublic:
    if session.exec(select(ShiftTemplate.id).where(ShiftTemplate.code == data.code)).first():
        raise ConflictError(f"шаблон смены с кодом «{data.code}» уже есть", field="code")
    template = ShiftTemplate(**data.model_dump())
    session.add(template)
    try:
        session.commit()
    except IntegrityError as exc:  # created at the same moment by someone else
        session.rollback()
        raise ConflictError(f"шаблон смены с кодом «{data.code}» уже есть", field="code") from exc
    return template_public(template)


def update_template(
    *, session: Session, code: str, data: ShiftTemplateUpdate
) -> ShiftTemplatePublic:
    template = template_by_code(session=session, code=code)
    changes = data.model_dump(exclude_unset=True)
    nulls = [name for name, value in changes.items() if value is None]
    if nulls:
        raise FieldErrorsError([([name], "значение нельзя очистить") for name in nulls])
    merged = {
        "code": template.code,
        "name": template.name,
        "starts_at": template.starts_at,
        "ends_at": template.ends_at,
        "break_minutes": template.break_minutes,
    }
    merged.update({k: v for k, v in changes.items() if k != "active"})
    try:
        ShiftTemplateCreate.model_validate(merged)
    except ValidationError as exc:
        raise InvalidFieldError(
            "; ".join(str(e.get("ctx", {}).get("error", e["msg"])) for e in exc.errors())
        ) from exc
    template.sqlmodel_update(changes)
    session.add(template)
    session.commit()
    return template_public(template)


def seed_templates(*, session: Session, data_dir: Path) -> int:
    """Add the shipped default templates the database does not have yet. Does not commit.

    Templates already there are left alone (a shift lead may have changed them). Returns
    how many templates the file holds; a broken file raises ReferenceDataError.
    """
    path = data_dir / TEMPLATES_FILE
    if not path.exists():
        return 0
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ReferenceDataError([f"{path}: неверный YAML: {exc}"]) from exc
    if not isinstance(raw, list):
        raise ReferenceDataError([f"{path}: ожидался список шаблонов смен"])
    records: list[ShiftTemplateCreate] = []
    problems: list[str] = []
    for index, item in enumerate(raw):
        try:
            records.append(ShiftTemplateCreate.model_validate(item))
        except ValidationError as exc:
            label = item.get("code", index) if isinstance(item, dict) else index
            problems += [f"{path}: [{label}]: {e['msg']}" for e in exc.errors()]
    codes = [r.code for r in records]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    problems += [f"{path}: [{code}]: повторяется код" for code in repeated]
    if problems:
        raise ReferenceDataError(problems)
    existing = set(session.exec(select(ShiftTemplate.code)).all())
    for record in records:
        if record.code not in existing:
            session.add(ShiftTemplate(**record.model_dump()))
            existing.add(record.code)
    session.flush()
    return len(records)


# --- absences -----------------------------------------------------------------------------


def month_range(month: str) -> tuple[date, date]:
    """`"2026-12"` → (2026-12-01, 2026-12-31)."""
    year, mon = month_bounds(month)
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


def _period(start: date, end: date) -> str:
    if start == end:
        return f"{start:%d.%m.%Y}"
    return f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"


def _absence_public(row: StaffAbsence, username: str) -> AbsencePublic:
    return AbsencePublic(
        id=row.id or 0,
        username=username,
        kind=AbsenceKind(row.kind),
        start_date=row.start_date,
        end_date=row.end_date,
        note=row.note,
    )


def _may_see(principal: Principal, staff: Staff) -> None:
    """Leads and admins see everyone's time off; an operator only their own."""
    if principal.role in (Role.shift_lead, Role.admin) or staff.id == principal.staff_id:
        return
    raise ForbiddenError("Недостаточно прав: чужие данные видят старший смены и администратор")


def list_absences(
    *,
    session: Session,
    principal: Principal,
    username: str | None = None,
    month: str | None = None,
) -> list[AbsencePublic]:
    """Absences of one person (any role may read their own) or of everyone, by start date."""
    query = select(StaffAbsence, Staff.username).join(
        Staff,
        Staff.id == StaffAbsence.staff_id,  # type: ignore[arg-type]
    )
    if username is not None:
        staff = get_staff(session=session, username=username)
        _may_see(principal, staff)
        query = query.where(StaffAbsence.staff_id == staff.id)
    if month is not None:
        first, last = month_range(month)
        query = query.where(
            col(StaffAbsence.start_date) <= last, col(StaffAbsence.end_date) >= first
        )
    query = query.order_by(col(StaffAbsence.start_date), col(Staff.username), col(StaffAbsence.id))
    return [_absence_public(row, name) for row, name in session.exec(query).all()]


def create_absence(
    *, session: Session, principal: Principal, username: str, data: AbsenceCreate
) -> AbsencePublic:
    """Record time off; refuses (409) a period that overlaps one the person already has."""
    staff = session.exec(
        select(Staff).where(Staff.username == username).with_for_update()
    ).first()  # the lock serialises two leads adding absences for one person at once
    if staff is None:
        raise NotFoundError(f"сотрудник «{username}» не найден")
    other = session.exec(
        select(StaffAbsence)
        .where(
            StaffAbsence.staff_id == staff.id,
            col(StaffAbsence.start_date) <= data.end_date,
            col(StaffAbsence.end_date) >= data.start_date,
        )
        .order_by(col(StaffAbsence.start_date))
    ).first()
    if other is not None:
        session.rollback()
        kind = ABSENCE_NAMES.get(AbsenceKind(other.kind), other.kind)
        raise ConflictError(
            f"период {_period(data.start_date, data.end_date)} пересекается с уже внесённым: "
            f"{kind} {_period(other.start_date, other.end_date)} (№{other.id}) у «{username}»"
        )
    row = StaffAbsence(
        staff_id=staff.id or 0,
        kind=data.kind.value,
        start_date=data.start_date,
        end_date=data.end_date,
        note=data.note,
        created_by_id=principal.staff_id,
    )
    session.add(row)
    session.commit()
    return _absence_public(row, staff.username)


def delete_absence(*, session: Session, absence_id: int) -> None:
    row = session.get(StaffAbsence, absence_id)
    if row is None:
        raise NotFoundError(f"отсутствие №{absence_id} не найдено")
    session.delete(row)
    session.commit()


# --- preferences --------------------------------------------------------------------------


def _preference_public(row: StaffPreference, username: str) -> PreferencePublic:
    return PreferencePublic(
        id=row.id or 0,
        username=username,
        kind=PreferenceKind(row.kind),
        on_date=row.on_date,
        weekday=row.weekday,
        template_code=row.template_code,
        note=row.note,
    )


def _may_change(principal: Principal, staff_id: int) -> None:
    """An operator keeps their own wishes; leads and admins anyone's."""
    if principal.role in (Role.shift_lead, Role.admin) or staff_id == principal.staff_id:
        return
    raise ForbiddenError("Оператор может менять только свои пожелания")


def list_preferences(
    *, session: Session, principal: Principal, username: str | None = None
) -> list[PreferencePublic]:
    """Wishes of one person, or of everyone (leads and admins)."""
    query = select(StaffPreference, Staff.username).join(
        Staff,
        Staff.id == StaffPreference.staff_id,  # type: ignore[arg-type]
    )
    if username is not None:
        staff = get_staff(session=session, username=username)
        _may_see(principal, staff)
        query = query.where(StaffPreference.staff_id == staff.id)
    elif principal.role not in (Role.shift_lead, Role.admin):
        query = query.where(StaffPreference.staff_id == principal.staff_id)
    query = query.order_by(
        col(Staff.username),
        col(StaffPreference.on_date).is_(None),
        col(StaffPreference.on_date),
        col(StaffPreference.weekday),
        col(StaffPreference.id),
    )
    return [_preference_public(row, name) for row, name in session.exec(query).all()]


def create_preference(
    *, session: Session, principal: Principal, username: str, data: PreferenceCreate
) -> PreferencePublic:
    staff = get_staff(session=session, username=username)
    assert staff.id is not None
    _may_change(principal, staff.id)
    if data.template_code is not None:
        template = template_by_code(session=session, code=data.template_code, field="template_code")
        if not template.active:
            raise InvalidFieldError(
                f"шаблон смены «{data.template_code}» отключён", field="template_code"
            )
        if (
            data.kind == PreferenceKind.work
            and not staff.night_work
            and template_public(template).night_hours > 0
        ):
            raise InvalidFieldError(
                f"смена «{data.template_code}» захватывает ночь, а ночная работа «{username}» "
                "не разрешена (ст.96 ТК РФ): такое пожелание не исполнить",
                field="template_code",
            )
    same = session.exec(
        select(StaffPreference).where(
            StaffPreference.staff_id == staff.id,
            StaffPreference.kind == data.kind.value,
            StaffPreference.on_date == data.on_date,
            StaffPreference.weekday == data.weekday,
            StaffPreference.template_code == data.template_code,
        )
    ).first()
    if same is not None:
        raise ConflictError(f"такое пожелание у «{username}» уже есть (№{same.id})")
    row = StaffPreference(
        staff_id=staff.id,
        kind=data.kind.value,
        on_date=data.on_date,
        weekday=data.weekday,
        template_code=data.template_code,
        note=data.note,
    )
    session.add(row)
    session.commit()
    return _preference_public(row, staff.username)


def delete_preference(*, session: Session, principal: Principal, preference_id: int) -> None:
    row = session.get(StaffPreference, preference_id)
    if row is None:
        raise NotFoundError(f"пожелание №{preference_id} не найдено")
    _may_change(principal, row.staff_id)
    session.delete(row)
    session.commit()
