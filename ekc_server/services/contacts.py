"""Contacts: what gateways post (routed to an operator group), claim/answer, end, wrap-up,
abandon, outbound and manual contacts. The queue and its offers: `offers`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ekc_core.enums import (
    AuditAction,
    Channel,
    ContactOutcome,
    ContactStatus,
    Direction,
    Line,
    Role,
)
from ekc_core.schemas import (
    ContactClaim,
    ContactClose,
    ContactInbound,
    ContactManual,
    ContactOutbound,
    ContactPublic,
    ContactSave,
    ContactWrapUp,
    Handoff,
)
from ekc_server.deps import Principal
from ekc_server.errors import (
    ConflictError,
    ContactAbandonedError,
    ContactTakenError,
    InvalidFieldError,
    NotFoundError,
)
from ekc_server.models import Appeal, CallbackTask, Citizen, Contact
from ekc_server.services import audit, contact_access
from ekc_server.services.contact_routing import (
    Guesser,
    no_guess,
    reason,
    refuse_unoffered,
    route_inbound,
    route_manual,
    route_outbound,
)
from ekc_server.services.identify import identify
from ekc_server.services.reference import active_topic_by_code, code_maps, office_by_code
from ekc_server.services.routing import table_in_force
from ekc_server.write_time import WriteTime


def contact_public(
    contact: Contact, *, topic_codes: dict[int | None, str], route_reason: str | None = None
) -> ContactPublic:
    assert contact.id is not None
    return ContactPublic(
        id=contact.id,
        channel=Channel(contact.channel),
        line=Line(contact.line) if contact.line else None,
        direction=Direction(contact.direction),
        status=ContactStatus(contact.status),
        caller_number=contact.caller_number,
        sender=contact.sender,
        citizen_id=contact.citizen_id,
        operator_id=contact.operator_id,
        topic_code=topic_codes.get(contact.topic_id) if contact.topic_id else None,
        outcome=ContactOutcome(contact.outcome) if contact.outcome else None,
        summary=contact.summary,
        text=contact.text,
        abandoned=contact.abandoned,
        external_id=contact.external_id,
        handoff=Handoff.model_validate(contact.handoff) if contact.handoff else None,
        appeal_id=contact.appeal_id,
        queued_at=contact.queued_at,
        answered_at=contact.answered_at,
        ended_at=contact.ended_at,
        wrapup_ended_at=contact.wrapup_ended_at,
        close_reason=contact.close_reason,
        group_code=contact.group_code,
        route_reason=route_reason,
    )


def _public(session: Session, contact: Contact) -> ContactPublic:
    """The contact in full, with the reason of its routing as it stood when it was answered
    (or stands now, while it waits)."""
    topic_codes, _ = code_maps(session=session)
    why = None
    if contact.group_code is not None:
        at = contact.answered_at or contact.ended_at or datetime.now(UTC)
        why = reason(table_in_force(session), contact, at)
    return contact_public(contact, topic_codes=topic_codes, route_reason=why)


def get_contact(*, session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundError(f"контакт {contact_id} не найден")
    return contact


def read_contact(*, session: Session, principal: Principal, contact_id: int) -> ContactPublic:
    """One contact, in full or masked as `contact_access` decides for the caller; audited."""
    contact = get_contact(session=session, contact_id=contact_id)
    public = _public(session, contact)
    full = contact_access.sees_in_full(session=session, principal=principal, contact=contact)
    contact_access.record_read(session=session, principal=principal, contact=public, full=full)
    session.commit()
    return public if full else contact_access.masked(public)


def post_inbound(
    *, session: Session, data: ContactInbound, at: WriteTime, guess: Guesser = no_guess
) -> tuple[ContactPublic, bool]:
    """Register an inbound contact, routed to an operator group (the assistant's topic, else
    `guess` on its text, else the general group: `contact_routing.route_inbound`); a repeat
    of the same (channel, external_id) is not new.

    Returns (contact, created).
    """
    _check_line(data.channel, data.line)
    now = at.received_at
    if data.queued_at is not None:
        at.refuse_future(data.queued_at, field="queued_at", what="время поступления")
    if data.external_id:
        existing = _by_external_id(session, data.channel, data.external_id)
        if existing is not None:
            return _public(session, existing), False
    office_id = (
        office_by_code(session=session, code=data.office_code).id if data.office_code else None
    )
    caller = data.caller_e164()
    sender = data.sender
    if data.caller_number and caller is None and not sender:
        sender = data.caller_number.strip()  # hidden or unreadable: keep what telephony sent
    contact = Contact(
        channel=data.channel.value,
        line=data.line.value if data.line else None,
        direction=Direction.inbound.value,
        status=ContactStatus.queued.value,
        caller_number=caller,
        sender=sender,
        external_id=data.external_id,
        text=data.text,
        handoff=data.handoff.model_dump(exclude_none=True) if data.handoff else None,
        office_id=office_id,
        queued_at=data.queued_at or now,
        recorded_at=now,
        citizen_id=identify(session=session, channel=data.channel, caller=caller, sender=sender),
    )
    route_inbound(
        session, table_in_force(session), text=data.text, handoff=data.handoff, guess=guess
    ).apply(contact)
    session.add(contact)
    try:
        session.commit()
    except IntegrityError:
        # the same (channel, external_id) was posted concurrently and won: answer with it
        session.rollback()
        existing = (
            _by_external_id(session, data.channel, data.external_id) if data.external_id else None
        )
        if existing is None:
            raise
        return _public(session, existing), False
    return _public(session, contact), True


def _by_external_id(session: Session, channel: Channel, external_id: str) -> Contact | None:
    return session.exec(
        select(Contact).where(Contact.channel == channel.value, Contact.external_id == external_id)
    ).first()


def _require_owner(contact: Contact, principal: Principal) -> None:
    if contact.operator_id is None:
        raise ConflictError(f"контакт {contact.id} ещё никто не принял (статус {contact.status})")
    if contact.operator_id != principal.staff_id:
        raise ConflictError(f"контакт {contact.id} обслуживает другой оператор")


def claim(
    *,
    session: Session,
    principal: Principal,
    contact_id: int,
    data: ContactClaim,
    now: datetime | None = None,
) -> ContactPublic:
    """Answer a queued contact. Exactly one operator wins; the others get 409. An operator
    takes only a contact offered to them at `now` (routing's clock, default the system's),
    else 409 (`contact_routing.refuse_unoffered`); leads and admins take any."""
    contact = get_contact(session=session, contact_id=contact_id)
    if contact.status != ContactStatus.queued.value:
        _refuse_claim(contact, principal)
        return _public(session, contact)  # a retried claim of one's own contact
    refusal = refuse_unoffered(
        table=table_in_force(session),
        principal=principal,
        contact=contact,
        contact_id=contact_id,
        now=now or datetime.now(UTC),
    )
    if refusal is not None:
        raise ConflictError(refusal)
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "status": ContactStatus.active.value,
        "operator_id": principal.staff_id,
        "answered_at": now,
    }
    if data.citizen_id is not None:
        _check_citizen(session, data.citizen_id)
        values["citizen_id"] = data.citizen_id
    result = session.execute(
        update(Contact)
        .where(col(Contact.id) == contact_id, col(Contact.status) == ContactStatus.queued.value)
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        session.refresh(contact)
        _refuse_claim(contact, principal)
    session.commit()
    session.refresh(contact)
    return _public(session, contact)


def _refuse_claim(contact: Contact, principal: Principal) -> None:
    """Why a contact that is no longer queued cannot be claimed; returns (does not raise)
    only when it is the caller's own open contact (a claim retried after a lost answer)."""
    status = contact.status
    if contact.operator_id == principal.staff_id and status in OPEN_STATUSES:
        return
    if status == ContactStatus.abandoned.value:
        raise ContactAbandonedError(
            f"контакт {contact.id}: абонент положил трубку, не дождавшись ответа"
        )
    if status in OPEN_STATUSES:
        raise ContactTakenError(f"контакт {contact.id} уже принят другим оператором")
    raise ConflictError(f"контакт {contact.id} уже закрыт (статус {status})")


