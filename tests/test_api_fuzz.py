"""Schema-driven fuzzing of every operation of the OpenAPI (schemathesis), in-process.

As an admin, every operation is sent its examples, boundary values (the coverage phase: huge
numbers, NUL and other control characters, calendar edges, missing, extra and wrongly typed
fields) and random valid and invalid input; as an operator, a few valid random cases. A 5xx,
a status code the OpenAPI does not document, or a body, header or content type that does not
match the documented response fails the test. All cases of a backend share one database.

Generation is derandomized (the same cases on every run) and bounded: `EKC_FUZZ_EXAMPLES`
random cases per operation and mode (default 12). A deeper search: `EKC_FUZZ_EXAMPLES=100`;
other cases: `EKC_FUZZ_SEED=…`. Run alone: `pytest -m fuzz`. With `EKC_TEST_DATABASE_URL=…`
it fuzzes PostgreSQL only, `EKC_FUZZ_BOTH=1` both databases.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi
from sqlalchemy import Engine, create_engine
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_core.settings import ServerSettings
from ekc_server.app import create_app
from ekc_server.db import create_db_engine, session_scope
from ekc_server.models import ApiToken, Office, Staff
from ekc_server.security import SESSION_PREFIX, new_token, token_digest
from ekc_server.services.reference import seed_reference
from tests.conftest import BACKENDS, DATA_DIR, _truncate_all

pytestmark = pytest.mark.fuzz

#: random cases per operation and mode (valid, invalid) on top of the boundary values
EXAMPLES = int(os.environ.get("EKC_FUZZ_EXAMPLES", "12"))
#: valid random cases per operation in the operator's pass (mostly 403s and their own data)
OPERATOR_EXAMPLES = 4
#: the seed of the derandomized generation (another one explores other cases)
SEED = int(os.environ.get("EKC_FUZZ_SEED", "122"))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


#: the sign-in dependency's `X-Workstation` header is the same parameter of every operation:
#: fuzzed on this one only (on all of them it would be a tenth of the cases)
WORKSTATION_FUZZED_ON = ("/api/v1/me", "get")


def _openapi() -> dict[str, Any]:
    """The OpenAPI document of the app (built without a database)."""
    folder = Path(tempfile.mkdtemp(prefix="ekc-fuzz-"))
    try:
        app = create_app(
            ServerSettings(data_dir=folder, database_url="sqlite://"),
            engine=create_engine("sqlite://"),
        )
        document = app.openapi()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (path, method) != WORKSTATION_FUZZED_ON:
                operation["parameters"] = [
                    p for p in operation.get("parameters", []) if p["name"] != "x-workstation"
                ]
    return document


def _config(*, examples: int, full: bool) -> schemathesis.Config:
    """Derandomized generation; `full`: valid and invalid input, examples and boundary values
    (the coverage phase), else only a few valid random cases."""
    phases: dict[str, Any] = {"stateful": {"enabled": False}}
    if full:
        # undocumented methods answer 405 before any of our code (tested on its own)
        phases["coverage"] = {"unexpected-methods": []}
    else:
        phases["coverage"] = phases["examples"] = {"enabled": False}
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": f"http://{asgi.HOST}",
            "generation": {
                "mode": "all" if full else "positive",
                "max-examples": examples,
                "deterministic": True,
                "allow-x00": True,
                # the token is sent by the test (each case would repeat a valid one)
                "with-security-parameters": False,
            },
            "phases": phases,
        }
    )


OPENAPI = _openapi()
as_admin = schemathesis.openapi.from_dict(OPENAPI, config=_config(examples=EXAMPLES, full=True))
as_operator = schemathesis.openapi.from_dict(
    OPENAPI, config=_config(examples=OPERATOR_EXAMPLES, full=False)
)


@dataclass
class Target:
    sender: Any
    """schemathesis' in-process client of the app"""
    engine: Engine
    tokens: dict[Role, str]

    def headers(self, case: Case[Any], role: Role) -> dict[str, str]:
        token = self.tokens[role]
        if case.path.endswith("/auth/logout"):  # revokes the token it is sent with: a spare one
            token = _new_token(self.engine, role)
        return {"Authorization": f"Bearer {token}"}


