"""Sign-in hardening: wrong-password throttling per login and per address (counted in the
database, so several server processes count together), the same argon2 work for unknown
logins, and sessions ended by a password change."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from ekc_core.enums import Role
from ekc_core.settings import ServerSettings
from ekc_server import security
from ekc_server.app import create_app
from ekc_server.models import ApiToken, LoginThrottle
from ekc_server.security import PERSONAL_PREFIX, new_token, token_digest

API = "/api/v1"
PASSWORD = "верный-пароль-122"
NEW_PASSWORD = "новый-пароль-122"


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(f"{API}/auth/token", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def strict(settings: ServerSettings) -> ServerSettings:
    """3 wrong passwords per login, 5 per address, in a 15-minute window."""
    return settings.model_copy(update={"login_max_failures": 3, "login_address_max_failures": 5})


@pytest.fixture
def app_client(strict: ServerSettings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(strict, engine=engine), client=("10.0.0.1", 50000)) as c:
        yield c


def assert_429(r: Any) -> int:
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "too_many_requests"
    assert "Слишком много неудачных попыток входа" in r.json()["detail"]
    retry_after = int(r.headers["retry-after"])
    assert 1 <= retry_after <= 15 * 60
    return retry_after


# --- throttling -------------------------------------------------------------------------


def test_wrong_passwords_for_a_login_end_in_429_even_with_the_right_one(
    app_client: TestClient, make_staff
) -> None:
    make_staff(Role.operator, username="ivanova", password=PASSWORD)
    make_staff(Role.operator, username="petrova", password=PASSWORD)
    for _ in range(3):
        assert sign_in(app_client, "ivanova", "не тот").status_code == 401
    assert_429(sign_in(app_client, "ivanova"))
    assert_429(sign_in(app_client, "IVANOVA ", "не тот"))  # the same login typed otherwise
    # another login from the same address is not blocked (the address allows 5)
    assert sign_in(app_client, "petrova").status_code == 200


def test_a_successful_sign_in_clears_the_login_counter(app_client: TestClient, make_staff) -> None:
    make_staff(Role.operator, username="sidorov", password=PASSWORD)
    for _ in range(2):
        assert sign_in(app_client, "sidorov", "не тот").status_code == 401
    assert sign_in(app_client, "sidorov").status_code == 200
    for _ in range(2):
        assert sign_in(app_client, "sidorov", "не тот").status_code == 401
    assert sign_in(app_client, "sidorov").status_code == 200


def test_the_block_ends_with_the_window(app_client: TestClient, engine: Engine, make_staff) -> None:
    make_staff(Role.operator, username="kozlov", password=PASSWORD)
    for _ in range(3):
        sign_in(app_client, "kozlov", "не тот")
    assert_429(sign_in(app_client, "kozlov"))
    with Session(engine) as session:  # 15 minutes pass
        session.execute(
            update(LoginThrottle).values(
                window_started_at=datetime.now(UTC) - timedelta(minutes=15, seconds=1)
            )
        )
        session.commit()
    assert sign_in(app_client, "kozlov").status_code == 200
    # the stale address counter starts again at 1 with the next wrong password
    assert sign_in(app_client, "kozlov", "не тот").status_code == 401
    with Session(engine) as session:
        rows = session.exec(select(LoginThrottle)).all()
    assert sorted((r.kind, r.failures) for r in rows) == [("address", 1), ("login", 1)]
    assert all(datetime.now(UTC) - r.window_started_at < timedelta(minutes=1) for r in rows)


def test_an_address_with_too_many_wrong_passwords_is_blocked_for_every_login(
    strict: ServerSettings, engine: Engine, make_staff
) -> None:
    make_staff(Role.operator, username="orlova", password=PASSWORD)
    app = create_app(strict, engine=engine)
    with (
        TestClient(app, client=("203.0.113.7", 1)) as attacker,
        TestClient(app, client=("198.51.100.2", 1)) as office,
    ):
        for name in ("a1", "a2", "a3", "a4", "a5"):  # unknown logins count too
            assert sign_in(attacker, name, "x").status_code == 401
        assert_429(sign_in(attacker, "orlova"))
        assert sign_in(office, "orlova").status_code == 200


def test_unknown_logins_are_throttled_like_known_ones(
    strict: ServerSettings, engine: Engine, make_staff
) -> None:
    make_staff(Role.operator, username="known", password=PASSWORD)
    app = create_app(strict, engine=engine)
    answers = {}
    for number, name in enumerate(("known", "nobody")):
        with TestClient(app, client=(f"10.0.0.{number + 1}", 1)) as client:
            for _ in range(3):
                assert sign_in(client, name, "не тот").status_code == 401
            answers[name] = sign_in(client, name, "не тот")
        assert_429(answers[name])
    assert answers["known"].json() == answers["nobody"].json()


def test_processes_count_wrong_passwords_together(
    strict: ServerSettings, db_url: str, make_staff
) -> None:
    """Two apps with their own engines (two server processes) share the counters."""
    from ekc_server.db import create_db_engine

    make_staff(Role.operator, username="volkov", password=PASSWORD)
    engines = [create_db_engine(db_url), create_db_engine(db_url)]
    try:
        with (
            TestClient(create_app(strict, engine=engines[0])) as first,
            TestClient(create_app(strict, engine=engines[1])) as second,
        ):
            assert sign_in(first, "volkov", "x").status_code == 401
            assert sign_in(second, "volkov", "x").status_code == 401
            assert sign_in(first, "volkov", "x").status_code == 401
            assert_429(sign_in(second, "volkov"))
    finally:
        for e in engines:
            e.dispose()


def test_parallel_attempts_do_not_slip_past_the_limit(
    strict: ServerSettings, engine: Engine, make_staff
) -> None:
    """Each attempt is counted before its (slow) password check: of 8 wrong passwords sent
    at once for one login, exactly 3 are checked and 5 refused."""
    make_staff(Role.operator, username="parallel", password=PASSWORD)
    app = create_app(strict.model_copy(update={"login_address_max_failures": 100}), engine=engine)

    def attempt(_: int) -> int:
        with TestClient(app) as client:
            return int(sign_in(client, "parallel", "не тот").status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(attempt, range(8)))
    assert codes == [401] * 3 + [429] * 5


def test_unknown_login_and_account_without_password_cost_one_argon2_check(
    client: TestClient, make_staff, gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same answer time: every wrong sign-in verifies one argon2 hash (a dummy one when
    there is no account or no password), so an unknown login is not answered sooner."""
    make_staff(Role.operator, username="known", password=PASSWORD)
    real = security._hasher
    checked: list[str] = []

    class Counting:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, hash_: str, password: str) -> bool:
            checked.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(security, "_hasher", Counting())
    for name in ("known", "nobody", gateway.username):
        checked.clear()
        r = sign_in(client, name, "не тот")
        assert r.status_code == 401
        assert len(checked) == 1, name
        assert checked[0].startswith("$argon2id$")
        params = checked[0].split("$")[3]  # m=…,t=…,p=…: the same cost as a real hash
        assert params == security.hash_password("x").split("$")[3]


