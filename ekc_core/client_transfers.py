"""Typed methods of `EkcClient` for a transfer onward to an agency and a contact's events
(issue 14). The console sends transfers through its outbox (the same request, stored
first); these serve scripts, the admin CLI and tests."""

from __future__ import annotations

from ekc_core.client_admin import Requester, _many, _one
from ekc_core.transfer_wire import ContactEventPublic, ContactTransfer, ContactTransferred


class TransfersApi:
    def transfer_contact(
        self: Requester,
        contact_id: int,
        data: ContactTransfer,
        *,
        idempotency_key: str | None = None,
    ) -> ContactTransferred:
        """Transfer the contact to an agency's line; the answer carries the line to dial."""
        response = self.request(
            "POST",
            f"/contacts/{contact_id}/transfer",
            json_body=data.model_dump(mode="json"),
            idempotency_key=idempotency_key,
        )
        return _one(response, ContactTransferred)

    def contact_events(self: Requester, contact_id: int) -> list[ContactEventPublic]:
        """The contact's events (transfers), oldest first."""
        return _many(self.request("GET", f"/contacts/{contact_id}/events"), ContactEventPublic)
