"""Appeals: registration with 59-FZ deadlines, lists, events and their status rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel import Session, col, select

from ekc_core.deadlines import check_extension, compute_deadlines, is_overdue
from ekc_core.enums import (
    OPEN_APPEAL_STATUSES,
    AppealEventType,
    AppealKind,
    AppealStatus,
    AuditAction,
    Role,
)
from ekc_core.localtime import CENTRE_TZ
from ekc_core.schemas import (
    AppealCreate,
    AppealDetail,
    AppealEventCreate,
    AppealEventPublic,
    AppealPublic,
    Page,
)
from ekc_server.deps import Principal
from ekc_server.errors import ConflictError, ForbiddenError, InvalidFieldError, NotFoundError
from ekc_server.models import (
    Appeal,
    AppealCounter,
    AppealEvent,
    Citizen,
    Contact,
    Staff,
    Topic,
)
from ekc_server.services import audit
from ekc_server.services.reference import (
    active_topic_by_code,
    agency_by_code,
    code_maps,
    deadline_terms,
    topic_by_code,
)
from ekc_server.write_time import WriteTime

#: which status each event type moves an appeal to, and from which statuses it is allowed
_TRANSITIONS: dict[AppealEventType, tuple[frozenset[AppealStatus], AppealStatus | None]] = {
    AppealEventType.comment: (frozenset(AppealStatus), None),
    AppealEventType.forwarded: (
        frozenset({AppealStatus.registered, AppealStatus.forwarded, AppealStatus.in_progress}),
        AppealStatus.forwarded,
    ),
    AppealEventType.agency_reply: (
        frozenset({AppealStatus.forwarded, AppealStatus.in_progress}),
        AppealStatus.in_progress,
    ),
    AppealEventType.extended: (OPEN_APPEAL_STATUSES, None),
    AppealEventType.callback_made: (
        frozenset(OPEN_APPEAL_STATUSES | {AppealStatus.resolved}),
        None,
    ),
    AppealEventType.resolved: (OPEN_APPEAL_STATUSES, AppealStatus.resolved),
    AppealEventType.closed: (frozenset({AppealStatus.resolved}), AppealStatus.closed),
    AppealEventType.cancelled: (OPEN_APPEAL_STATUSES, AppealStatus.cancelled),
}

#: allowed explicit status changes (event type `status_change`)
_STATUS_CHANGES: dict[AppealStatus, frozenset[AppealStatus]] = {
    AppealStatus.registered: frozenset({AppealStatus.in_progress}),
    AppealStatus.forwarded: frozenset({AppealStatus.in_progress}),
    AppealStatus.in_progress: frozenset({AppealStatus.registered}),
    AppealStatus.resolved: frozenset({AppealStatus.in_progress}),  # reopened
    AppealStatus.closed: frozenset(),
    AppealStatus.cancelled: frozenset(),
}

STATUS_RU = {
    AppealStatus.registered: "зарегистрировано",
    AppealStatus.forwarded: "направлено в ведомство",
    AppealStatus.in_progress: "в работе",
    AppealStatus.resolved: "решено",
    AppealStatus.closed: "закрыто",
    AppealStatus.cancelled: "отменено",
}


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL form of `ekc_core.deadlines.is_overdue` (kept in step by a test)."""
    return and_(
        col(Appeal.status).in_([s.value for s in OPEN_APPEAL_STATUSES]),
        or_(
            and_(col(Appeal.answer_due).is_not(None), col(Appeal.answer_due) < now),
            and_(
                col(Appeal.forward_due).is_not(None),
                col(Appeal.forwarded_at).is_(None),
                col(Appeal.forward_due) < now,
            ),
        ),
    )


