"""Quality checklists (admins define them) and contact quality reviews (leads score)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from ekc_core.fields import Code, Id, InputDate, Offset
from ekc_core.quality import (
    QualityFormImport,
    QualityFormImportResult,
    QualityFormPublic,
    QualityReviewCreate,
    QualityReviewList,
    QualityReviewPublic,
)
from ekc_server.deps import Admin, Lead, SessionDep, Staffer
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.routes.citizens import IdempotencyKey
from ekc_server.services import idempotency, quality
from ekc_server.write_time import WriteTimeDep

router = APIRouter(tags=["quality"], responses=SIGNED_IN_ERRORS)


@router.get("/quality/forms", response_model=list[QualityFormPublic])
def list_forms(
    _: Staffer, session: SessionDep, include_inactive: bool = False
) -> list[QualityFormPublic]:
    """The newest version of each checklist (operators may read what they are scored on)."""
    return quality.list_forms(session=session, include_inactive=include_inactive)


@router.get("/quality/forms/{code}", response_model=QualityFormPublic)
def get_form(
    code: Code,
    _: Staffer,
    session: SessionDep,
    version: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> QualityFormPublic:
    """One checklist: its newest version, or `version`."""
    return quality.get_form(session=session, code=code, version=version)


@router.post("/quality/forms", response_model=QualityFormImportResult, responses=CONFLICT)
def import_forms(
    body: QualityFormImport, principal: Admin, session: SessionDep, dry_run: bool = False
) -> QualityFormImportResult:
    """Import checklists, all or none: a changed form becomes a new version (older versions
    are switched off; their reviews keep them), an unchanged one is left as it is. With
    `dry_run` nothing is written: the answer says what would change."""
    return quality.import_forms(
        session=session, data=body, staff_id=principal.staff_id, dry_run=dry_run
    )


@router.post("/quality/forms/{code}/deactivate", response_model=QualityFormPublic)
def deactivate_form(code: Code, _: Admin, session: SessionDep) -> QualityFormPublic:
    """Switch a checklist off: no new reviews against it; its reviews stay."""
    return quality.deactivate_form(session=session, code=code)


@router.post(
    "/contacts/{contact_id}/quality-reviews",
    response_model=QualityReviewPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
)
def create_review(
    contact_id: Id,
    body: QualityReviewCreate,
    principal: Lead,
    session: SessionDep,
    at: WriteTimeDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A lead's scoring of a finished contact: every item of the form answered met (true),
    not met (false) or not applicable (null). The score is the weighted share of the
    applicable items met; a critical item not met makes it 0. A contact is reviewed once
    (409 `already_reviewed`); with an `Idempotency-Key` a retry answers as the first time."""
    code, payload = idempotency.run_once(
        session=session,
        principal=principal,
        key=key,
        endpoint=f"POST /contacts/{contact_id}/quality-reviews",
        payload=body,
        action=lambda: quality.create_review(
            session=session, principal=principal, contact_id=contact_id, data=body, at=at
        ),
    )
    return JSONResponse(payload, status_code=code)


@router.get("/quality/reviews", response_model=QualityReviewList)
def list_reviews(
    _: Lead,
    session: SessionDep,
    operator: Code | None = None,
    date_from: Annotated[InputDate | None, Query(alias="from")] = None,
    date_to: Annotated[InputDate | None, Query(alias="to")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> QualityReviewList:
    """Reviews of the contacts that came in during the period (local days, `to` included;
    the KPI reports count a review in its contact's period too), newest contact first, with
    the contact-quality indicator (mean score) per operator and for the centre."""
    return quality.list_reviews(
        session=session,
        operator=operator,
        date_from=date_from,
        date_to=date_to,
        offset=offset,
        limit=limit,
    )
