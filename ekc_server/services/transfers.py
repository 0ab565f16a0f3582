"""Transfer onward to an agency (issue 14) and a contact's events.

What a transfer means, as a real ACD does it: the operator hands the caller over to the
agency's line (a warm or cold transfer), and with that the operator's part of the
conversation ends. So a transfer of an active contact ends the conversation at the time of
the transfer and after-call work starts; a contact already in after-call work (a written
message, or a call whose caller the operator promised to put through) stays there. Either
way the contact's outcome is `transferred` («переведено в ведомство») and stays so at the
wrap-up (`contacts.wrap_up` keeps it): the wrap-up records the topic and the operator's
summary as usual. A contact is transferred once; a second transfer is refused (409).
"""

from __future__ import annotations

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from ekc_core.enums import AuditAction, ContactEventType, ContactOutcome, ContactStatus, Role
from ekc_core.transfer_wire import (
    ContactEventPublic,
    ContactTransfer,
    ContactTransferred,
    TransferAgency,
)
from ekc_server.deps import Principal
from ekc_server.errors import ConflictError, ForbiddenError, InvalidFieldError
from ekc_server.models import Agency, Contact, Staff
from ekc_server.models_events import ContactEvent
from ekc_server.services import audit
from ekc_server.services.contacts import OPEN_STATUSES, contact_public, get_contact
from ekc_server.services.reference import agency_by_code, code_maps
from ekc_server.write_time import WriteTime

LEAD_ROLES = (Role.shift_lead, Role.admin)


def _event_public(
    event: ContactEvent, *, actor_name: str | None, agency_codes: dict[int | None, str]
) -> ContactEventPublic:
    assert event.id is not None
    return ContactEventPublic(
        id=event.id,
        contact_id=event.contact_id,
        type=ContactEventType(event.type),
        at=event.at,
        recorded_at=event.recorded_at,
        actor_id=event.actor_id,
        actor_name=actor_name,
        agency_code=agency_codes.get(event.agency_id) if event.agency_id else None,
        text=event.text,
        data=event.data,
    )


def _agency_public(agency: Agency) -> TransferAgency:
    return TransferAgency(
        code=agency.code,
        name=agency.name,
        short_name=agency.short_name,
        phone=agency.phone,
        email=agency.email,
    )


def _transfer_of(session: Session, contact_id: int) -> ContactEvent | None:
    return session.exec(
        select(ContactEvent).where(
            ContactEvent.contact_id == contact_id,
            ContactEvent.type == ContactEventType.transferred.value,
        )
    ).first()


def transfer(
    *,
    session: Session,
    principal: Principal,
    contact_id: int,
    data: ContactTransfer,
    at: WriteTime,
) -> ContactTransferred:
    """Transfer an open contact to an agency (see the module's docstring). Audited: the
    summary goes outside the centre. Does not commit (see idempotency.run_once)."""
    contact = get_contact(session=session, contact_id=contact_id)
    if principal.role not in LEAD_ROLES and contact.operator_id != principal.staff_id:
        raise ConflictError(f"контакт {contact_id} обслуживает другой оператор")
    if contact.status not in OPEN_STATUSES:
        raise ConflictError(
            f"контакт {contact_id} нельзя перевести в статусе {contact.status}: "
            "переводят принятый контакт до его сохранения"
        )
    reason = data.reason.strip()
    if not reason:
        raise InvalidFieldError("укажите причину перевода", field="reason")
    summary = data.summary.strip()
    if not summary:
        raise InvalidFieldError("напишите суть обращения для ведомства", field="summary")
    agency = agency_by_code(session=session, code=data.agency_code)
    if not agency.active:
        raise InvalidFieldError(
            f"ведомство «{data.agency_code}» больше не работает с центром; выберите другое",
            field="agency_code",
        )
    previous = _transfer_of(session, contact_id)
    if previous is not None:
        _, agency_codes = code_maps(session=session)
        raise ConflictError(
            f"контакт {contact_id} уже переведён в «{agency_codes.get(previous.agency_id)}»"
        )
    when = at.not_before(contact.answered_at)
    values: dict[str, object] = {"outcome": ContactOutcome.transferred.value}
    if contact.status == ContactStatus.active.value:  # the transfer ends the conversation
        values.update(
            status=ContactStatus.wrapup.value, ended_at=when, ended_recorded_at=at.received_at
        )
    # compare-and-set: a transfer or a save that got in first wins, this one gets 409
    changed = session.execute(
        update(Contact)
        .where(col(Contact.id) == contact_id)
        .where(col(Contact.status) == contact.status)
        .where(
            or_(
                col(Contact.outcome).is_(None),
                col(Contact.outcome) != ContactOutcome.transferred.value,
            )
        )
        .values(**values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ConflictError(
            f"контакт {contact_id} изменился во время перевода (его уже перевели или "
            "сохранили); откройте его заново"
        )
    session.refresh(contact)
    event = ContactEvent(
        contact_id=contact_id,
        type=ContactEventType.transferred.value,
        at=when,
        recorded_at=at.received_at,
        actor_id=principal.staff_id,
        agency_id=agency.id,
        text=summary,
        data={"reason": reason, "phone": agency.phone},
    )
    session.add(event)
    audit.record(
        session=session,
        principal=principal,
        action=AuditAction.transfer_contact,
        citizen_id=contact.citizen_id,
        details={"contact_id": contact_id, "agency": agency.code},
    )
    session.flush()
    topic_codes, agency_codes = code_maps(session=session)
    return ContactTransferred(
        contact=contact_public(contact, topic_codes=topic_codes),
        event=_event_public(event, actor_name=principal.staff.full_name, agency_codes=agency_codes),
        agency=_agency_public(agency),
    )


def events(*, session: Session, principal: Principal, contact_id: int) -> list[ContactEventPublic]:
    """A contact's events, oldest first: for the operator who handled it and for leads."""
    contact: Contact = get_contact(session=session, contact_id=contact_id)
    if principal.role not in LEAD_ROLES and contact.operator_id != principal.staff_id:
        raise ForbiddenError(
            "события контакта видят оператор, который его обслуживал, и старшие смены"
        )
    rows = session.exec(
        select(ContactEvent, Staff.full_name)
        .join(Staff, col(Staff.id) == ContactEvent.actor_id, isouter=True)
        .where(ContactEvent.contact_id == contact_id)
        .order_by(col(ContactEvent.at), col(ContactEvent.id))
    ).all()
    _, agency_codes = code_maps(session=session)
    return [_event_public(e, actor_name=name, agency_codes=agency_codes) for e, name in rows]
