"""Callback tasks: create, list mine / my group's, record attempts and the result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, or_, select

from ekc_core.enums import (
    RETRYABLE_CALLBACK_RESULTS,
    AppealEventType,
    AuditAction,
    CallbackResult,
    CallbackStatus,
    Role,
)
from ekc_core.phones import mask_phone
from ekc_core.schemas import CallbackAttempt, CallbackCreate, CallbackPublic
from ekc_server.deps import Principal
from ekc_server.errors import ConflictError, ForbiddenError, InvalidFieldError, NotFoundError
from ekc_server.models import (
    Appeal,
    AppealEvent,
    CallbackTask,
    Citizen,
    CitizenPhone,
    Contact,
    Staff,
    Topic,
)
from ekc_server.services import audit
from ekc_server.write_time import WriteTime

#: default pause before another attempt after no answer / busy
RETRY_AFTER = timedelta(hours=1)


def _public(session: Session, tasks: list[CallbackTask], now: datetime) -> list[CallbackPublic]:
    citizen_ids = {t.citizen_id for t in tasks}
    appeal_ids = {t.appeal_id for t in tasks if t.appeal_id}
    names = {
        c.id: c.display_name
        for c in session.exec(select(Citizen).where(col(Citizen.id).in_(citizen_ids))).all()
    }
    numbers = dict(
        session.exec(select(Appeal.id, Appeal.number).where(col(Appeal.id).in_(appeal_ids))).all()
    )
    return [
        CallbackPublic(
            id=t.id or 0,
            citizen_id=t.citizen_id,
            citizen_name=names.get(t.citizen_id, ""),
            phone=t.phone,
            appeal_id=t.appeal_id,
            appeal_number=numbers.get(t.appeal_id) if t.appeal_id else None,
            contact_id=t.contact_id,
            reason=t.reason,
            due_at=t.due_at,
            assignee_id=t.assignee_id,
            group=t.group_code,
            status=CallbackStatus(t.status),
            attempts=t.attempts,
            last_attempt_at=t.last_attempt_at,
            result=CallbackResult(t.result) if t.result else None,
            result_note=t.result_note,
            completed_at=t.completed_at,
            overdue=t.status == CallbackStatus.open.value and t.due_at < now,
        )
        for t in tasks
    ]


def create(*, session: Session, principal: Principal, data: CallbackCreate) -> CallbackPublic:
    """Schedule a callback. Not committed (see idempotency.run_once)."""
    citizen = session.get(Citizen, data.citizen_id)
    if citizen is None:
        raise InvalidFieldError(f"гражданин {data.citizen_id} не найден", field="citizen_id")
    if citizen.merged_into_id is not None:
        raise InvalidFieldError(
            f"запись {data.citizen_id} объединена с {citizen.merged_into_id}", field="citizen_id"
        )
    phone = data.phone
    if phone is None:
        phone = session.exec(
            select(CitizenPhone.e164)
            .where(CitizenPhone.citizen_id == data.citizen_id)
            .order_by(col(CitizenPhone.position))
        ).first()
        if phone is None:
            raise InvalidFieldError("у гражданина нет телефона; укажите номер", field="phone")
    if data.appeal_id is not None:
        appeal = session.get(Appeal, data.appeal_id)
        if appeal is None:
            raise InvalidFieldError(f"обращение {data.appeal_id} не найдено", field="appeal_id")
        if appeal.citizen_id != data.citizen_id:
            raise InvalidFieldError("обращение принадлежит другому гражданину", field="appeal_id")
    if data.contact_id is not None and session.get(Contact, data.contact_id) is None:
        raise InvalidFieldError(f"контакт {data.contact_id} не найден", field="contact_id")
    if data.assignee_id is not None and session.get(Staff, data.assignee_id) is None:
        raise InvalidFieldError(f"сотрудник {data.assignee_id} не найден", field="assignee_id")
    if data.group is not None:
        groups = set(session.exec(select(Topic.group_code).distinct()).all())
        if data.group not in groups:
            raise InvalidFieldError(
                f"нет группы операторов «{data.group}» (есть: {', '.join(sorted(groups))})",
                field="group",
            )
    if data.due_at.tzinfo is None:
        raise InvalidFieldError("укажите часовой пояс в due_at", field="due_at")
    assignee = data.assignee_id
    if assignee is None and data.group is None:
        assignee = principal.staff_id
    task = CallbackTask(
        citizen_id=data.citizen_id,
        phone=phone,
        appeal_id=data.appeal_id,
        contact_id=data.contact_id,
        reason=data.reason,
        due_at=data.due_at.astimezone(UTC),
        assignee_id=assignee,
        group_code=data.group,
        created_by_id=principal.staff_id,
    )
    session.add(task)
    session.flush()
    return _public(session, [task], datetime.now(UTC))[0]


def list_tasks(
    *,
    session: Session,
    principal: Principal,
    scope: str,
    status: CallbackStatus | None,
    due_before: datetime | None,
    limit: int,
) -> list[CallbackPublic]:
    """`mine`: assigned to me; `group`: unassigned in my skill groups; `all`: leads only."""
    query = select(CallbackTask)
    if scope == "mine":
        query = query.where(CallbackTask.assignee_id == principal.staff_id)
    elif scope == "group":
        groups = principal.staff.skills or []
        query = query.where(
            col(CallbackTask.assignee_id).is_(None), col(CallbackTask.group_code).in_(groups)
        )
    elif scope == "all":
        if principal.role not in (Role.shift_lead, Role.admin):
            raise ForbiddenError("все задачи видит только старший смены или администратор")
    elif scope == "mine_and_group":
        groups = principal.staff.skills or []
        query = query.where(
            or_(
                CallbackTask.assignee_id == principal.staff_id,
                col(CallbackTask.assignee_id).is_(None) & col(CallbackTask.group_code).in_(groups),
            )
        )
    if status is not None:
        query = query.where(CallbackTask.status == status.value)
    if due_before is not None:
        query = query.where(col(CallbackTask.due_at) < due_before)
    rows = session.exec(
        query.order_by(col(CallbackTask.due_at), col(CallbackTask.id)).limit(limit)
    ).all()
    tasks = _public(session, list(rows), datetime.now(UTC))
    for task in tasks:  # lists mask numbers (152-FZ); opening one task shows it whole
        task.phone = mask_phone(task.phone) if task.phone else task.phone
    return tasks


def read_task(*, session: Session, principal: Principal, task_id: int) -> CallbackPublic:
    """One task with the full number to call; the view is audited."""
    task = session.get(CallbackTask, task_id)
    if task is None:
        raise NotFoundError(f"задача обратного звонка {task_id} не найдена")
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.view_citizen,
        citizen_id=task.citizen_id,
        details={"callback_id": task_id},
    )
    session.commit()
    return _public(session, [task], datetime.now(UTC))[0]


def record_attempt(
    *, session: Session, principal: Principal, task_id: int, data: CallbackAttempt, at: WriteTime
) -> CallbackPublic:
    """Count an attempt; reached/declined/wrong number complete the task, others reschedule.

    Not committed (see idempotency.run_once).
    """
    task = session.get(CallbackTask, task_id)
    if task is None:
        raise NotFoundError(f"задача обратного звонка {task_id} не найдена")
    if task.status != CallbackStatus.open.value:
        raise ConflictError(f"задача {task_id} уже закрыта")
    now = at.occurred_at
    task.attempts += 1
    task.last_attempt_at = now
    task.last_attempt_recorded_at = at.received_at
    task.result = data.result.value
    task.result_note = data.note
    if task.assignee_id is None:
        task.assignee_id = principal.staff_id  # whoever calls takes the task
    if data.result in RETRYABLE_CALLBACK_RESULTS:
        retry_at = (data.retry_at or now + RETRY_AFTER).astimezone(UTC)
        if retry_at.tzinfo is None:
            raise InvalidFieldError("укажите часовой пояс в retry_at", field="retry_at")
        task.due_at = retry_at
    else:
        task.status = CallbackStatus.done.value
        task.completed_at = now
    session.add(task)
    if task.appeal_id is not None:
        session.add(
            AppealEvent(
                appeal_id=task.appeal_id,
                type=AppealEventType.callback_made.value,
                at=now,
                recorded_at=at.received_at,
                actor_id=principal.staff_id,
                text=data.note or data.result.value,
                data={"callback_id": task_id, "result": data.result.value},
            )
        )
    session.flush()
    return _public(session, [task], at.received_at)[0]
