"""Typed client methods for operator presence and the shift lead's wallboard.

`WallboardApi` is a mixin of `ekc_core.client.EkcClient` (one transport, one error mapping);
it needs only the client's `request`.
"""

from __future__ import annotations

from typing import Any, Protocol

from ekc_core.client_admin import Requester
from ekc_core.presence import AgentsPublic, PresencePublic, PresenceUpdate
from ekc_core.wallboard import Wallboard

PRESENCE_PATH = "/agents/me/state"


class _Transport(Requester, Protocol):
    """`Requester` and the client's settings (the long poll's timeout is the wait plus the
    read timeout)."""

    @property
    def settings(self) -> Any: ...


class WallboardApi:
    """Presence (`PUT /agents/me/state`, `GET /agents`) and the wallboard long poll."""

    @staticmethod
    def presence_request(data: PresenceUpdate) -> tuple[str, str, dict[str, Any]]:
        """Method, path and JSON body of a state change (the console's outbox stores them
        and sends them with `X-Occurred-At` and an `Idempotency-Key`)."""
        return "PUT", PRESENCE_PATH, data.model_dump(mode="json", exclude_none=True)

    def set_presence(
        self: _Transport, data: PresenceUpdate, *, idempotency_key: str | None = None
    ) -> PresencePublic:
        method, path, body = WallboardApi.presence_request(data)
        response = self.request(method, path, json_body=body, idempotency_key=idempotency_key)
        return PresencePublic.model_validate(response.json())

    def agents(self: _Transport) -> AgentsPublic:
        """Every operator's state and what they are doing (shift leads and admins)."""
        return AgentsPublic.model_validate(self.request("GET", "/agents").json())

    def wallboard(
        self: _Transport,
        *,
        shown: Wallboard | None = None,
        wait: float = 25.0,
        retries: int | None = None,
    ) -> Wallboard:
        """The wallboard as a long poll: with `shown` (the board the caller holds) the
        backend waits up to `wait` seconds for a change; unchanged, it answers a bodiless
        304 and `shown` is returned as it is (the same object)."""
        headers = {"If-None-Match": f'"{shown.version}"'} if shown is not None else None
        response = self.request(
            "GET",
            "/wallboard",
            params={"wait": wait},
            headers=headers,
            timeout=wait + float(self.settings.read_timeout),
            retries=retries,
        )
        if response.status_code == 304 and shown is not None:
            return shown
        return Wallboard.model_validate(response.json())
