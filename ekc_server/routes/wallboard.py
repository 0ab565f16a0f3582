"""The shift lead's live wallboard as a long poll (`GET /wallboard`)."""

from __future__ import annotations

import time
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ekc_core.fields import Text
from ekc_core.wallboard import Wallboard
from ekc_server.deps import Lead, SessionDep
from ekc_server.error_handlers import SIGNED_IN_ERRORS
from ekc_server.routes.contacts import _etag_version
from ekc_server.services.wallboard import BoardCache, wire

router = APIRouter(tags=["wallboard"], responses=SIGNED_IN_ERRORS)

#: how often a waiting poll looks for a change (a fingerprint query, shared by the polls)
POLL_SECONDS = 1.0


def board_cache(request: Request) -> BoardCache:
    """The process's board cache (made on first use, one per app)."""
    state = request.app.state
    cache: BoardCache | None = getattr(state, "wallboard_cache", None)
    if cache is None:
        cache = state.wallboard_cache = BoardCache(state.engine, state.settings.kpi_params())
    return cache


@router.get(
    "/wallboard",
    response_model=Wallboard,
    responses={
        304: {
            "description": "`If-None-Match` named the current version and nothing changed "
            "while waiting: no body (the `ETag` header repeats it)"
        }
    },
)
async def wallboard(
    request: Request,
    _: Lead,
    session: SessionDep,
    wait: Annotated[float, Query(ge=0, le=30, description="seconds to wait for a change")] = 25.0,
    if_none_match: Annotated[
        Text | None,
        Header(max_length=80, description="the version the client shows, as an ETag"),
    ] = None,
) -> Response:
    """The live wallboard: calls waiting per line and the oldest, written messages waiting,
    service level today and in the last 30 minutes against 80/20, callbacks due and overdue,
    appeals due today, and every operator signed in with what they do and since when.

    A long poll: with `If-None-Match: "<version>"` it waits up to `wait` seconds for the
    board to change and answers `304` without a body when it did not. No database
    connection is held while waiting; the board is computed once per change for all the
    leads watching. Times are points in time (the console ticks the clocks itself)."""
    shown = _etag_version(if_none_match)
    await run_in_threadpool(session.close)  # the sign-in check is done
    cache = board_cache(request)
    deadline = time.monotonic() + wait
    board = await run_in_threadpool(cache.current)
    while shown is not None and board.version == shown:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or await request.is_disconnected():
            break
        await anyio.sleep(min(POLL_SECONDS, remaining))
        board = await run_in_threadpool(cache.current)
    etag = {"ETag": f'"{board.version}"'}
    if shown is not None and board.version == shown:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=etag)
    return JSONResponse(wire(board), headers=etag)
