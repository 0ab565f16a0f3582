"""The FastAPI application factory: `create_app(settings)`; no app is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from sqlalchemy import Engine, text
from starlette.middleware.gzip import GZipMiddleware

from ekc_core import __version__
from ekc_core.settings import ServerSettings
from ekc_server.clock import system_clock
from ekc_server.db import create_db_engine
from ekc_server.error_handlers import install_error_handlers
from ekc_server.kb_search import ServerKbIndex
from ekc_server.middleware import LoadLimitsMiddleware
from ekc_server.routes import (
    agents,
    appeals,
    auth,
    callbacks,
    citizens,
    contacts,
    feedback,
    kb,
    quality,
    reference,
    reports,
    rosters,
    routing,
    shifts,
    staff,
    staffing,
    transfers,
    wallboard,
)
from ekc_server.routes import kb_gaps as kb_gaps_routes
from ekc_server.routes import topic_models as topic_model_routes
from ekc_server.services import housekeeping

log = logging.getLogger("ekc_server")

API_PREFIX = "/api/v1"
#: seconds shutdown waits for the start-up KB index build before closing the index anyway
KB_WARM_SHUTDOWN_WAIT = 30.0


def create_app(settings: ServerSettings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app for `settings`; pass `engine` to share one (tests)."""
    settings = settings or ServerSettings()
    own_engine = engine is None
    db_engine = engine or create_db_engine(
        settings.effective_database_url(),
        pool_size=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # the KB index is opened (or built) now, in the background, not by the first search
        kb_index: ServerKbIndex = app.state.kb_index
        kb_index.start_warming(db_engine)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(housekeeping.run_periodically, db_engine, settings)
            yield
            tasks.cancel_scope.cancel()
        if not await anyio.to_thread.run_sync(kb_index.wait_warm, KB_WARM_SHUTDOWN_WAIT):
            log.warning("KB index still building at shutdown; closing anyway")
        kb_index.close()
        if own_engine:
            db_engine.dispose()

    app = FastAPI(
        title="ЕКЦ 122 — API",
        version=__version__,
        summary="Central backend of the Irkutsk region government contact centre (line 122).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = db_engine
    app.state.clock = system_clock  # routing's "now" (`ekc_server.clock`: tests move it)
    app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_minimum_size)
    app.add_middleware(
        LoadLimitsMiddleware,
        max_body_bytes=settings.max_body_bytes,
        route_body_bytes={("POST", f"{API_PREFIX}/kb/imports"): settings.max_kb_import_bytes},
        retry_after=settings.busy_retry_after,
    )

    app.state.kb_index = ServerKbIndex(
        settings.data_dir / "kb-index",
        settings.reference_dir / "kb" / "synonyms.txt",
        engine=db_engine,
    )
    routers = (
        *(auth, reference, citizens, contacts, appeals, callbacks, kb),
        *(staff, shifts, staffing, rosters),
        *(reports, feedback, quality, agents, wallboard, routing, transfers),
    )
    for module in routers:
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(kb_gaps_routes.router, prefix=API_PREFIX)  # issue 13: learning loop
    app.include_router(topic_model_routes.router, prefix=API_PREFIX)  # issue 14: topic model

    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness and database reachability (for a load balancer)."""
        with db_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    install_error_handlers(app)
    return app
