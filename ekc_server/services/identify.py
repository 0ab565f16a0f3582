"""Who a new contact is from: the one citizen with the caller's number, e-mail address or
messenger id (a number or address two citizens share is left to the operator)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from ekc_core.addresses import address_key, sender_kind
from ekc_core.enums import Channel
from ekc_server.models import Citizen, CitizenPhone


def identify_citizen(*, session: Session, e164: str) -> int | None:
    """The citizen with this phone when exactly one (not merged) has it."""
    ids = session.exec(
        select(CitizenPhone.citizen_id)
        .join(Citizen, col(Citizen.id) == CitizenPhone.citizen_id)
        .where(CitizenPhone.e164 == e164, col(Citizen.merged_into_id).is_(None))
        .limit(2)
    ).all()
    return ids[0] if len(ids) == 1 else None


def identify_sender(*, session: Session, channel: Channel, sender: str | None) -> int | None:
    """The citizen whose e-mail (e-mail channel) or messenger id (other written channels)
    is this sender, when exactly one (not merged) has it: like a phone shared by two, an
    address on two cards is left to the operator (Ctrl+G lists both)."""
    kind = sender_kind(channel, sender)
    if kind is None or sender is None:
        return None
    key = address_key(sender)
    field = func.lower(col(Citizen.email)) if kind == "email" else col(Citizen.messenger_id)
    ids = session.exec(
        select(Citizen.id).where(field == key, col(Citizen.merged_into_id).is_(None)).limit(2)
    ).all()
    return ids[0] if len(ids) == 1 else None


def identify(
    *, session: Session, channel: Channel, caller: str | None, sender: str | None
) -> int | None:
    """A new contact's citizen: by the caller's number, else by the written sender."""
    if caller:
        return identify_citizen(session=session, e164=caller)
    return identify_sender(session=session, channel=channel, sender=sender)
