"""Wire models of a transfer onward to an agency and of a contact's events (issue 14).

`POST /contacts/{id}/transfer` hands the caller over to the agency's line: the operator's
part of the conversation ends there (after-call work starts, as after any call a real ACD
transfers), and the contact's outcome is `transferred` («переведено в ведомство»).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from ekc_core.enums import ContactEventType
from ekc_core.fields import Code, Text
from ekc_core.schemas import ContactPublic, Wire

#: the longest reason a transfer keeps (one or two sentences)
MAX_TRANSFER_REASON = 500
#: the longest summary for the receiving side (what they read before they answer)
MAX_TRANSFER_SUMMARY = 2000


class ContactTransfer(Wire):
    """Transfer a contact onward to an agency. When it happened is the write's time
    (`X-Occurred-At`, which the console's outbox sends), as for every other write."""

    agency_code: Code
    """The receiving agency (`GET /agencies`); an inactive one is refused."""
    reason: Annotated[Text, Field(min_length=1, max_length=MAX_TRANSFER_REASON)]
    """Why it goes there (the agency owns the question, …)."""
    summary: Annotated[Text, Field(min_length=1, max_length=MAX_TRANSFER_SUMMARY)]
    """What the receiving side should know before it answers."""


class ContactEventPublic(Wire):
    id: int
    contact_id: int
    type: ContactEventType
    at: datetime
    """When it happened (the desk's time, corrected)."""
    recorded_at: datetime
    """When the backend learnt of it."""
    actor_id: int | None
    actor_name: str | None
    agency_code: str | None
    text: str
    data: dict[str, Any]


class TransferAgency(Wire):
    """The receiving side as the console shows it: whom to dial or transfer the call to."""

    code: str
    name: str
    short_name: str
    phone: str | None
    email: str | None


class ContactTransferred(Wire):
    """The answer of a transfer: the contact as it is now (in after-call work), the event
    recorded, and the agency's line."""

    contact: ContactPublic
    event: ContactEventPublic
    agency: TransferAgency
