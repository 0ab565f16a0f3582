"""The Alembic migration creates exactly the tables of the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import ekc_server.models  # noqa: F401  (registers the tables)
from ekc_server import migrate

PG_URL = os.environ.get("EKC_TEST_DATABASE_URL")
MODEL_TABLES = set(SQLModel.metadata.tables)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'empty.db'}"


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A throw-away schema in the PG test database (the shared `public` one is not touched)."""
    if not PG_URL:
        pytest.skip("EKC_TEST_DATABASE_URL is not set")
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_schema_url"
    url: str = request.getfixturevalue(name)
    return url


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


#: the newest revision; a new migration moves it
HEAD = "0013_kb_synonym_means"


def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def test_upgrade_creates_every_model_table_and_downgrade_removes_them(empty_url: str) -> None:
    assert migrate.current_heads(empty_url) == set()
    migrate.upgrade(empty_url)
    assert _tables(empty_url) == MODEL_TABLES | {"alembic_version"}
    assert migrate.current_heads(empty_url) == {HEAD}

    migrate.downgrade(empty_url, "base")
    assert _tables(empty_url) == {"alembic_version"}
    assert migrate.current_heads(empty_url) == set()

    migrate.upgrade(empty_url)  # and up again: the downgrade left nothing in the way
    assert _tables(empty_url) == MODEL_TABLES | {"alembic_version"}


def test_migrated_schema_matches_the_models(empty_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add, drop or alter."""
    migrate.upgrade(empty_url)
    assert _diff(empty_url) == []


def test_workforce_revision_keeps_existing_staff_with_full_time_defaults(empty_url: str) -> None:
    """0001 → 0002 on a database in use: staff rows get rate 1.0, 40 h weeks, nights allowed."""
    migrate.upgrade(empty_url, "0001")
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO staff (username, full_name, role, skills, active, created_at) "
                    "VALUES ('old', 'Старый Сотрудник', 'operator', '[]', true, :now)"
                ),
                {"now": datetime.now(UTC)},
            )
        migrate.upgrade(empty_url)
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT employment_rate, week_hours, night_work, updated_at FROM staff")
            ).one()
    finally:
        engine.dispose()
    assert (row.employment_rate, row.week_hours, bool(row.night_work)) == (1.0, 40.0, True)
    assert row.updated_at is not None


def test_upgrade_is_idempotent(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    migrate.upgrade(sqlite_url)
    assert migrate.current_heads(sqlite_url) == {HEAD}
    assert Path(make_url(sqlite_url).database or "").is_file()


def test_asking_for_the_revision_does_not_create_the_database(sqlite_url: str) -> None:
    path = Path(make_url(sqlite_url).database or "")
    assert migrate.current_heads(sqlite_url) == set()
    assert not path.exists()


def test_login_throttle_revision_limits_the_personal_tokens_issued_before(
    empty_url: str,
) -> None:
    """0003 → 0004: personal tokens of operators and shift leads are revoked; the ones of
    gateways and admins that never expired get a year and 30 days; sessions are untouched."""
    migrate.upgrade(empty_url, "0003")
    engine = create_engine(empty_url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            for name in ("operator", "shift_lead", "gateway", "admin"):
                conn.execute(
                    text(
                        "INSERT INTO staff (username, full_name, role, skills, active, "
                        "created_at, employment_rate, week_hours, night_work, updated_at) "
                        "VALUES (:n, :n, :n, '[]', true, :now, 1.0, 40.0, true, :now)"
                    ),
                    {"n": name, "now": now},
                )
                for kind in ("personal", "session"):
                    conn.execute(
                        text(
                            "INSERT INTO api_token (staff_id, kind, name, token_hash, "
                            "created_at) SELECT id, :kind, :name, :hash, :now FROM staff "
                            "WHERE username = :n"
                        ),
                        {
                            "kind": kind,
                            "name": name,
                            "hash": f"{name}-{kind}",
                            "n": name,
                            "now": now,
                        },
                    )
        migrate.upgrade(empty_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT name, kind, expires_at, revoked_at FROM api_token")
            ).all()
    finally:
        engine.dispose()

    def days(value: object) -> int | None:
        if value is None:
            return None
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        return round((at - now).total_seconds() / 86400)

    state = {(r.name, r.kind): (days(r.expires_at), r.revoked_at is not None) for r in rows}
    assert state == {
        ("operator", "personal"): (None, True),
        ("shift_lead", "personal"): (None, True),
        ("gateway", "personal"): (365, False),
        ("admin", "personal"): (30, False),
        **{
            (name, "session"): (None, False)
            for name in ("operator", "shift_lead", "gateway", "admin")
        },
    }
