"""Shared fixtures. What a new test usually wants:

- `db_url` / `engine` / `settings`: a clean, migrated database with the reference data for
  each test, on SQLite always and on PostgreSQL too when `EKC_TEST_DATABASE_URL` is set (the
  test runs once per database). SQLite is a copy of a file migrated once per run;
  PostgreSQL is migrated once per run and emptied and refilled before each test.
- `client`: the app in-process through starlette's `TestClient` (API tests).
- `live_server`: the same app served over real HTTP by uvicorn in a thread of this
  process, on a free loopback port (a URL string): for the typed `EkcClient`, `ekc-admin`
  (typer `CliRunner`) and console tests. Starts in milliseconds. In a test marked
  `integration` it is `ekc-server run` in a subprocess instead (seconds to start: keep
  those few).
- `make_staff` and `operator` / `lead` / `admin` / `gateway`: accounts with session tokens.
- Passwords: argon2id at its lowest cost in this process (see `PRODUCTION_PASSWORD_HASHER`).
- The console's module-wide backend (`backend`, `empty_queue`) is in `tests/tui_support.py`.

Markers: `client_side` runs a test on SQLite only; `integration` marks the few tests that
start `ekc-server run` in a subprocess (`pytest -m "not integration"` skips them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel, select

from ekc_core.enums import Role
from ekc_core.settings import ServerSettings, default_reference_dir
from ekc_server import migrate, security
from ekc_server.app import create_app
from ekc_server.db import create_db_engine, session_scope
from ekc_server.models import ApiToken, Office, Staff
from ekc_server.security import SESSION_PREFIX, hash_password, new_token, token_digest
from ekc_server.services.reference import seed_reference
from tests.localserver import running_server, serving

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

#: The backend's argon2id hasher as shipped. In this process passwords are hashed and
#: checked with argon2id at its lowest cost instead: at the shipped cost every hash and
#: every sign-in costs ~0.4 s of CPU on this machine, and the suite signs in hundreds of
#: times. A hash carries its own parameters, so hashes made here verify anywhere; servers
#: started with `ekc-server run` (`integration`) keep the shipped cost, and
#: `test_security.py` checks it.
PRODUCTION_PASSWORD_HASHER = security._hasher
security._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


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


def _pg_database_of_this_worker(url: str) -> str:
    """`url` itself, or under pytest-xdist a database of this worker's own beside it
    (`<name>_gw0`, created when missing): workers must not empty each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    # the maintenance database: the named one need not exist (only the workers' are used)
    admin = create_engine(
        base.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as conn:
        known = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if known.first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    """The PostgreSQL test database, emptied and migrated once per run; its URL."""
    assert PG_URL is not None
    url = _pg_database_of_this_worker(PG_URL)
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(url)
    return url


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@dataclass
class PgBaseline:
    """The rows of a freshly seeded PostgreSQL database, put back before each test."""

    url: str
    engine: Engine
    rows: dict[str, list[dict[str, Any]]]
    sequences: list[tuple[str, str, str]]
    """(table, column, sequence) of every serial column."""

    superuser: bool
    """May switch off foreign-key triggers for a transaction (`session_replication_role`)."""

    def restore(self) -> None:
        """Every table as right after `TRUNCATE … RESTART IDENTITY` and `seed_reference`,
        in one transaction: the seeded rows inserted again and every sequence set to go on
        after them. As a superuser the tables are emptied with DELETE with the foreign-key
        triggers off (contacts and appeals refer to each other): much cheaper than
        TRUNCATE, which makes new files for ~40 tables; otherwise with TRUNCATE."""
        tables = SQLModel.metadata.sorted_tables
        with self.engine.begin() as conn:
            if self.superuser:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for table in reversed(tables):
                    conn.execute(table.delete())
            else:
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} CASCADE"))
            for table in tables:
                if rows := self.rows[table.name]:
                    conn.execute(table.insert(), rows)
            for table_name, column, sequence in self.sequences:
                conn.execute(
                    text(
                        f"SELECT setval('{sequence}', "
                        f'COALESCE((SELECT max("{column}") FROM "{table_name}"), 0) + 1, false)'
                    )
                )


@pytest.fixture(scope="session")
def pg_baseline(pg_migrated: str) -> Iterator[PgBaseline]:
    """The PostgreSQL test database seeded once per run, and what to put back per test."""
    # no pool: a test may terminate every connection to the database (test_load_limits)
    engine = create_engine(make_url(pg_migrated), poolclass=NullPool)
    _truncate_all(engine)
    with session_scope(engine) as session:
        seed_reference(session=session, data_dir=DATA_DIR)
    with engine.connect() as conn:
        rows = {
            table.name: [dict(row._mapping) for row in conn.execute(table.select())]
            for table in SQLModel.metadata.sorted_tables
        }
        serial = text(
            "SELECT table_name, column_name, pg_get_serial_sequence("
            "format('%I.%I', table_schema, table_name), column_name) "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')"
        )
        sequences = [(str(t), str(c), str(q)) for t, c, q in conn.execute(serial) if q]
        is_superuser = text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = bool(conn.execute(is_superuser).scalar())
    yield PgBaseline(pg_migrated, engine, rows, sequences, superuser)
    engine.dispose()


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
    baseline: PgBaseline = request.getfixturevalue("pg_baseline")
    baseline.restore()
    return baseline.url


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
                # in the general group too: offered at once what comes without a topic
                skills=skills if skills is not None else ["svo", "housing", "general"],
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
def live_server(
    request: pytest.FixtureRequest, db_url: str, settings: ServerSettings
) -> Iterator[str]:
    """The backend over real HTTP on a free loopback port; yields its base URL.

    By default `create_app(settings)` on this test's database, served by uvicorn in a thread
    of this process (starts in milliseconds); the app owns its engine and runs its lifespan
    as under `ekc-server run`; use the `engine` fixture to look into the database beside it.
    In a test marked `integration` it is `ekc-server run` in a subprocess instead (its
    command line, migrations at start, `ekc_server.asgi`; seconds to start), with the
    same database and `tmp_path` as its data folder."""
    if request.node.get_closest_marker("integration"):
        with running_server(db_url, settings.data_dir) as url:
            yield url
        return
    with serving(create_app(settings)) as url:
        yield url
