"""A transfer onward to an agency as data, and the outbox steps it turns into (no UI here).

The transfer goes through the outbox like every other write: stored first, sent when the
link allows, with an idempotency key per step and the time the operator pressed Ctrl+S at
the desk (`X-Occurred-At`). With an appeal of the contact, the same item can forward the
appeal to the same agency (the existing `forwarded` appeal event; the 59-FZ 7-day rule
applies as it does). An appeal still drafted on the card is forwarded by the card's save,
right after it is registered (`Card.save_steps`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ekc_tui.outbox import step

if TYPE_CHECKING:
    from ekc_tui.cards import Card

TRANSFER = "transfer"
FORWARD = "forward"


@dataclass
class TransferDraft:
    """What the operator typed in the transfer dialog."""

    agency_code: str
    reason: str
    summary: str
    forward_appeal: bool = False


@dataclass
class Transfer:
    """A transfer made from the card (sent or waiting in the outbox)."""

    agency_code: str
    agency_name: str
    phone: str | None
    reason: str
    summary: str
    forward_appeal: bool = False
    item: str | None = None
    """The outbox key of the transfer item."""

    def dump(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> Transfer | None:
        return cls(**data) if data else None

    def line(self) -> str:
        """The card's result line (plain text: the caller escapes it)."""
        where = f"Переведено в ведомство: {self.agency_name}"
        phone = f" · линия {self.phone}" if self.phone else " · телефона в справочнике нет"
        appeal = " · обращение направлено туда же" if self.forward_appeal else ""
        return where + phone + appeal


def forward_body(transfer: Transfer | TransferDraft) -> dict[str, Any]:
    """The `forwarded` appeal event that sends the appeal to the same agency."""
    return {"type": "forwarded", "agency_code": transfer.agency_code, "text": transfer.reason}


def transfer_steps(card: Card, transfer: Transfer, at: datetime) -> list[dict[str, Any]]:
    """The outbox item of a transfer: the transfer itself, then the appeal's forward when
    the contact already has a registered appeal and the operator asked for it."""
    contact_id = str(card.contact.id) if card.contact else "{contact_id}"
    body = {
        "agency_code": transfer.agency_code,
        "reason": transfer.reason,
        "summary": transfer.summary,
    }
    steps = [
        step(
            TRANSFER,
            f"/contacts/{contact_id}/transfer",
            body,
            refs=card.contact_ref(),
            occurred_at=at,
        )
    ]
    appeal_id = registered_appeal(card)
    if transfer.forward_appeal and appeal_id is not None:
        steps.append(
            step(FORWARD, f"/appeals/{appeal_id}/events", forward_body(transfer), occurred_at=at)
        )
    return steps


def registered_appeal(card: Card) -> int | None:
    """The id of the contact's appeal already on the server, if any."""
    return card.contact.appeal_id if card.contact is not None else None


def has_appeal(card: Card) -> bool:
    """An appeal the dialog can forward with the transfer: registered, or drafted on the
    card (forwarded by the save)."""
    return registered_appeal(card) is not None or card.appeal is not None
