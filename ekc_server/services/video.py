"""Video consultations from MFC offices: the video system's gateway posts each one when it
is over, and it is stored as a finished contact on the `video` channel (office, operator,
topic, started / answered / ended times); its duration is answered → ended."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ekc_core.enums import Channel, ContactOutcome, ContactStatus, Direction, Role
from ekc_core.feedback import VideoConsultationCreate
from ekc_core.schemas import ContactPublic
from ekc_server.errors import InvalidFieldError
from ekc_server.models import Contact, Staff
from ekc_server.services.contacts import contact_public
from ekc_server.services.reference import active_topic_by_code, code_maps, office_by_code
from ekc_server.write_time import WriteTime

#: offices a video consultation may come from: MFC offices and their territorial units
VIDEO_OFFICE_KINDS = frozenset({"mfc", "tosp"})
#: who may have answered one
_ANSWERING_ROLES = frozenset({Role.operator.value, Role.shift_lead.value, Role.admin.value})


def _existing(session: Session, external_id: str) -> Contact | None:
    return session.exec(
        select(Contact).where(
            Contact.channel == Channel.video.value, Contact.external_id == external_id
        )
    ).first()


def _public(session: Session, contact: Contact) -> ContactPublic:
    topics, _ = code_maps(session=session)
    return contact_public(contact, topic_codes=topics)


def _operator_id(session: Session, username: str) -> int:
    staff = session.exec(select(Staff).where(Staff.username == username)).first()
    if staff is None or staff.role not in _ANSWERING_ROLES:
        raise InvalidFieldError(f"неизвестный оператор «{username}»", field="operator")
    assert staff.id is not None
    return staff.id


def post_video(
    *, session: Session, data: VideoConsultationCreate, at: WriteTime
) -> tuple[ContactPublic, bool]:
    """Store one consultation; a repeat of the same `external_id` returns the first one
    unchanged (200). Returns (contact, created). Commits."""
    existing = _existing(session, data.external_id)
    if existing is not None:
        return _public(session, existing), False
    if data.answered_at < data.started_at:
        raise InvalidFieldError("время ответа раньше начала консультации", field="answered_at")
    if data.ended_at < data.answered_at:
        raise InvalidFieldError("время окончания раньше ответа", field="ended_at")
    at.refuse_future(data.ended_at, field="ended_at", what="время окончания")
    office = office_by_code(session=session, code=data.office_code)
    if office.kind not in VIDEO_OFFICE_KINDS:
        raise InvalidFieldError(
            f"офис «{data.office_code}» не МФЦ: видеоконсультации приходят из зон "
            "самообслуживания МФЦ",
            field="office_code",
        )
    topic_id = (
        active_topic_by_code(session=session, code=data.topic_code).id if data.topic_code else None
    )
    operator_id = _operator_id(session, data.operator) if data.operator else None
    contact = Contact(
        channel=Channel.video.value,
        direction=Direction.inbound.value,
        status=ContactStatus.done.value,
        external_id=data.external_id,
        office_id=office.id,
        operator_id=operator_id,
        topic_id=topic_id,
        outcome=ContactOutcome.consultation.value,
        summary=data.summary,
        queued_at=data.started_at,
        answered_at=data.answered_at,
        ended_at=data.ended_at,
        wrapup_ended_at=data.ended_at,
        recorded_at=at.received_at,
        ended_recorded_at=at.received_at,
        wrapup_recorded_at=at.received_at,
    )
    session.add(contact)
    try:
        session.commit()
    except IntegrityError:  # the same session posted twice at once: the other one won
        session.rollback()
        existing = _existing(session, data.external_id)
        if existing is None:
            raise
        return _public(session, existing), False
    return _public(session, contact), True