def appeal_public(
    appeal: Appeal,
    *,
    topic_codes: dict[int | None, str],
    agency_codes: dict[int | None, str],
    now: datetime,
) -> AppealPublic:
    assert appeal.id is not None
    status = AppealStatus(appeal.status)
    return AppealPublic(
        id=appeal.id,
        number=appeal.number,
        citizen_id=appeal.citizen_id,
        contact_id=appeal.contact_id,
        kind=AppealKind(appeal.kind),
        topic_code=topic_codes[appeal.topic_id],
        summary=appeal.summary,
        description=appeal.description,
        status=status,
        complex=appeal.complex,
        agency_code=agency_codes.get(appeal.agency_id) if appeal.agency_id else None,
        received_at=appeal.received_at,
        registered_at=appeal.registered_at,
        register_due=appeal.register_due,
        forward_due=appeal.forward_due,
        answer_due=appeal.answer_due,
        extension_days=appeal.extension_days,
        forwarded_at=appeal.forwarded_at,
        resolved_at=appeal.resolved_at,
        closed_at=appeal.closed_at,
        assignee_id=appeal.assignee_id,
        overdue=is_overdue(
            status=status,
            forward_due=appeal.forward_due,
            answer_due=appeal.answer_due,
            forwarded=appeal.forwarded_at is not None,
            now=now,
        ),
        version=appeal.version,
    )


def next_number(*, session: Session, at: datetime) -> str:
    """Human number `122-YYYY-NNNNNN`, sequential per local year, safe across processes."""
    year = at.astimezone(CENTRE_TZ).year
    for _ in range(2):
        seq = session.execute(
            update(AppealCounter)
            .where(col(AppealCounter.year) == year)
            .values(last_seq=AppealCounter.last_seq + 1)
            .returning(col(AppealCounter.last_seq))
        ).scalar_one_or_none()
        if seq is not None:
            return f"122-{year}-{seq:06d}"
        nested = session.begin_nested()
        try:
            session.add(AppealCounter(year=year, last_seq=0))
            session.flush()
            nested.commit()
        except Exception:
            nested.rollback()  # another process created the year's counter first
    raise RuntimeError("could not allocate an appeal number")


def get_appeal(*, session: Session, appeal_id: int) -> Appeal:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFoundError(f"обращение {appeal_id} не найдено")
    return appeal


def create(
    *, session: Session, principal: Principal, data: AppealCreate, at: WriteTime
) -> AppealDetail:
    """Register an appeal with its deadlines. Not committed (see idempotency.run_once).

    It is registered when the operator registered it at the desk (`at.occurred_at`, which
    an outbox may deliver much later): the 59-FZ clock starts there.
    """
    citizen = session.get(Citizen, data.citizen_id)
    if citizen is None:
        raise InvalidFieldError(f"гражданин {data.citizen_id} не найден", field="citizen_id")
    if citizen.merged_into_id is not None:
        raise InvalidFieldError(
            f"запись {data.citizen_id} объединена с {citizen.merged_into_id}", field="citizen_id"
        )
    topic = active_topic_by_code(session=session, code=data.topic_code)
    agency_id = (
        agency_by_code(session=session, code=data.agency_code).id
        if data.agency_code
        else topic.default_agency_id
    )
    if data.contact_id is not None and session.get(Contact, data.contact_id) is None:
        raise InvalidFieldError(f"контакт {data.contact_id} не найден", field="contact_id")
    if data.assignee_id is not None and session.get(Staff, data.assignee_id) is None:
        raise InvalidFieldError(f"сотрудник {data.assignee_id} не найден", field="assignee_id")
    now = at.occurred_at
    received_at = (data.received_at or now).astimezone(UTC)
    at.refuse_future(received_at, field="received_at", what="дата поступления")
    received_at = min(received_at, now)  # received before it was registered, not after
    terms = deadline_terms(session=session, kind=data.kind)
    dues = compute_deadlines(
        terms,
        received_at=received_at,
        registered_at=now,
        answer_days_override=topic.pos_answer_days if data.kind == AppealKind.pos_message else None,
    )
    appeal = Appeal(
        number=next_number(session=session, at=now),
        citizen_id=data.citizen_id,
        contact_id=data.contact_id,
        kind=data.kind.value,
        topic_id=topic.id or 0,
        summary=data.summary,
        description=data.description,
        status=AppealStatus.registered.value,
        complex=data.complex,
        agency_id=agency_id,
        received_at=received_at,
        registered_at=now,
        recorded_at=at.received_at,
        register_due=dues.register_due,
        forward_due=dues.forward_due,
        answer_due=dues.answer_due,
        assignee_id=data.assignee_id,
        created_by_id=principal.staff_id,
        updated_at=now,
    )
    session.add(appeal)
    session.flush()
    assert appeal.id is not None
    if data.contact_id is not None:
        session.execute(
            update(Contact).where(col(Contact.id) == data.contact_id).values(appeal_id=appeal.id)
        )
    session.add(
        AppealEvent(
            appeal_id=appeal.id,
            type=AppealEventType.created.value,
            at=now,
            recorded_at=at.received_at,
            actor_id=principal.staff_id,
            text=data.summary,
            data={"kind": data.kind.value},
        )
    )
    session.flush()
    return detail(session=session, appeal=appeal)


