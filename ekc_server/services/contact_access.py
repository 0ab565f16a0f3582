"""Who sees a contact's personal data in full, masking for the others, and the audit row of
every read (152-FZ).

- Lists (the queue, the offers) show every role the number and sender masked, without the
  message text or the voice assistant's transcript (the console shows none of them there).
- One contact (`GET /contacts/{id}`): an operator sees it in full only while they hold it,
  or while they hold another open contact of the same citizen (whose history they see in
  full anyway); otherwise masked, without summary, text or transcript. Shift leads and
  admins see it in full (they handle complaints and check the work). Every read is audited,
  masked or not (who looked at which contact, and whether in full).
- Gateways read no contact: they post contacts and report hang-ups.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from ekc_core.enums import AuditAction, ContactStatus, Role
from ekc_core.phones import mask_phone
from ekc_core.schemas import ContactPublic
from ekc_server.deps import Principal
from ekc_server.models import Contact
from ekc_server.services import audit

#: roles that read any contact in full (audited)
FULL_VIEW_ROLES = frozenset({Role.shift_lead, Role.admin})
#: statuses in which a contact is held by its operator
HELD_STATUSES = (ContactStatus.active.value, ContactStatus.wrapup.value)


def mask_sender(sender: str) -> str:
    """Mask a sender address on written channels: `ivanov@mail.ru` → `iv***@mail.ru`,
    `id12345678` → `id***78`."""
    local, at, domain = sender.partition("@")
    if at:
        return f"{local[:2]}***@{domain}"
    if len(sender) <= 4:
        return "***"
    return f"{sender[:2]}***{sender[-2:]}"


def masked(contact: ContactPublic) -> ContactPublic:
    """The contact without what identifies the person or what they said: number and sender
    masked, no summary, text or transcript (the detected topic and emotion stay)."""
    handoff = contact.handoff.model_copy(update={"transcript": None}) if contact.handoff else None
    return contact.model_copy(
        update={
            "caller_number": mask_phone(contact.caller_number) if contact.caller_number else None,
            "sender": mask_sender(contact.sender) if contact.sender else None,
            "summary": None,
            "text": None,
            "handoff": handoff,
        }
    )


def sees_in_full(*, session: Session, principal: Principal, contact: Contact) -> bool:
    """Whether `principal` may read this contact with its number and texts."""
    if principal.role in FULL_VIEW_ROLES:
        return True
    if principal.role != Role.operator:
        return False
    if contact.operator_id == principal.staff_id:
        return True
    if contact.citizen_id is None:
        return False
    held = session.exec(
        select(Contact.id)
        .where(
            Contact.operator_id == principal.staff_id,
            Contact.citizen_id == contact.citizen_id,
            col(Contact.status).in_(HELD_STATUSES),
        )
        .limit(1)
    ).first()
    return held is not None


def record_read(
    *,
    session: Session,
    principal: Principal,
    contact: ContactPublic,
    action: AuditAction = AuditAction.view_contact,
    full: bool = True,
) -> ContactPublic:
    """Add the audit row of a read of `contact` to the caller's transaction; returns it."""
    audit.record(
        session=session,
        principal=principal,
        action=action,
        citizen_id=contact.citizen_id,
        details={"contact_id": contact.id, "full": full},
    )
    return contact