# --- sessions and password changes -------------------------------------------------------


def tokens_of(engine: Engine, staff_id: int) -> dict[str, bool]:
    """token name → still valid (not revoked)"""
    with Session(engine) as session:
        rows = session.exec(select(ApiToken).where(ApiToken.staff_id == staff_id)).all()
    return {r.name: r.revoked_at is None for r in rows}


def add_token(engine: Engine, staff_id: int, kind: str, name: str) -> str:
    token = new_token(PERSONAL_PREFIX)
    with Session(engine) as session:
        session.add(
            ApiToken(staff_id=staff_id, kind=kind, name=name, token_hash=token_digest(token))
        )
        session.commit()
    return token


def test_a_new_password_ends_every_session_of_the_person(
    client: TestClient, engine: Engine, admin, make_staff
) -> None:
    person = make_staff(Role.operator, username="smirnov", password=PASSWORD)
    desk = sign_in(client, "smirnov").json()["access_token"]
    legacy = add_token(engine, person.id, "personal", "old script")
    r = client.patch(f"{API}/staff/smirnov", json={"password": NEW_PASSWORD}, headers=admin.headers)
    assert r.status_code == 200, r.text
    for token in (person.token, desk, legacy):
        r = client.get(f"{API}/me", headers=bearer(token))
        assert r.status_code == 401
        assert "отозван" in r.json()["detail"]
    assert sign_in(client, "smirnov").status_code == 401
    assert sign_in(client, "smirnov", NEW_PASSWORD).status_code == 200
    assert client.get(f"{API}/me", headers=admin.headers).status_code == 200


def test_the_same_password_again_keeps_the_sessions(
    client: TestClient, engine: Engine, admin, make_staff
) -> None:
    person = make_staff(Role.operator, username="popov", password=PASSWORD)
    r = client.patch(f"{API}/staff/popov", json={"password": PASSWORD}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert client.get(f"{API}/me", headers=person.headers).status_code == 200


def test_an_admin_changing_their_own_password_keeps_only_this_session(
    client: TestClient, engine: Engine, make_staff
) -> None:
    me = make_staff(Role.admin, username="chief", password=PASSWORD)
    other_desk = sign_in(client, "chief").json()["access_token"]
    r = client.patch(f"{API}/staff/chief", json={"password": NEW_PASSWORD}, headers=me.headers)
    assert r.status_code == 200, r.text
    assert client.get(f"{API}/me", headers=me.headers).status_code == 200
    assert client.get(f"{API}/me", headers=bearer(other_desk)).status_code == 401


def test_a_gateway_password_change_keeps_its_personal_tokens(
    client: TestClient, engine: Engine, admin, gateway
) -> None:
    pbx = add_token(engine, gateway.id, "personal", "АТС")
    r = client.patch(
        f"{API}/staff/{gateway.username}", json={"password": NEW_PASSWORD}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    assert tokens_of(engine, gateway.id) == {"test": False, "АТС": True}
    assert client.get(f"{API}/me", headers=bearer(pbx)).status_code == 200


def test_a_password_in_a_staff_import_ends_the_sessions_too(
    client: TestClient, engine: Engine, admin, make_staff
) -> None:
    person = make_staff(Role.operator, username="lebedev", password=PASSWORD)
    row = {"username": "lebedev", "full_name": "Лебедев Л.", "role": "operator"}
    r = client.post(
        f"{API}/staff/import",
        params={"dry_run": "true"},
        json={"rows": [{**row, "password": NEW_PASSWORD}]},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert client.get(f"{API}/me", headers=person.headers).status_code == 200  # a dry run
    r = client.post(
        f"{API}/staff/import",
        json={"rows": [{**row, "password": NEW_PASSWORD}]},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 1
    assert client.get(f"{API}/me", headers=person.headers).status_code == 401
    with Session(engine) as session:
        left = session.exec(
            select(ApiToken).where(
                ApiToken.staff_id == person.id, col(ApiToken.revoked_at).is_(None)
            )
        ).all()
    assert left == []
