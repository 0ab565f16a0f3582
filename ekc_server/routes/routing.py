"""The routing table (issue 14): everyone signed in reads it, admins import new versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ekc_core.routing_wire import (
    RoutingChange,
    RoutingImport,
    RoutingPublic,
    RoutingVersionPublic,
)
from ekc_server.deps import Admin, SessionDep, Staffer
from ekc_server.error_handlers import CONFLICT, SIGNED_IN_ERRORS, error_responses
from ekc_server.services import routing

router = APIRouter(prefix="/routing", tags=["routing"], responses=SIGNED_IN_ERRORS)


@router.get("", response_model=RoutingPublic, responses=error_responses(404))
def current(
    _: Staffer,
    session: SessionDep,
    version: Annotated[
        int | None, Query(ge=0, le=1_000_000, description="Версия (0 — из поставки)")
    ] = None,
) -> RoutingPublic:
    """The routing table in force (groups, overflow, topic → group), or an older version."""
    return routing.current(session=session, version=version)


@router.get("/versions", response_model=list[RoutingVersionPublic])
def versions(_: Staffer, session: SessionDep) -> list[RoutingVersionPublic]:
    """Every imported version, newest first: who imported which file when."""
    return routing.versions(session=session)


@router.post("", response_model=RoutingPublic, responses=CONFLICT)
def import_table(body: RoutingImport, principal: Admin, session: SessionDep) -> RoutingPublic:
    """A new version of the routing file (admins). Every problem of the file at once: 422
    with one `file:line: field: reason` per problem, nothing stored. `dry_run` checks only."""
    result = routing.import_table(session=session, principal=principal, body=body)
    session.commit()
    return result


@router.patch("", response_model=RoutingPublic, responses=CONFLICT)
def change_table(body: RoutingChange, principal: Admin, session: SessionDep) -> RoutingPublic:
    """Change the table in force without a file (admins): topics to another group (or back
    to the topic tree's), a group's overflow steps for every line or one line. Stored as the
    next version like an import; 422 with `field: reason` per problem, nothing stored; 409
    when `base_version` is not the version in force. `dry_run` checks only."""
    result = routing.change_table(session=session, principal=principal, body=body)
    session.commit()
    return result
