"""Learning from the operators: the consoles' search log, the gaps report, synonym groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.exc import IntegrityError

from ekc_core.fields import Id, InputDate
from ekc_core.kb_gaps import (
    KbGapReport,
    KbSearchEventBatch,
    KbSearchEventsResult,
    KbSynonymCreate,
    KbSynonymGroup,
    KbSynonymSet,
)
from ekc_server.deps import Admin, Lead, SessionDep, SettingsDep, Staffer
from ekc_server.error_handlers import SIGNED_IN_ERRORS
from ekc_server.services import kb_gaps
from ekc_server.write_time import WriteTimeDep

router = APIRouter(prefix="/kb", tags=["knowledge base"], responses=SIGNED_IN_ERRORS)

DateFrom = Annotated[InputDate | None, Query(alias="from", description="Первый день (ГГГГ-ММ-ДД)")]
DateTo = Annotated[InputDate | None, Query(alias="to", description="Последний день, включительно")]


@router.post("/search-events", response_model=KbSearchEventsResult)
def search_events(
    body: KbSearchEventBatch, _: Staffer, session: SessionDep, write: WriteTimeDep
) -> KbSearchEventsResult:
    """A batch of the console's settled searches (sent by its outbox). Idempotent by
    `event_id`: a batch sent again stores nothing twice. Queries are scrubbed of personal
    data here as well as in the console (see `ekc_core.kb_gaps`)."""
    result = kb_gaps.record_events(session=session, batch=body, write=write)
    try:
        session.commit()
    except IntegrityError:  # the same batch arrived twice at once: the other one stored it
        session.rollback()
        result = kb_gaps.record_events(session=session, batch=body, write=write)
        session.commit()
    return result


@router.get("/gaps", response_model=KbGapReport)
def gaps(
    _: Lead,
    session: SessionDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Annotated[int, Query(ge=1, le=kb_gaps.GAPS_LIMIT)] = 100,
) -> KbGapReport:
    """Searches that found nothing or where nothing was opened, grouped and counted, with
    the articles opened after rephrasing in the same session (leads and admins).

    `to` defaults to today, `from` to 366 days before `to`; a longer or backwards period:
    422 naming `from`/`to`."""
    return kb_gaps.gaps(session=session, date_from=date_from, date_to=date_to, limit=limit)


def _seeded(session: SessionDep, settings: SettingsDep) -> None:
    if kb_gaps.seed(session=session, path=settings.reference_dir / "kb" / "synonyms.txt"):
        session.commit()


def _apply(request: Request, session: SessionDep) -> None:
    """This process's search takes the new groups and rules at once (query-time, no
    reindex); other workers within `kb_search.SYNONYMS_CHECK_SECONDS`."""
    request.app.state.kb_index.catch_up(session)
    request.app.state.kb_index.sync_synonyms(session, force=True)


@router.get("/synonyms", response_model=KbSynonymSet)
def synonyms(
    _: Staffer,
    session: SessionDep,
    settings: SettingsDep,
    known: Annotated[str | None, Query(max_length=64, description="Версия, что уже есть")] = None,
    rules: Annotated[
        bool, Query(description="С правилами в одну сторону (группы с `means`)")
    ] = False,
) -> KbSynonymSet:
    """The synonym groups consoles expand queries with, and with `rules` the one-way rules
    (`means`) too; `known` = the caller's version answers only `unchanged` when nothing
    changed."""
    _seeded(session, settings)
    return kb_gaps.synonym_set(session=session, known=known, rules=rules)


@router.post("/synonyms", response_model=KbSynonymGroup, status_code=201)
def add_synonyms(
    body: KbSynonymCreate,
    _: Admin,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> KbSynonymGroup:
    _seeded(session, settings)
    group = kb_gaps.add_synonyms(session=session, data=body)
    session.commit()
    _apply(request, session)
    return group


@router.delete("/synonyms/{group_id}", response_model=KbSynonymGroup)
def remove_synonyms(
    group_id: Id, _: Admin, session: SessionDep, settings: SettingsDep, request: Request
) -> KbSynonymGroup:
    _seeded(session, settings)
    group = kb_gaps.remove_synonyms(session=session, group_id=group_id)
    session.commit()
    _apply(request, session)
    return group
