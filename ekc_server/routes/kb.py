"""Knowledge base: imports, batches, rollback, history, change feed, export, search."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from ekc_core import kb_feed
from ekc_core.enums import Role
from ekc_core.fields import Code, Id, Offset, Text
from ekc_core.memory import release_memory
from ekc_core.schemas import (
    KbArticlePublic,
    KbBatchPublic,
    KbChanges,
    KbImportRequest,
    KbImportResult,
    KbSearchHit,
    KbSimilarRequest,
    KbStageChunk,
    KbStageCommit,
    KbStageOpen,
    KbStagePublic,
    KbVersionPublic,
)
from ekc_server.deps import Admin, Principal, SessionDep, Staffer, require_roles
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS
from ekc_server.kb_search import ServerKbIndex
from ekc_server.services import kb, kb_stage
from kb_index import SearchFilters

router = APIRouter(prefix="/kb", tags=["knowledge base"], responses=SIGNED_IN_ERRORS)

Searcher = Annotated[
    Principal,
    Depends(require_roles(Role.operator, Role.shift_lead, Role.admin, Role.gateway)),
]


def _index(request: Request) -> ServerKbIndex:
    index: ServerKbIndex = request.app.state.kb_index
    return index


@router.post("/imports", response_model=KbImportResult)
def import_articles(
    body: KbImportRequest, principal: Admin, session: SessionDep, request: Request
) -> KbImportResult:
    """Diff (`dry_run`) or publish a batch of articles in one transaction (admins).

    A topic or agency may be given by code or by name (an agency also by its short name;
    case, ё/е and spacing folded). Unknown topics or agencies (with the nearest known names
    and codes), duplicate ids: 422 naming each article index and field.
    """
    result = kb.import_articles(session=session, principal=principal, request=body)
    if not body.dry_run:
        _follow(request, session, result)
    return result


#: a published batch bigger than this is indexed in the background (the answer does not wait
#: for a rebuild of the backend's index); a smaller one before the answer, so a search right
#: after it finds its articles
FOLLOW_IN_BACKGROUND_ABOVE = 500


def _follow(request: Request, session: Session, result: KbImportResult) -> None:
    """Bring the backend's index up to a published batch."""
    diff = result.diff
    if len(diff.added) + len(diff.changed) + len(diff.removed) > FOLLOW_IN_BACKGROUND_ABOVE:
        # the start-up thread's job (catch up, one search), tracked for shutdown like it
        _index(request).start_warming(request.app.state.engine)
    else:
        _index(request).catch_up(session)


@router.post("/imports/staged", response_model=KbStagePublic, status_code=201)
def open_stage(body: KbStageOpen, principal: Admin, session: SessionDep) -> KbStagePublic:
    """Open a staged import (admins): a big file is sent in chunks (`…/articles`), and one
    `…/commit` publishes it all in one transaction. Nothing staged is visible before that;
    a stage left open is dropped after a day."""
    return kb_stage.open_stage(session=session, principal=principal, request=body)


@router.post(
    "/imports/staged/{batch_id}/articles", response_model=KbStagePublic, responses=CONFLICT
)
def stage_articles(
    batch_id: Id, body: KbStageChunk, _: Admin, session: SessionDep
) -> KbStagePublic:
    """Append a chunk (at most 5,000 articles). 422 names each refused article by its index
    in the chunk (unknown topic or agency with the nearest names, an id staged before);
    409 when `offset` is not the number staged so far or the batch is not staging."""
    return kb_stage.append(session=session, batch_id=batch_id, request=body)


@router.post("/imports/staged/{batch_id}/commit", response_model=KbImportResult, responses=CONFLICT)
def commit_stage(
    batch_id: Id,
    body: KbStageCommit,
    principal: Admin,
    session: SessionDep,
    request: Request,
    after: BackgroundTasks,
) -> KbImportResult:
    """`dry_run`: the difference (the stage stays open). Otherwise publish every staged
    article in one transaction; the backend's index follows in the background."""
    result = kb_stage.commit(session=session, principal=principal, batch_id=batch_id, request=body)
    after.add_task(release_memory)  # once the answer (a diff of every article) is sent
    if not body.dry_run:
        _follow(request, session, result)
    return result


