"""Shared fixtures: a migrated database per test (SQLite always, PostgreSQL when
`EKC_TEST_DATABASE_URL` is set), the real ASGI app, and staff with tokens per role."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel, select

from ekc_core.enums import Role
from ekc_core.settings import ServerSettings, default_reference_dir
from ekc_server import migrate
from ekc_server.app import create_app
from ekc_server.db import create_db_engine, session_scope
from ekc_server.models import ApiToken, Office, Staff
from ekc_server.security import SESSION_PREFIX, hash_password, new_token, token_digest
from ekc_server.services.reference import seed_reference

#: the console tests' backend fixture (one server per module)
pytest_plugins = ["tests.tui_support"]

PG_URL = os.environ.get("EKC_TEST_DATABASE_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not PG_URL, reason="EKC_TEST_DATABASE_URL is not set"),
    ),
]

DATA_DIR = default_reference_dir()
TEST_PASSWORD = "test-password-122"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the reference data, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "ekc.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        seed_reference(session=session, data_dir=DATA_DIR)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    """The PostgreSQL test database, emptied and migrated once per run."""
    assert PG_URL is not None
    engine = create_db_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(PG_URL)
    return PG_URL


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database with the reference data, per test.

    A test marked `client_side` runs on SQLite only: it exercises a client (the console's
    outbox, the simulator) against the real backend, whose database layer the API tests
    already run on both databases.
    """
    if request.param != "sqlite" and request.node.get_closest_marker("client_side"):
        pytest.skip("client-side test: SQLite is enough (the API tests cover PostgreSQL)")
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "ekc.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_migrated")
    engine = create_db_engine(url)
    _truncate_all(engine)
    with session_scope(engine) as session:
        seed_reference(session=session, data_dir=DATA_DIR)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_db_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> ServerSettings:
    return ServerSettings(data_dir=tmp_path, database_url=db_url, reference_dir=DATA_DIR)


@pytest.fixture
def client(settings: ServerSettings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as test_client:
        yield test_client


@dataclass
class StaffAccount:
    id: int
    username: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Workstation": f"ws-{self.username}"}


MakeStaff = Callable[..., StaffAccount]


@pytest.fixture
def make_staff(engine: Engine) -> MakeStaff:
    """Create a staff account with a session token (no argon2 cost unless a password is asked)."""
    counter = iter(range(1, 10_000))

    def make(
        role: Role = Role.operator,
        *,
        username: str | None = None,
        skills: list[str] | None = None,
        password: str | None = None,
    ) -> StaffAccount:
        name = username or f"{role.value}{next(counter)}"
        token = new_token(SESSION_PREFIX)
        with Session(engine) as session:
            office = session.exec(select(Office).where(Office.code == "ekc_irkutsk")).first()
            staff = Staff(
                username=name,
                full_name=f"Тестовый {name}",
                role=role.value,
                office_id=office.id if office else None,
                skills=skills if skills is not None else ["svo", "housing"],
                password_hash=hash_password(password) if password else None,
            )
            session.add(staff)
            session.flush()
            assert staff.id is not None
            session.add(
                ApiToken(
                    staff_id=staff.id, kind="session", name="test", token_hash=token_digest(token)
                )
            )
            session.commit()
            return StaffAccount(id=staff.id, username=name, role=role, token=token)

    return make


@pytest.fixture
def operator(make_staff: MakeStaff) -> StaffAccount:
    return make_staff(Role.operator, username="operator")


@pytest.fixture
def lead(make_staff: MakeStaff) -> StaffAccount:
    return make_staff(Role.shift_lead, username="lead")


@pytest.fixture
def admin(make_staff: MakeStaff) -> StaffAccount:
    return make_staff(Role.admin, username="admin")


@pytest.fixture
def gateway(make_staff: MakeStaff) -> StaffAccount:
    return make_staff(Role.gateway, username="telephony", skills=[])


@pytest.fixture
def live_server(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The real backend (uvicorn in a subprocess) on a free loopback port."""
    from ekc_core.localserver import running_server

    with running_server(db_url, tmp_path) as url:
        yield url
