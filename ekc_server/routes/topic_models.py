"""The topic classifier (issue 14, point 2): admins retrain it and list its versions; leads
and admins try a text."""

from __future__ import annotations

from fastapi import APIRouter

from ekc_core.topic_wire import GuessRequest, RetrainResult, TopicGuessPublic, TopicModelPublic
from ekc_server.deps import Admin, Lead, SessionDep, SettingsDep
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.services import topic_models

router = APIRouter(prefix="/routing", tags=["routing"], responses=SIGNED_IN_ERRORS)


@router.post("/retrain", response_model=RetrainResult, responses=CONFLICT)
def retrain(principal: Admin, session: SessionDep, settings: SettingsDep) -> RetrainResult:
    """Train a new version from the knowledge base and past contacts, score it on the
    hold-out and the dev set; it becomes the model in force only if it scores at least as
    well on the hold-out as the active one (else kept, inactive, with the reason)."""
    result = topic_models.retrain(
        session=session, actor=principal.staff_id, data_dir=settings.reference_dir
    )
    session.commit()
    return result


@router.get("/models", response_model=list[TopicModelPublic])
def models(_: Admin, session: SessionDep) -> list[TopicModelPublic]:
    """Every version of the topic classifier with its scores, newest first."""
    return topic_models.models(session=session)


@router.post("/guess", response_model=TopicGuessPublic, responses=CONFLICT)
def guess(body: GuessRequest, _: Lead, session: SessionDep) -> TopicGuessPublic:
    """The topic and group the model in force gives a text (409 while there is no model)."""
    return topic_models.try_guess(session=session, text=body.text)