#: statuses of a contact someone is still working on
OPEN_STATUSES = (ContactStatus.active.value, ContactStatus.wrapup.value)


def _check_citizen(session: Session, citizen_id: int) -> None:
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise InvalidFieldError(f"гражданин {citizen_id} не найден", field="citizen_id")
    if citizen.merged_into_id is not None:
        raise InvalidFieldError(
            f"запись {citizen_id} объединена с {citizen.merged_into_id}", field="citizen_id"
        )


def start_outbound(
    *, session: Session, principal: Principal, data: ContactOutbound, at: WriteTime
) -> ContactPublic:
    """An outgoing call, active from the moment the operator started it (`at`)."""
    _check_citizen(session, data.citizen_id)
    if data.callback_id is not None:
        task = session.get(CallbackTask, data.callback_id)
        if task is None:
            raise InvalidFieldError(
                f"задача обратного звонка {data.callback_id} не найдена", field="callback_id"
            )
    contact = Contact(
        channel=Channel.phone.value,
        line=Line.l122.value,
        direction=Direction.outbound.value,
        status=ContactStatus.active.value,
        caller_number=data.phone,
        citizen_id=data.citizen_id,
        operator_id=principal.staff_id,
        callback_id=data.callback_id,
        queued_at=at.occurred_at,
        answered_at=at.occurred_at,
        recorded_at=at.received_at,
    )
    route_outbound(
        session, table_in_force(session), staff=principal.staff, callback_id=data.callback_id
    ).apply(contact)
    session.add(contact)
    session.flush()
    return _public(session, contact)