@router.delete("/imports/staged/{batch_id}", status_code=204, responses=CONFLICT)
def discard_stage(batch_id: Id, _: Admin, session: SessionDep) -> Response:
    """Drop a staged import and everything staged in it (nothing was published)."""
    kb_stage.discard(session=session, batch_id=batch_id)
    return Response(status_code=204)


@router.get("/batches", response_model=list[KbBatchPublic])
def batches(
    _: Admin, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[KbBatchPublic]:
    return kb.list_batches(session=session, limit=limit)


@router.post("/batches/{batch_id}/rollback", response_model=KbBatchPublic, responses=CONFLICT)
def rollback(
    batch_id: Id, principal: Admin, session: SessionDep, request: Request
) -> KbBatchPublic:
    """Restore what a batch changed; 409 when later changes touched the same articles."""
    result = kb.rollback(session=session, principal=principal, batch_id=batch_id)
    _index(request).catch_up(session)  # a rollback touches one batch's articles
    return result


@router.get("/articles/{article_id}", response_model=KbArticlePublic)
def article(article_id: Code, _: Searcher, session: SessionDep) -> KbArticlePublic:
    return kb.get_article(session=session, article_id=article_id)


@router.get("/articles/{article_id}/history", response_model=list[KbVersionPublic])
def history(article_id: Code, _: Staffer, session: SessionDep) -> list[KbVersionPublic]:
    """Every version, newest first: who, when, from which batch, what it said."""
    return kb.history(session=session, article_id=article_id)


@router.get("/changes", response_model=KbChanges)
def changes(
    _: Staffer,
    session: SessionDep,
    since: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> KbChanges:
    """The change feed a console syncs its local index from (gzip on the wire)."""
    return kb.changes(session=session, since=since, limit=limit)


@router.get(
    "/feed",
    response_class=Response,
    responses={
        200: {
            "description": "The change feed in the console's compact form: xz-compressed "
            "NDJSON (see `ekc_core.kb_feed`): a page line, then one article array per line",
            "content": {kb_feed.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def feed(
    _: Staffer,
    session: SessionDep,
    since: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response:
    """The same changes as `/changes`, in a lean compressed form for consoles on thin
    links: only what a local index needs (no versions, positions or times), xz."""
    page = kb.changes(session=session, since=since, limit=limit)
    body = kb_feed.encode(
        kb_feed.page_of(
            since=page.since,
            next_since=page.next_since,
            more=page.more,
            reset=page.reset,
            deletions=page.deletions,
            upserts=(a.model_dump(include=set(kb_feed.FIELDS)) for a in page.upserts),
        )
    )
    # `identity`: compressed already, the gzip middleware leaves it as it is
    return Response(body, media_type=kb_feed.MEDIA_TYPE, headers={"Content-Encoding": "identity"})


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One JSON article per line",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
def export(_: Admin, session: SessionDep) -> StreamingResponse:
    """The whole knowledge base as JSON Lines (one article per line)."""

    def lines() -> Iterator[bytes]:
        for a in kb.export(session=session):
            yield (json.dumps(a.model_dump(mode="json"), ensure_ascii=False) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/search", response_model=list[KbSearchHit])
def search(
    _: Searcher,
    session: SessionDep,
    request: Request,
    q: Annotated[Text, Query(min_length=1, max_length=500)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    topic: Code | None = None,
    agency: Code | None = None,
    audience: Code | None = None,
    prefix: bool = False,
) -> list[KbSearchHit]:
    """Search the backend's index (for chat bots and the voice assistant)."""
    return _index(request).search(
        session,
        q,
        limit=limit,
        filters=SearchFilters(topic=topic, agency=agency, audience=audience),
        as_you_type=prefix,
    )


@router.post("/similar", response_model=list[KbSearchHit])
def similar(
    body: KbSimilarRequest, _: Searcher, session: SessionDep, request: Request
) -> list[KbSearchHit]:
    """Articles that fit a free text: the voice assistant's transcript or an appeal summary."""
    return _index(request).similar(
        session,
        body.text,
        limit=body.limit,
        filters=SearchFilters(topic=body.topic, audience=body.audience),
    )


@router.post("/reindex", status_code=status.HTTP_200_OK)
def reindex(_: Admin, session: SessionDep, request: Request) -> dict[str, int]:
    """Rebuild the backend's index from the database."""
    return {"articles": _index(request).rebuild(session)}
