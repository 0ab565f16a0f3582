"""Who may call what: every operation of the OpenAPI × (anonymous, operator, shift lead, admin,
gateway), on SQLite and PostgreSQL.

`MATRIX` states each cell: `401` (no token), `403` (the role may not), `ok` (the role passes
the authorization layer: any answer but 401/403, and never a 5xx). Requests carry harmless
dummies (unknown ids, `{}` bodies), so an allowed cell mostly answers 404 or 422: the point
is the role check, which FastAPI runs (as a dependency) before it validates the path, query
and body. An operation without a row fails the test: a new route must say who may call it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from ekc_core.enums import Role
from ekc_core.settings import ServerSettings
from ekc_server.app import create_app
from ekc_server.models import ApiToken
from ekc_server.security import SESSION_PREFIX, new_token, token_digest

COLUMNS = ("anonymous", Role.operator, Role.shift_lead, Role.admin, Role.gateway)

# method  path (under /api/v1 unless absolute)     anon  oper  lead  admin gateway
MATRIX = """
POST    /auth/token                                 ok    ok    ok    ok    ok
POST    /auth/logout                                401   ok    ok    ok    ok
GET     /me                                         401   ok    ok    ok    ok
GET     /tokens                                     401   ok    ok    ok    ok
POST    /tokens                                     401   403   403   ok    403
DELETE  /tokens/{token_id}                          401   ok    ok    ok    ok
GET     /topics                                     401   ok    ok    ok    ok
POST    /topics                                     401   403   403   ok    403
PATCH   /topics/{topic_id}                          401   403   403   ok    403
GET     /agencies                                   401   ok    ok    ok    ok
GET     /offices                                    401   ok    ok    ok    ok
GET     /deadline-rules                             401   ok    ok    ok    ok
GET     /citizens                                   401   ok    ok    ok    403
POST    /citizens                                   401   ok    ok    ok    403
GET     /citizens/{citizen_id}                      401   ok    ok    ok    403
PATCH   /citizens/{citizen_id}                      401   ok    ok    ok    403
POST    /citizens/{citizen_id}/merge                401   403   ok    ok    403
POST    /citizens/{citizen_id}/anonymise            401   403   403   ok    403
GET     /citizens/{citizen_id}/history              401   ok    ok    ok    403
GET     /audit                                      401   403   403   ok    403
POST    /contacts                                   401   ok    ok    ok    ok
GET     /contacts/queue                             401   ok    ok    ok    403
GET     /contacts/offers                            401   ok    ok    ok    403
POST    /contacts/manual                            401   ok    ok    ok    403
GET     /contacts/{contact_id}                      401   ok    ok    ok    403
POST    /contacts/{contact_id}/claim                401   ok    ok    ok    403
POST    /contacts/{contact_id}/take                 401   ok    ok    ok    403
POST    /contacts/{contact_id}/end                  401   ok    ok    ok    403
POST    /contacts/{contact_id}/wrapup               401   ok    ok    ok    403
POST    /contacts/{contact_id}/save                 401   ok    ok    ok    403
POST    /contacts/{contact_id}/abandon              401   403   ok    ok    ok
POST    /contacts/{contact_id}/hangup               401   403   ok    ok    ok
POST    /contacts/{contact_id}/close                401   ok    ok    ok    403
POST    /contacts/{contact_id}/transfer             401   ok    ok    ok    403
GET     /contacts/{contact_id}/events               401   ok    ok    ok    403
GET     /contacts/mine                              401   ok    ok    ok    403
POST    /contacts/outbound                          401   ok    ok    ok    403
POST    /appeals                                    401   ok    ok    ok    403
GET     /appeals                                    401   ok    ok    ok    403
GET     /appeals/{appeal_id}                        401   ok    ok    ok    403
POST    /appeals/{appeal_id}/events                 401   ok    ok    ok    403
GET     /callbacks                                  401   ok    ok    ok    403
POST    /callbacks                                  401   ok    ok    ok    403
GET     /callbacks/{task_id}                        401   ok    ok    ok    403
POST    /callbacks/{task_id}/attempts               401   ok    ok    ok    403
POST    /kb/imports                                 401   403   403   ok    403
POST    /kb/imports/staged                          401   403   403   ok    403
POST    /kb/imports/staged/{batch_id}/articles      401   403   403   ok    403
POST    /kb/imports/staged/{batch_id}/commit        401   403   403   ok    403
DELETE  /kb/imports/staged/{batch_id}               401   403   403   ok    403
GET     /kb/batches                                 401   403   403   ok    403
POST    /kb/batches/{batch_id}/rollback             401   403   403   ok    403
GET     /kb/articles/{article_id}                   401   ok    ok    ok    ok
GET     /kb/articles/{article_id}/history           401   ok    ok    ok    403
GET     /kb/changes                                 401   ok    ok    ok    403
GET     /kb/feed                                    401   ok    ok    ok    403
GET     /kb/export                                  401   403   403   ok    403
GET     /kb/search                                  401   ok    ok    ok    ok
POST    /kb/similar                                 401   ok    ok    ok    ok
POST    /kb/reindex                                 401   403   403   ok    403
GET     /staff                                      401   403   ok    ok    403
POST    /staff                                      401   403   403   ok    403
POST    /staff/import                               401   403   403   ok    403
GET     /staff/{username}                           401   403   ok    ok    403
PATCH   /staff/{username}                           401   403   403   ok    403
POST    /staff/{username}/deactivate                401   403   403   ok    403
GET     /shift-templates                            401   ok    ok    ok    403
POST    /shift-templates                            401   403   ok    ok    403
PATCH   /shift-templates/{code}                     401   403   ok    ok    403
GET     /absences                                   401   403   ok    ok    403
GET     /staff/{username}/absences                  401   ok    ok    ok    403
POST    /staff/{username}/absences                  401   403   ok    ok    403
DELETE  /absences/{absence_id}                      401   403   ok    ok    403
GET     /preferences                                401   ok    ok    ok    403
GET     /staff/{username}/preferences               401   ok    ok    ok    403
POST    /staff/{username}/preferences               401   ok    ok    ok    403
DELETE  /preferences/{preference_id}                401   ok    ok    ok    403
GET     /staffing/forecast                          401   403   ok    ok    403
POST    /staffing/requirements                      401   403   ok    ok    403
GET     /staffing/requirements/{month}              401   403   ok    ok    403
POST    /rosters/{month}/generate                   401   403   ok    ok    403
GET     /rosters/{month}                            401   ok    ok    ok    403
PUT     /rosters/{month}                            401   403   ok    ok    403
POST    /rosters/{month}/check                      401   403   ok    ok    403
POST    /rosters/{month}/swap                       401   403   ok    ok    403
POST    /rosters/{month}/assign                     401   403   ok    ok    403
POST    /rosters/{month}/publish                    401   403   ok    ok    403
GET     /health                                     ok    ok    ok    ok    ok
# issue 12, wallboard: operator presence and the shift lead's live wallboard
PUT     /agents/me/state                            401   ok    ok    ok    403
GET     /agents                                     401   403   ok    ok    403
GET     /wallboard                                  401   403   ok    ok    403
"""

# issue 12, part kpi: the reports (leads and admins)
MATRIX += """\
GET     /reports/kpi                                401   403   ok    ok    403
GET     /reports/operators                          401   403   ok    ok    403
GET     /reports/topics                             401   403   ok    ok    403
GET     /reports/transfers                          401   403   ok    ok    403
GET     /reports/appeals                            401   403   ok    ok    403
GET     /reports/plan-vs-fact                       401   403   ok    ok    403
"""

# issue 12, feedback: surveys and video consultations (gateways), video report, quality
MATRIX += """\
POST    /contacts/{contact_id}/survey               401   403   403   ok    ok
POST    /contacts/video                             401   403   403   ok    ok
GET     /reports/video                              401   403   ok    ok    403
GET     /quality/forms                              401   ok    ok    ok    403
GET     /quality/forms/{code}                       401   ok    ok    ok    403
POST    /quality/forms                              401   403   403   ok    403
POST    /quality/forms/{code}/deactivate            401   403   403   ok    403
POST    /contacts/{contact_id}/quality-reviews      401   403   ok    ok    403
GET     /quality/reviews                            401   403   ok    ok    403
"""

# issue 13, gaps: the consoles' search log, the gaps report (leads, admins), synonym groups
MATRIX += """\
POST    /kb/search-events                           401   ok    ok    ok    403
GET     /kb/gaps                                    401   403   ok    ok    403
GET     /kb/synonyms                                401   ok    ok    ok    403
POST    /kb/synonyms                                401   403   403   ok    403
DELETE  /kb/synonyms/{group_id}                     401   403   403   ok    403
"""

# issue 14, routing: everyone signed in reads the table, admins import versions
MATRIX += """\
GET     /routing                                    401   ok    ok    ok    403
GET     /routing/versions                           401   ok    ok    ok    403
POST    /routing                                    401   403   403   ok    403
PATCH   /routing                                    401   403   403   ok    403
# issue 14, topic classifier: admins retrain and list versions, leads and admins try a text
POST    /routing/retrain                            401   403   403   ok    403
GET     /routing/models                             401   403   403   ok    403
POST    /routing/guess                              401   403   ok    ok    403
"""

API = "/api/v1"
#: dummies for path parameters; `{username}` is the caller's own login (an operator may
#: read their own absences: the role layer is what is tested, not whose record it is)
PATH_DUMMIES = {"month": "2031-01", "code": "zz", "username": None}
UNKNOWN_ID = "999999"
#: bodies where `{}` would start real work for an allowed role: made invalid on purpose
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/rosters/{month}/generate"): {"time_limit_seconds": 0},
}


def _rows() -> dict[tuple[str, str], dict[str | Role, str]]:
    rows: dict[tuple[str, str], dict[str | Role, str]] = {}
    for line in MATRIX.strip().splitlines():
        if line.startswith("#"):  # a comment naming the part that added the rows below
            continue
        method, path, *cells = line.split()
        assert len(cells) == len(COLUMNS), line
        assert set(cells) <= {"ok", "401", "403"}, line
        assert (method, path) not in rows, f"twice: {line}"
        rows[(method, path)] = dict(zip(COLUMNS, cells, strict=True))
    return rows


ROWS = _rows()


def _operations(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            found.add((method.upper(), path.removeprefix(API)))
    return found


@pytest.fixture(scope="module")
def openapi_operations(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    settings = ServerSettings(data_dir=tmp_path_factory.mktemp("roles"), database_url="sqlite://")
    return _operations(create_app(settings))


def test_every_operation_has_a_row_and_every_row_an_operation(
    openapi_operations: set[tuple[str, str]],
) -> None:
    missing = sorted(openapi_operations - set(ROWS))
    assert not missing, f"operations without a row in MATRIX (say who may call them): {missing}"
    stale = sorted(set(ROWS) - openapi_operations)
    assert not stale, f"rows of MATRIX without an operation: {stale}"


def test_anonymous_is_401_wherever_a_role_is_needed() -> None:
    """The table itself: only sign-in and the health check are open."""
    open_ = sorted(key for key, cells in ROWS.items() if cells["anonymous"] == "ok")
    assert open_ == [("GET", "/health"), ("POST", "/auth/token")]
    assert all(c["anonymous"] in ("ok", "401") for c in ROWS.values())


def _url(path: str, username: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "username":
            return username
        return PATH_DUMMIES.get(name) or UNKNOWN_ID

    filled = re.sub(r"\{(\w+)\}", fill, path)
    return filled if path == "/health" else API + filled


def _fresh_token(engine: Engine, staff_id: int) -> str:
    """A new session token per request: a cell that signs out must not spoil the next."""
    token = new_token(SESSION_PREFIX)
    with Session(engine) as session:
        session.add(
            ApiToken(
                staff_id=staff_id, kind="session", name="matrix", token_hash=token_digest(token)
            )
        )
        session.commit()
    return token


@pytest.fixture
def lenient_client(settings: ServerSettings, engine: Engine) -> Iterator[TestClient]:
    """A 5xx comes back as a response (reported as a mismatch), not as an exception."""
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as c:
        yield c


def test_role_matrix(
    lenient_client: TestClient,
    engine: Engine,
    make_staff: Any,
    openapi_operations: set[tuple[str, str]],
) -> None:
    accounts = {role: make_staff(role, skills=[]) for role in COLUMNS if isinstance(role, Role)}
    mismatches = []
    for (method, path), cells in sorted(ROWS.items()):
        if (method, path) not in openapi_operations:
            continue  # reported by the test above
        for who, expected in cells.items():
            headers = {}
            username = "nobody"
            if isinstance(who, Role):
                account = accounts[who]
                headers["Authorization"] = f"Bearer {_fresh_token(engine, account.id)}"
                username = account.username
            body = BODIES.get((method, path), {}) if method in ("POST", "PUT", "PATCH") else None
            r = lenient_client.request(method, _url(path, username), headers=headers, json=body)
            got = r.status_code
            fine = got == int(expected) if expected != "ok" else got not in (401, 403) and got < 500
            if not fine:
                mismatches.append(f"{method} {path} as {who}: expected {expected}, got {got}")
    assert not mismatches, "\n".join(mismatches)