def detail(*, session: Session, appeal: Appeal) -> AppealDetail:
    topic_codes, agency_codes = code_maps(session=session)
    events = session.exec(
        select(AppealEvent, Staff.full_name)
        .join(Staff, col(Staff.id) == AppealEvent.actor_id, isouter=True)
        .where(AppealEvent.appeal_id == appeal.id)
        .order_by(col(AppealEvent.at), col(AppealEvent.id))
    ).all()
    base = appeal_public(
        appeal, topic_codes=topic_codes, agency_codes=agency_codes, now=datetime.now(UTC)
    )
    return AppealDetail(
        **base.model_dump(),
        events=[
            AppealEventPublic(
                id=e.id or 0,
                type=AppealEventType(e.type),
                at=e.at,
                actor_id=e.actor_id,
                actor_name=name,
                text=e.text,
                agency_code=agency_codes.get(e.agency_id) if e.agency_id else None,
                data=e.data,
            )
            for e, name in events
        ],
    )


def read(*, session: Session, principal: Principal, appeal_id: int) -> AppealDetail:
    appeal = get_appeal(session=session, appeal_id=appeal_id)
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.view_appeal,
        citizen_id=appeal.citizen_id,
        details={"appeal_id": appeal_id},
    )
    session.commit()
    return detail(session=session, appeal=appeal)