def _check_line(channel: Channel, line: Line | None) -> None:
    if channel == Channel.phone and line is None:
        raise InvalidFieldError("для звонка укажите линию (122 или 117)", field="line")
    if channel != Channel.phone and line is not None:
        raise InvalidFieldError("линия указывается только для звонков", field="line")


def start_manual(
    *, session: Session, principal: Principal, data: ContactManual, at: WriteTime
) -> ContactPublic:
    """A conversation that reached the operator past telephony: active at once, theirs.

    It started at `started_at` when given, else when the operator opened the card (`at`).
    Does not commit (the caller commits together with the idempotency record).
    """
    _check_line(data.channel, data.line)
    now = at.received_at
    started_at = at.from_desk(data.started_at) if data.started_at else at.occurred_at
    at.refuse_future(started_at, field="started_at", what="время начала разговора")
    caller = data.caller_e164()
    sender = data.sender
    if data.caller_number and caller is None and not sender:
        sender = data.caller_number.strip()  # unreadable: keep what the operator wrote
    if data.citizen_id is not None:
        _check_citizen(session, data.citizen_id)
        citizen_id: int | None = data.citizen_id
    else:
        citizen_id = identify(session=session, channel=data.channel, caller=caller, sender=sender)
    contact = Contact(
        channel=data.channel.value,
        line=data.line.value if data.line else None,
        direction=Direction.inbound.value,
        status=ContactStatus.active.value,
        caller_number=caller,
        sender=sender,
        text=data.text,
        citizen_id=citizen_id,
        operator_id=principal.staff_id,
        office_id=principal.staff.office_id,
        queued_at=started_at,
        answered_at=started_at,
        recorded_at=now,
    )
    route_manual(table_in_force(session), staff=principal.staff).apply(contact)
    session.add(contact)
    session.flush()
    return _public(session, contact)


def end(*, session: Session, principal: Principal, contact_id: int, at: WriteTime) -> ContactPublic:
    """The conversation is over (at `at`); after-call work (wrap-up) starts then."""
    contact = get_contact(session=session, contact_id=contact_id)
    _require_owner(contact, principal)
    if contact.status == ContactStatus.wrapup.value:
        return _public(session, contact)  # retried
    if contact.status != ContactStatus.active.value:
        raise ConflictError(f"контакт {contact_id} нельзя завершить в статусе {contact.status}")
    contact.status = ContactStatus.wrapup.value
    contact.ended_at = at.not_before(contact.answered_at)
    contact.ended_recorded_at = at.received_at
    session.add(contact)
    session.commit()
    return _public(session, contact)


def wrap_up(
    *,
    session: Session,
    principal: Principal,
    contact_id: int,
    data: ContactWrapUp,
    at: WriteTime,
) -> ContactPublic:
    """Record topic, outcome and summary; the operator is free for the next contact."""
    contact = get_contact(session=session, contact_id=contact_id)
    _require_owner(contact, principal)
    if contact.status not in (ContactStatus.active.value, ContactStatus.wrapup.value):
        raise ConflictError(f"контакт {contact_id} уже закрыт (статус {contact.status})")
    topic = active_topic_by_code(session=session, code=data.topic_code)
    if data.citizen_id is not None:
        _check_citizen(session, data.citizen_id)
        contact.citizen_id = data.citizen_id
    if data.appeal_id is not None:
        appeal = session.get(Appeal, data.appeal_id)
        if appeal is None:
            raise InvalidFieldError(f"обращение {data.appeal_id} не найдено", field="appeal_id")
        contact.appeal_id = data.appeal_id
    # a contact transferred onward (services.transfers) stays «переведено в ведомство»
    transferred = contact.outcome == ContactOutcome.transferred.value
    if (
        not transferred
        and data.outcome == ContactOutcome.appeal_registered
        and contact.appeal_id is None
    ):
        raise InvalidFieldError(
            "результат «обращение зарегистрировано» требует обращения", field="appeal_id"
        )
    contact.topic_id = topic.id
    contact.outcome = ContactOutcome.transferred.value if transferred else data.outcome.value
    contact.summary = data.summary
    _finish(contact, at)
    session.add(contact)
    session.flush()
    return _public(session, contact)


