"""Messages the console's workers post to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from ekc_core.schemas import CitizenHistory, CitizenPublic, ContactPublic
from ekc_tui.cards import Card

if TYPE_CHECKING:
    from kb_index import SearchHit


@dataclass
class OffersChanged(Message):
    contacts: list[ContactPublic]


@dataclass
class CardReady(Message):
    card: Card
    citizen: CitizenPublic | None
    history: CitizenHistory | None
    cached: bool = False
    restored: bool = False


@dataclass
class KbResults(Message):
    seq: int
    query: str
    hits: list[SearchHit]
    suggested: bool = False


@dataclass
class LinkState(Message):
    online: bool
    unsent: int
    failed: int


@dataclass
class NeedLogin(Message):
    message: str


@dataclass
class HeldContacts(Message):
    """Contacts the server says this operator still holds, which the console has neither
    open nor in its outbox (at start-up, after a crash without a draft)."""

    contacts: list[ContactPublic]