def _new_token(engine: Engine, role: Role) -> str:
    """A session token of the fuzzer's account with `role` (created on first use)."""
    username = f"fuzz-{role.value}"
    token = new_token(SESSION_PREFIX)
    with Session(engine) as session:
        staff = session.exec(select(Staff).where(Staff.username == username)).first()
        if staff is None:
            office = session.exec(select(Office).where(Office.code == "ekc_irkutsk")).first()
            staff = Staff(
                username=username,
                full_name=f"Фаззер {role.value}",
                role=role.value,
                office_id=office.id if office else None,
                skills=["svo", "housing"],
            )
            session.add(staff)
            session.flush()
        assert staff.id is not None
        session.add(
            ApiToken(staff_id=staff.id, kind="session", name="fuzz", token_hash=token_digest(token))
        )
        session.commit()
    return token


#: one database is fuzzed (CI time): PostgreSQL when the run has it (the stricter one: NUL,
#: int4 keys, foreign keys), else SQLite; `EKC_FUZZ_BOTH=1` fuzzes both. The regression tests
#: of every class of 500 (test_api_no500.py) run on both databases always.
FUZZ_BACKENDS = (
    BACKENDS
    if os.environ.get("EKC_FUZZ_BOTH") == "1" or not os.environ.get("EKC_TEST_DATABASE_URL")
    else BACKENDS[1:]
)


@pytest.fixture(scope="module", params=FUZZ_BACKENDS)
def fuzz_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """One database and app per backend for the whole module (the fuzzer's cases share it)."""
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, folder / "ekc.db")
        url = f"sqlite:///{folder / 'ekc.db'}"
    else:
        url = request.getfixturevalue("pg_migrated")
    engine = create_db_engine(url)
    if request.param != "sqlite":
        _truncate_all(engine)
        with session_scope(engine) as session:
            seed_reference(session=session, data_dir=DATA_DIR)
    tokens = {role: _new_token(engine, role) for role in (Role.admin, Role.operator)}
    settings = ServerSettings(data_dir=folder, database_url=url, reference_dir=DATA_DIR)
    app = create_app(settings, engine=engine)
    with TestClient(app):  # runs the lifespan
        sender = asgi.get_client(app)  # type: ignore[arg-type]  # (a narrower ASGI alias)
        yield Target(sender, engine, tokens)
    engine.dispose()


#: Hypothesis seeds the global `random` the same way before every example; the knowledge-base
#: index (Whoosh) names its segments with it, so the same name would come back on every call
_CALLS = itertools.count()


def _send(case: Case[Any], target: Target, role: Role) -> None:
    # keep slow operations fast: no long-poll wait, a short solver run
    if case.path.endswith("/contacts/offers") and isinstance(case.query, dict):
        case.query["wait"] = 0
    if case.path.endswith("/generate") and isinstance(case.body, dict):
        case.body["time_limit_seconds"] = 0.5
    if case.path.endswith("/staff/import") and isinstance(case.body, dict):
        rows = case.body.get("rows")
        if isinstance(rows, list):  # each password costs an argon2 hash (POST /staff has them)
            for row in rows:
                if isinstance(row, dict):
                    row.pop("password", None)
    random.seed(next(_CALLS))
    case.call_and_validate(session=target.sender, headers=target.headers(case, role), checks=CHECKS)


@as_admin.parametrize()
def test_api_fuzz(case: Case[Any], fuzz_target: Target) -> None:
    _send(case, fuzz_target, Role.admin)


@as_operator.parametrize()
def test_api_fuzz_as_operator(case: Case[Any], fuzz_target: Target) -> None:
    _send(case, fuzz_target, Role.operator)
