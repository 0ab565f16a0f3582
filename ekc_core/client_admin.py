"""Typed methods of `EkcClient` for the admin endpoints: staff, shift templates, absences,
schedule preferences and API tokens.

A mixin, so the client stays one class with one transport and one place that maps HTTP
failures to `ekc_core.errors` (`EkcClient.request`). Every method takes and returns the
wire schemas; no caller builds a path or a JSON body by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from ekc_core.enums import Role
from ekc_core.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenPublic
from ekc_core.workforce import (
    AbsenceCreate,
    AbsenceCreated,
    AbsencePublic,
    PreferenceCreate,
    PreferencePublic,
    ShiftTemplateCreate,
    ShiftTemplatePublic,
    ShiftTemplateUpdate,
    StaffCreate,
    StaffImportRequest,
    StaffImportResult,
    StaffRecord,
    StaffUpdate,
)

M = TypeVar("M", bound=BaseModel)


class Requester(Protocol):
    """What the client mixins (`AdminApi`, `RosterApi`) need of `EkcClient`: its one request
    method (retries, auth, errors)."""

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> httpx.Response: ...


def segment(value: str | int) -> str:
    """One path segment: a login or code is quoted whole (`a/b` → `a%2Fb`, `..` → `%2E%2E`),
    so no value can reach another route."""
    text = str(value)
    if text in {".", ".."}:  # `quote` leaves dots; httpx would resolve them as a path
        return text.replace(".", "%2E")
    return quote(text, safe="")


def _one(response: httpx.Response, model: type[M]) -> M:
    return model.model_validate(response.json())


def _many(response: httpx.Response, model: type[M]) -> list[M]:
    return TypeAdapter(list[model]).validate_python(  # type: ignore[valid-type]
        response.json()
    )


def _created(data: BaseModel) -> dict[str, Any]:
    """A new record's body: what is not given is left to the server's defaults."""
    return data.model_dump(mode="json", exclude_none=True)


def _changes(data: BaseModel) -> dict[str, Any]:
    """A PATCH body: only the fields that were set (an explicit None clears a value)."""
    return data.model_dump(mode="json", exclude_unset=True)


class AdminApi:
    """Staff, shift templates, absences, preferences and API tokens (`ekc-admin`)."""

    # --- staff --------------------------------------------------------------------------

    def staff_list(
        self: Requester,
        *,
        role: Role | None = None,
        office: str | None = None,
        skill: str | None = None,
        active: bool | None = None,
    ) -> list[StaffRecord]:
        params = {"role": role, "office": office, "skill": skill, "active": active}
        return _many(self.request("GET", "/staff", params=params), StaffRecord)

    def staff_record(self: Requester, username: str) -> StaffRecord:
        return _one(self.request("GET", f"/staff/{segment(username)}"), StaffRecord)

    def create_staff(self: Requester, data: StaffCreate) -> StaffRecord:
        return _one(self.request("POST", "/staff", json_body=_created(data)), StaffRecord)

    def update_staff(self: Requester, username: str, data: StaffUpdate) -> StaffRecord:
        response = self.request("PATCH", f"/staff/{segment(username)}", json_body=_changes(data))
        return _one(response, StaffRecord)

    def deactivate_staff(self: Requester, username: str) -> StaffRecord:
        """Switch the account off and revoke its tokens."""
        return _one(self.request("POST", f"/staff/{segment(username)}/deactivate"), StaffRecord)

    def import_staff(
        self: Requester, data: StaffImportRequest, *, dry_run: bool = False
    ) -> StaffImportResult:
        """Write every row or none; `dry_run` only counts what would change."""
        response = self.request(
            "POST",
            "/staff/import",
            json_body=_changes(data),
            params={"dry_run": True} if dry_run else None,
        )
        return _one(response, StaffImportResult)

    # --- shift templates ----------------------------------------------------------------

    def shift_templates(
        self: Requester, *, active: bool | None = None
    ) -> list[ShiftTemplatePublic]:
        response = self.request("GET", "/shift-templates", params={"active": active})
        return _many(response, ShiftTemplatePublic)

    def create_shift_template(self: Requester, data: ShiftTemplateCreate) -> ShiftTemplatePublic:
        response = self.request("POST", "/shift-templates", json_body=_created(data))
        return _one(response, ShiftTemplatePublic)

    def update_shift_template(
        self: Requester, code: str, data: ShiftTemplateUpdate
    ) -> ShiftTemplatePublic:
        response = self.request(
            "PATCH", f"/shift-templates/{segment(code)}", json_body=_changes(data)
        )
        return _one(response, ShiftTemplatePublic)

    # --- absences and preferences -------------------------------------------------------

    def absences(
        self: Requester, *, username: str | None = None, month: str | None = None
    ) -> list[AbsencePublic]:
        """One person's absences, or everyone's; only those touching `month` (YYYY-MM)."""
        path = f"/staff/{segment(username)}/absences" if username else "/absences"
        return _many(self.request("GET", path, params={"month": month}), AbsencePublic)

    def create_absence(self: Requester, username: str, data: AbsenceCreate) -> AbsenceCreated:
        """Enter an absence; the answer names the roster's shifts it falls on and the gaps
        their removal would open."""
        response = self.request(
            "POST", f"/staff/{segment(username)}/absences", json_body=_created(data)
        )
        return _one(response, AbsenceCreated)

    def delete_absence(self: Requester, absence_id: int) -> None:
        self.request("DELETE", f"/absences/{segment(absence_id)}")

    def preferences(self: Requester, *, username: str | None = None) -> list[PreferencePublic]:
        """One person's wishes for the roster, or everyone's."""
        path = f"/staff/{segment(username)}/preferences" if username else "/preferences"
        return _many(self.request("GET", path), PreferencePublic)

    def create_preference(
        self: Requester, username: str, data: PreferenceCreate
    ) -> PreferencePublic:
        response = self.request(
            "POST", f"/staff/{segment(username)}/preferences", json_body=_created(data)
        )
        return _one(response, PreferencePublic)

    def delete_preference(self: Requester, preference_id: int) -> None:
        self.request("DELETE", f"/preferences/{segment(preference_id)}")

    # --- API tokens ---------------------------------------------------------------------

    def tokens(self: Requester) -> list[ApiTokenPublic]:
        """One's own tokens; an admin sees everyone's."""
        return _many(self.request("GET", "/tokens"), ApiTokenPublic)

    def create_token(self: Requester, data: ApiTokenCreate) -> ApiTokenCreated:
        """The token's secret is in the answer only (the server keeps its hash)."""
        return _one(self.request("POST", "/tokens", json_body=_created(data)), ApiTokenCreated)

    def revoke_token(self: Requester, token_id: int) -> None:
        self.request("DELETE", f"/tokens/{segment(token_id)}")
