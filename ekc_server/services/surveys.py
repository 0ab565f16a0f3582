"""Post-call surveys: the caller's answers, posted by the telephony gateway, one row per
contact.

Idempotent the way a gateway needs it: a retry (or a duplicate delivery) of the same
answers returns the stored row; a post that fills in an answer still missing completes the
row (gateways that post each question as the caller answers it); a post that contradicts
a stored answer is refused with 409 and the first answer stays (a KPI input is never
silently replaced by a later delivery).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ekc_core.feedback import SurveyCreate, SurveyPublic
from ekc_server.errors import ConflictError, InvalidFieldError
from ekc_server.models import ContactSurvey
from ekc_server.services.contacts import get_contact
from ekc_server.write_time import WriteTime

_FIELDS = ("csat", "recommend")


class SurveyConflictError(ConflictError):
    code = "survey_conflict"


def survey_public(row: ContactSurvey) -> SurveyPublic:
    assert row.id is not None
    return SurveyPublic(
        id=row.id,
        contact_id=row.contact_id,
        csat=row.csat,
        recommend=row.recommend,
        answered_at=row.answered_at,
        recorded_at=row.recorded_at,
    )


def _by_contact(session: Session, contact_id: int) -> ContactSurvey | None:
    return session.exec(select(ContactSurvey).where(ContactSurvey.contact_id == contact_id)).first()


def post_survey(
    *, session: Session, contact_id: int, data: SurveyCreate, at: WriteTime
) -> tuple[SurveyPublic, bool]:
    """Store (or complete) the survey of a contact; returns (row, created). Commits."""
    if data.csat is None and data.recommend is None:
        raise InvalidFieldError(
            "нет ни одного ответа: укажите csat (1–5) и/или recommend (0–10)", field="csat"
        )
    contact = get_contact(session=session, contact_id=contact_id)
    if contact.answered_at is None:
        raise ConflictError(
            f"контакт {contact_id} не был принят оператором (пропущен или ещё в очереди): "
            "опрос после разговора к нему не относится",
            field="contact_id",
        )
    answered_at = at.received_at
    if data.answered_at is not None:
        at.refuse_future(data.answered_at, field="answered_at", what="время ответа на опрос")
        answered_at = data.answered_at
        if answered_at < contact.answered_at:
            raise InvalidFieldError(
                "время ответа на опрос раньше начала разговора", field="answered_at"
            )
    existing = _by_contact(session, contact_id)
    if existing is None:
        row = ContactSurvey(
            contact_id=contact_id,
            csat=data.csat,
            recommend=data.recommend,
            answered_at=answered_at,
            recorded_at=at.received_at,
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # the same survey delivered twice at once: the other won
            session.rollback()
            existing = _by_contact(session, contact_id)
            if existing is None:
                raise
            return _merge(session, existing, data), False
        return survey_public(row), True
    return _merge(session, existing, data), False


def _merge(session: Session, row: ContactSurvey, data: SurveyCreate) -> SurveyPublic:
    """The stored row, with the answers it still lacked filled in; 409 on a contradiction."""
    changed = False
    for name in _FIELDS:
        new = getattr(data, name)
        old = getattr(row, name)
        if new is None or new == old:
            continue
        if old is not None:
            raise SurveyConflictError(
                f"на опрос по контакту {row.contact_id} уже получен другой ответ: "
                f"{name} = {old} (прислано {new}); первый ответ сохранён",
                field=name,
            )
        setattr(row, name, new)
        changed = True
    if changed:
        session.add(row)
        session.commit()
    return survey_public(row)
