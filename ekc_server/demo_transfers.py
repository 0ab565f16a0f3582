"""The demo's transfers onward to an agency (issue 14): every demo contact whose outcome is
`transferred` gets the `contact_event` a transfer from the card records — to the agency of
its topic (or of the topic above it), by its operator, when the conversation ended."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from ekc_core.enums import ContactEventType, ContactOutcome
from ekc_server.models import Agency, Topic

#: why operators put callers through, as they write it
REASONS = (
    "Вопрос в ведении ведомства",
    "Нужна консультация специалиста ведомства",
    "Гражданин просит соединить с ведомством",
    "Требуется решение ведомства",
)


def _topic_agencies(session: Session) -> dict[int, tuple[int, str | None]]:
    """topic id → (agency id, its phone): the topic's default agency, else its parent's."""
    topics = {t.id: t for t in session.exec(select(Topic)).all() if t.id is not None}
    phones = {a.id: a.phone for a in session.exec(select(Agency)).all() if a.active}
    found: dict[int, tuple[int, str | None]] = {}
    for topic_id, topic in topics.items():
        seen: set[int] = set()
        current: Topic | None = topic
        while current is not None and current.id is not None and current.id not in seen:
            seen.add(current.id)
            agency_id = current.default_agency_id
            if agency_id is not None and agency_id in phones:
                found[topic_id] = (agency_id, phones[agency_id])
                break
            current = topics.get(current.parent_id) if current.parent_id else None
    return found


def transfer_rows(session: Session, contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`contact_event` rows for the demo's transferred contacts whose topic has an agency."""
    rng = random.Random(len(contacts))
    agencies = _topic_agencies(session)
    rows = []
    for contact in contacts:
        if contact.get("outcome") != ContactOutcome.transferred.value:
            continue
        target = agencies.get(contact.get("topic_id") or 0)
        at = contact.get("ended_at") or contact.get("answered_at")
        if target is None or at is None:
            continue
        agency_id, phone = target
        rows.append(
            {
                "contact_id": contact["id"],
                "type": ContactEventType.transferred.value,
                "at": at,
                "recorded_at": at + timedelta(seconds=rng.uniform(0.1, 2.5)),
                "actor_id": contact.get("operator_id"),
                "agency_id": agency_id,
                "text": contact.get("summary") or "",
                "data": {"reason": rng.choice(REASONS), "phone": phone},
            }
        )
    return rows
