"""Typed client methods for the workforce endpoints: staffing (forecast, requirements) and
rosters (generate, read, check, import, edit, publish).

`RosterApi` is a mixin of `ekc_core.client.EkcClient`; it only needs the transport methods
named in `_Transport`, so it can be tested and typed on its own.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from ekc_core.client_admin import Requester
from ekc_core.workforce import (
    ForecastProfile,
    RequirementsPublic,
    RequirementsRequest,
    RosterAssignRequest,
    RosterCheck,
    RosterGenerateRequest,
    RosterImport,
    RosterPublic,
    RosterPublishRequest,
    RosterSwapRequest,
)

M = TypeVar("M", bound=BaseModel)

#: seconds the server may take beyond the solver's own limit (loading, checking, saving)
GENERATE_SLACK_SECONDS = 60.0
#: a month's requirement is computed in well under a second; a slow link gets some slack
REQUIREMENTS_TIMEOUT = 120.0


class _Transport(Requester, Protocol):
    """What `RosterApi` uses of `EkcClient`: the one request method, and `_get`."""

    def _get(self, path: str, model: type[M], **params: Any) -> M: ...


def _body(model: BaseModel) -> Any:
    return model.model_dump(mode="json")


class RosterApi:
    """Staffing and roster endpoints (`/staffing/…`, `/rosters/{month}…`)."""

    # --- staffing ---------------------------------------------------------------------------

    def staffing_forecast(
        self: _Transport, *, weeks: int = 8, until: date | None = None
    ) -> ForecastProfile:
        return self._get(
            "/staffing/forecast",
            ForecastProfile,
            weeks=weeks,
            until=until.isoformat() if until else None,
        )

    def compute_requirements(self: _Transport, data: RequirementsRequest) -> RequirementsPublic:
        """Compute and store the month's required operators per hour."""
        response = self.request(
            "POST",
            "/staffing/requirements",
            json_body=data.model_dump(mode="json", exclude_unset=True),
            timeout=REQUIREMENTS_TIMEOUT,
        )
        return RequirementsPublic.model_validate(response.json())

    def requirements(self: _Transport, month: str, group: str | None = None) -> RequirementsPublic:
        """The requirement last computed for `month` (with `group`: only that group's own)."""
        return self._get(f"/staffing/requirements/{month}", RequirementsPublic, group=group)

    # --- rosters ----------------------------------------------------------------------------

    def generate_roster(self: _Transport, month: str, data: RosterGenerateRequest) -> RosterPublic:
        """Build the month's draft; waits for the solver's whole time limit."""
        response = self.request(
            "POST",
            f"/rosters/{month}/generate",
            json_body=_body(data),
            timeout=data.time_limit_seconds + GENERATE_SLACK_SECONDS,
        )
        return RosterPublic.model_validate(response.json())

    def roster(self: _Transport, month: str) -> RosterPublic:
        """The roster with its coverage, per-person totals and the rule check."""
        return self._get(f"/rosters/{month}", RosterPublic)

    def check_roster(self: _Transport, month: str, data: RosterImport | None = None) -> RosterCheck:
        """Check the saved roster, or `data` (a hand-made one; nothing is saved)."""
        response = self.request(
            "POST", f"/rosters/{month}/check", json_body=_body(data) if data else None
        )
        return RosterCheck.model_validate(response.json())

    def import_roster(self: _Transport, month: str, data: RosterImport) -> RosterPublic:
        response = self.request("PUT", f"/rosters/{month}", json_body=_body(data))
        return RosterPublic.model_validate(response.json())

    def swap_shifts(self: _Transport, month: str, data: RosterSwapRequest) -> RosterPublic:
        response = self.request("POST", f"/rosters/{month}/swap", json_body=_body(data))
        return RosterPublic.model_validate(response.json())

    def assign_shift(self: _Transport, month: str, data: RosterAssignRequest) -> RosterPublic:
        response = self.request("POST", f"/rosters/{month}/assign", json_body=_body(data))
        return RosterPublic.model_validate(response.json())

    def publish_roster(self: _Transport, month: str, data: RosterPublishRequest) -> RosterPublic:
        response = self.request("POST", f"/rosters/{month}/publish", json_body=_body(data))
        return RosterPublic.model_validate(response.json())