def save(
    *,
    session: Session,
    principal: Principal,
    contact_id: int,
    data: ContactSave,
    at: WriteTime,
) -> ContactPublic:
    """End the conversation (at `data.ended_at`, else at `at`) unless it has ended, and wrap
    it up: a card's save in one transaction. Does not commit."""
    contact = get_contact(session=session, contact_id=contact_id)
    _require_owner(contact, principal)
    if contact.status == ContactStatus.active.value:
        ended = at.occurred_at
        if data.ended_at is not None:
            at.refuse_future(data.ended_at, field="ended_at", what="конец разговора")
            ended = at.from_desk(data.ended_at)
            if ended > at.occurred_at:
                raise InvalidFieldError(
                    "конец разговора позже сохранения карточки", field="ended_at"
                )
        if contact.answered_at is not None and ended < contact.answered_at:
            ended = contact.answered_at
        contact.status = ContactStatus.wrapup.value
        contact.ended_at = ended
        contact.ended_recorded_at = at.received_at
    wrap = ContactWrapUp.model_validate(data.model_dump(exclude={"ended_at"}))
    return wrap_up(session=session, principal=principal, contact_id=contact_id, data=wrap, at=at)


def abandon(*, session: Session, contact_id: int) -> ContactPublic:
    """The caller hung up while waiting (reported by telephony); 409 once answered."""
    contact = get_contact(session=session, contact_id=contact_id)
    if contact.status == ContactStatus.abandoned.value:
        return _public(session, contact)
    if contact.status != ContactStatus.queued.value:
        raise ConflictError(f"контакт {contact_id} уже принят (статус {contact.status})")
    return hang_up(session=session, contact_id=contact_id)


def hang_up(*, session: Session, contact_id: int) -> ContactPublic:
    """The caller hung up, whenever that was (reported by telephony).

    While waiting: the contact is abandoned. During the conversation: it ends there and
    after-call work starts (the operator still wraps it up; a console that lost the answer
    of its take finds it so). After that: nothing changes (a late or repeated report).
    """
    contact = get_contact(session=session, contact_id=contact_id)
    now = datetime.now(UTC)
    if contact.status == ContactStatus.queued.value:
        contact.status = ContactStatus.abandoned.value
        contact.abandoned = True
    elif contact.status == ContactStatus.active.value:
        contact.status = ContactStatus.wrapup.value
    else:
        return _public(session, contact)
    contact.ended_at = max(now, contact.answered_at or now)
    contact.ended_recorded_at = now
    session.add(contact)
    session.commit()
    return _public(session, contact)


def finish_values(contact: Contact, at: WriteTime) -> dict[str, object]:
    """The changes that close an open contact at `at`: after-call work ends then, and the
    conversation too if the operator never pressed F8."""
    ended_at = contact.ended_at or at.not_before(contact.answered_at)
    return {
        "ended_at": ended_at,
        "ended_recorded_at": contact.ended_recorded_at or at.received_at,
        "wrapup_ended_at": at.not_before(ended_at),
        "wrapup_recorded_at": at.received_at,
        "status": ContactStatus.done.value,
    }


def _finish(contact: Contact, at: WriteTime) -> None:
    for name, value in finish_values(contact, at).items():
        setattr(contact, name, value)


def mine(*, session: Session, principal: Principal) -> list[ContactPublic]:
    """The caller's contacts still active or in after-call work, newest first."""
    rows = session.exec(
        select(Contact)
        .where(Contact.operator_id == principal.staff_id, col(Contact.status).in_(OPEN_STATUSES))
        .order_by(col(Contact.answered_at).desc(), col(Contact.id).desc())
    ).all()
    topic_codes, _ = code_maps(session=session)
    table = table_in_force(session)
    return [
        contact_public(
            c,
            topic_codes=topic_codes,
            route_reason=reason(table, c, c.answered_at or c.queued_at) if c.group_code else None,
        )
        for c in rows
    ]


def close(
    *, session: Session, principal: Principal, contact_id: int, data: ContactClose, at: WriteTime
) -> ContactPublic:
    """Close an open contact without a wrap-up, with a reason (the operator gives up a card
    the server refused; a lead closes one left open). Audited. Does not commit."""
    contact = get_contact(session=session, contact_id=contact_id)
    if principal.role not in (Role.shift_lead, Role.admin):
        _require_owner(contact, principal)
    if contact.status not in OPEN_STATUSES:
        raise ConflictError(f"контакт {contact_id} уже закрыт (статус {contact.status})")
    contact.close_reason = data.reason.strip() or data.reason
    _finish(contact, at)
    session.add(contact)
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.close_contact,
        citizen_id=contact.citizen_id,
        details={"contact_id": contact_id, "reason": contact.close_reason},
    )
    session.flush()
    return _public(session, contact)