def topic_subtree_ids(session: Session, topic_id: int) -> set[int]:
    """The topic and all its descendants (admins may nest topics deeper than two levels)."""
    children: dict[int | None, list[int]] = {}
    for tid, parent_id in session.exec(select(Topic.id, Topic.parent_id)).all():
        if tid is not None:
            children.setdefault(parent_id, []).append(tid)
    found = {topic_id}
    stack = [topic_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def list_appeals(
    *,
    session: Session,
    status: list[AppealStatus] | None,
    agency_code: str | None,
    topic_code: str | None,
    overdue: bool | None,
    assignee_id: int | None,
    citizen_id: int | None,
    offset: int,
    limit: int,
) -> Page[AppealPublic]:
    now = datetime.now(UTC)
    conditions: list[Any] = []
    if status:
        conditions.append(col(Appeal.status).in_([s.value for s in status]))
    if agency_code:
        agency = agency_by_code(session=session, code=agency_code, field="agency", location="query")
        conditions.append(col(Appeal.agency_id) == agency.id)
    if topic_code:
        topic = topic_by_code(session=session, code=topic_code, field="topic", location="query")
        assert topic.id is not None
        conditions.append(col(Appeal.topic_id).in_(topic_subtree_ids(session, topic.id)))
    if overdue is True:
        conditions.append(overdue_clause(now))
    elif overdue is False:
        conditions.append(~overdue_clause(now))
    if assignee_id is not None:
        conditions.append(Appeal.assignee_id == assignee_id)
    if citizen_id is not None:
        conditions.append(Appeal.citizen_id == citizen_id)
    total = session.exec(select(func.count()).select_from(Appeal).where(*conditions)).one()
    rows = session.exec(
        select(Appeal)
        .where(*conditions)
        .order_by(col(Appeal.registered_at).desc(), col(Appeal.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    topic_codes, agency_codes = code_maps(session=session)
    return Page[AppealPublic](
        items=[
            appeal_public(a, topic_codes=topic_codes, agency_codes=agency_codes, now=now)
            for a in rows
        ],
        total=total,
        offset=offset,
        limit=limit,
        next_offset=offset + limit if offset + limit < total else None,
    )


def add_event(
    *,
    session: Session,
    principal: Principal,
    appeal_id: int,
    data: AppealEventCreate,
    at: WriteTime,
) -> AppealDetail:
    """Apply one event, dated when it happened (`at`); refuses (409) a transition the
    appeal's status does not allow.

    Not committed (see idempotency.run_once).
    """
    appeal = get_appeal(session=session, appeal_id=appeal_id)
    current = AppealStatus(appeal.status)
    now = at.not_before(appeal.registered_at)
    event = AppealEvent(
        appeal_id=appeal_id,
        type=data.type.value,
        at=now,
        recorded_at=at.received_at,
        actor_id=principal.staff_id,
        text=data.text,
    )
    if data.type == AppealEventType.created:
        raise InvalidFieldError("событие «created» создаётся только при регистрации", field="type")
    if data.type == AppealEventType.status_change:
        if data.status is None:
            raise InvalidFieldError("укажите новый статус", field="status")
        if data.status not in _STATUS_CHANGES[current]:
            raise ConflictError(
                f"нельзя сменить статус «{STATUS_RU[current]}» на «{STATUS_RU[data.status]}»"
            )
        new_status: AppealStatus | None = data.status
    else:
        allowed_from, new_status = _TRANSITIONS[data.type]
        if current not in allowed_from:
            raise ConflictError(
                f"событие «{data.type.value}» невозможно в статусе «{STATUS_RU[current]}»"
            )

    if (
        data.type
        in (AppealEventType.comment, AppealEventType.agency_reply, AppealEventType.callback_made)
        and not data.text.strip()
    ):
        raise InvalidFieldError("нужен текст события", field="text")
    if data.type == AppealEventType.forwarded:
        code = data.agency_code
        if code is None and appeal.agency_id is None:
            raise InvalidFieldError(
                "укажите ведомство, куда направлено обращение", field="agency_code"
            )
        if code is not None:
            appeal.agency_id = agency_by_code(session=session, code=code).id
        event.agency_id = appeal.agency_id
        appeal.forwarded_at = appeal.forwarded_at or now
    if data.type == AppealEventType.agency_reply:
        event.agency_id = appeal.agency_id
    if data.type == AppealEventType.extended:
        if principal.role not in (Role.shift_lead, Role.admin):
            raise ForbiddenError("продлить срок может только старший смены или администратор")
        if data.extension_days is None:
            raise InvalidFieldError(
                "укажите, на сколько дней продлить срок", field="extension_days"
            )
        if appeal.answer_due is None:
            raise ConflictError("у обращения нет срока ответа")
        terms = deadline_terms(session=session, kind=AppealKind(appeal.kind))
        reason = check_extension(
            terms, already=appeal.extension_days, requested=data.extension_days
        )
        if reason:
            raise ConflictError(reason, field="extension_days")
        old_due = appeal.answer_due
        appeal.answer_due = old_due + timedelta(days=data.extension_days)
        appeal.extension_days += data.extension_days
        event.data = {
            "days": data.extension_days,
            "old_answer_due": old_due.isoformat(),
            "new_answer_due": appeal.answer_due.isoformat(),
        }
    if data.type == AppealEventType.cancelled and principal.role not in (
        Role.shift_lead,
        Role.admin,
    ):
        raise ForbiddenError("отменить обращение может только старший смены или администратор")
    if new_status is not None and new_status != current:
        event.data = {**event.data, "from": current.value, "to": new_status.value}
        appeal.status = new_status.value
        if new_status == AppealStatus.resolved:
            appeal.resolved_at = now
        if new_status == AppealStatus.closed:
            appeal.closed_at = now
        if current == AppealStatus.resolved and new_status == AppealStatus.in_progress:
            appeal.resolved_at = None
    appeal.version += 1
    appeal.updated_at = at.received_at
    session.add(appeal)
    session.add(event)
    session.flush()
    return detail(session=session, appeal=appeal)
