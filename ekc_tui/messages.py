"""Messages the console's workers post to the UI thread (no `call_from_thread` callbacks).

A worker computes in its thread and posts one of these; the node that ran it (a pane, the
controller) or the app handles it on the UI thread. Types only: nothing heavy is imported
at run time, so the first frame does not wait for the wire schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message
from textual.notifications import SeverityLevel

if TYPE_CHECKING:
    from textual.screen import Screen

    from ekc_core.schemas import (
        CallbackPublic,
        CitizenHistory,
        CitizenListItem,
        CitizenPublic,
        ContactPublic,
    )
    from ekc_core.wallboard import Wallboard
    from ekc_tui.cards import Card
    from ekc_tui.desk import Reference
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
class KbCount(Message):
    """The local knowledge base holds `count` articles (opened or synced)."""

    count: int


@dataclass
class LinkState(Message):
    online: bool
    unsent: int
    failed: int


@dataclass
class NeedLogin(Message):
    message: str


@dataclass
class SignedIn(Message):
    """The session is ready (signed in, or resumed from the saved login)."""


@dataclass
class ReferenceLoaded(Message):
    ref: Reference


@dataclass
class HeldContacts(Message):
    """Contacts the server says this operator still holds, which the console has neither
    open nor in its outbox (at start-up, after a crash without a draft)."""

    contacts: list[ContactPublic]


@dataclass
class TakeEnded(Message):
    """A take attempt is over (a card opened, or the contact could not be taken)."""


@dataclass
class AppealsRegistered(Message):
    """The outbox delivered appeals: their numbers, to read to the caller."""

    numbers: list[str]


@dataclass
class CitizensFound(Message):
    text: str
    found: list[CitizenListItem]
    cached: bool


@dataclass
class CitizenOpened(Message):
    citizen: CitizenPublic
    history: CitizenHistory | None
    cached: bool


@dataclass
class CallbacksLoaded(Message):
    items: list[CallbackPublic]
    cached: bool


@dataclass
class OpenScreen(Message):
    """A worker has what a dialog shows (an appeal): open it."""

    screen: Screen[object]


@dataclass
class Notice(Message):
    """A toast from a worker."""

    text: str
    title: str = ""
    severity: SeverityLevel = "information"
    timeout: float | None = None


@dataclass
class QuitNow(Message):
    """The console may close now (the "offline" state was sent, or could not be in time)."""


@dataclass
class BoardChanged(Message):
    """The wallboard long poll brought a new board (`received`: time.monotonic() then)."""

    board: Wallboard
    received: float


@dataclass
class BoardLink(Message):
    """The wallboard's long poll failed (`text` says why) or works again (`text` empty)."""

    text: str
