"""Typed methods of `EkcClient` for contact quality (checklists, reviews) and for what the
gateways post after a contact (post-call surveys, video consultations).

A mixin over `Requester`, like `AdminApi`: every method takes and returns the wire schemas,
and HTTP failures are mapped to `ekc_core.errors` in the one place (`EkcClient.request`).
"""

from __future__ import annotations

from datetime import date

from pydantic import TypeAdapter

from ekc_core.client_admin import Requester, segment
from ekc_core.feedback import SurveyCreate, SurveyPublic, VideoConsultationCreate
from ekc_core.quality import (
    QualityFormImport,
    QualityFormImportResult,
    QualityFormPublic,
    QualityReviewCreate,
    QualityReviewList,
    QualityReviewPublic,
)
from ekc_core.schemas import ContactPublic


class QualityApi:
    """Quality checklists and reviews (`ekc-admin quality`), surveys and video posts."""

    # --- checklists -----------------------------------------------------------------------

    def quality_forms(
        self: Requester, *, include_inactive: bool = False
    ) -> list[QualityFormPublic]:
        """The newest version of each checklist (switched-off ones with `include_inactive`)."""
        params = {"include_inactive": True} if include_inactive else None
        response = self.request("GET", "/quality/forms", params=params)
        return TypeAdapter(list[QualityFormPublic]).validate_python(response.json())

    def quality_form(
        self: Requester, code: str, *, version: int | None = None
    ) -> QualityFormPublic:
        response = self.request(
            "GET", f"/quality/forms/{segment(code)}", params={"version": version}
        )
        return QualityFormPublic.model_validate(response.json())

    def import_quality_forms(
        self: Requester, data: QualityFormImport, *, dry_run: bool = False
    ) -> QualityFormImportResult:
        """Write every form of the file or none; `dry_run` only says what would change."""
        response = self.request(
            "POST",
            "/quality/forms",
            json_body=data.model_dump(mode="json"),
            params={"dry_run": True} if dry_run else None,
        )
        return QualityFormImportResult.model_validate(response.json())

    def deactivate_quality_form(self: Requester, code: str) -> QualityFormPublic:
        response = self.request("POST", f"/quality/forms/{segment(code)}/deactivate")
        return QualityFormPublic.model_validate(response.json())

    # --- reviews --------------------------------------------------------------------------

    def review_contact(
        self: Requester,
        contact_id: int,
        data: QualityReviewCreate,
        *,
        idempotency_key: str | None = None,
    ) -> QualityReviewPublic:
        """Score a contact; with a key the request is retried safely (one review only)."""
        response = self.request(
            "POST",
            f"/contacts/{contact_id}/quality-reviews",
            json_body=data.model_dump(mode="json", exclude_none=False),
            idempotency_key=idempotency_key,
        )
        return QualityReviewPublic.model_validate(response.json())

    def quality_reviews(
        self: Requester,
        *,
        operator: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> QualityReviewList:
        params = {
            "operator": operator,
            "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None,
            "offset": offset,
            "limit": limit,
        }
        response = self.request("GET", "/quality/reviews", params=params)
        return QualityReviewList.model_validate(response.json())

    # --- what gateways post ---------------------------------------------------------------

    def post_survey(self: Requester, contact_id: int, data: SurveyCreate) -> SurveyPublic:
        """The caller's post-call survey (a repeat of the same answers is harmless)."""
        response = self.request(
            "POST",
            f"/contacts/{contact_id}/survey",
            json_body=data.model_dump(mode="json", exclude_none=True),
        )
        return SurveyPublic.model_validate(response.json())

    def post_video_consultation(self: Requester, data: VideoConsultationCreate) -> ContactPublic:
        """A video consultation that is over (a repeat of the same external_id is harmless)."""
        response = self.request(
            "POST", "/contacts/video", json_body=data.model_dump(mode="json", exclude_none=True)
        )
        return ContactPublic.model_validate(response.json())
