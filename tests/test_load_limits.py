"""Load without collapse: 503 with Retry-After when the pool is exhausted, 413 past the body
limit, the client honouring Retry-After, and the SQLite file created private."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from ekc_core.client import MAX_RETRY_AFTER, EkcClient
from ekc_core.errors import ServerError
from ekc_core.schemas import CitizenCreate
from ekc_core.settings import ClientSettings, ServerSettings
from ekc_server import migrate
from ekc_server.app import create_app
from ekc_server.db import Admission, PoolBusyError, admission_for, create_db_engine
from ekc_server.models import Topic
from tests.conftest import StaffAccount

API = "/api/v1"


# --- 503 when the database pool is exhausted ----------------------------------------------


@pytest.fixture
def tight_client(settings: ServerSettings, db_url: str) -> Iterator[tuple[TestClient, ExitStack]]:
    """The app on an engine of one pooled connection, waiting 0.2 s for it; the ExitStack
    holds connections taken from it (closed at the end)."""
    engine = create_db_engine(db_url, pool_size=1, pool_timeout=0.2)
    held = ExitStack()
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client, held
    held.close()
    engine.dispose()


def test_exhausted_pool_answers_503_with_retry_after(
    tight_client: tuple[TestClient, ExitStack], settings: ServerSettings, operator: StaffAccount
) -> None:
    client, held = tight_client
    assert client.get(f"{API}/me", headers=operator.headers).status_code == 200
    engine = client.app.state.engine  # type: ignore[attr-defined]
    conn = held.enter_context(engine.connect())  # the whole pool
    conn.execute(text("SELECT 1"))

    r = client.get(f"{API}/me", headers=operator.headers)
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == str(settings.busy_retry_after)
    body = r.json()
    assert body["code"] == "server_busy"
    assert "Сервер перегружен" in body["detail"]
    # a write is shed the same way, before it does anything
    created = client.post(f"{API}/citizens", json={"last_name": "Петров"}, headers=operator.headers)
    assert created.status_code == 503

    held.close()  # the connections come back: the server serves again, nothing was written
    assert client.get(f"{API}/me", headers=operator.headers).status_code == 200
    found = client.get(f"{API}/citizens", params={"name": "Петров"}, headers=operator.headers)
    assert found.status_code == 200
    assert found.json() == []


def test_requests_past_the_pool_capacity_wait_then_get_503(
    settings: ServerSettings, db_url: str, operator: StaffAccount
) -> None:
    """Capacity is taken before a thread or a connection is: a request past it waits on
    the event loop for `db_pool_timeout`, then gets 503; a slot given back lets it in."""
    quick = settings.model_copy(update={"db_pool_timeout": 0.2})
    engine = create_db_engine(db_url, pool_size=2)
    admission = admission_for(engine)
    assert admission is not None and admission.capacity == 2
    try:
        with TestClient(create_app(quick, engine=engine)) as client:
            for _ in range(2):  # what two requests in progress would hold
                asyncio.run(admission.acquire(1.0))
            r = client.get(f"{API}/me", headers=operator.headers)
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == str(quick.busy_retry_after)
            assert r.json()["code"] == "server_busy"

            admission.release()
            assert client.get(f"{API}/me", headers=operator.headers).status_code == 200
            # each request gave its slot back: one free slot serves any number in turn
            for _ in range(3):
                assert client.get(f"{API}/me", headers=operator.headers).status_code == 200
    finally:
        engine.dispose()


def test_a_waiting_request_gets_the_slot_given_back() -> None:
    """Slots are handed over in arrival order, also when released from another thread."""
    admission = Admission(1)

    async def scenario() -> list[str]:
        order: list[str] = []
        await admission.acquire(1.0)

        async def waiter(name: str) -> None:
            await admission.acquire(5.0)
            order.append(name)
            await asyncio.to_thread(admission.release)

        tasks = [asyncio.create_task(waiter(n)) for n in ("first", "second")]
        await asyncio.sleep(0)
        await asyncio.to_thread(admission.release)
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == ["first", "second"]
    # everything given back: the one slot is free again
    asyncio.run(admission.acquire(0.01))
    with pytest.raises(PoolBusyError):
        asyncio.run(admission.acquire(0.01))


def test_a_broken_connection_is_answered_503_and_replaced(
    client: TestClient, engine, operator: StaffAccount
) -> None:
    """A pooled connection the database dropped (a restart, an idle timeout) fails the one
    request that meets it with a 503 the clients retry, not a 500; the next gets a new one."""
    if engine.dialect.name != "postgresql":
        pytest.skip("an embedded SQLite file has no connection to lose")
    assert client.get(f"{API}/me", headers=operator.headers).status_code == 200
    killer = create_db_engine(engine.url.render_as_string(hide_password=False))
    with killer.begin() as conn:  # what a database restart does to the pooled connections
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    killer.dispose()
    r = client.get(f"{API}/me", headers=operator.headers)
    assert r.status_code == 503, r.text
    assert "Соединение с базой данных прервано" in r.json()["detail"]
    assert "retry-after" in r.headers
    assert client.get(f"{API}/me", headers=operator.headers).status_code == 200


def test_a_burst_past_the_capacity_gets_only_200_and_503(
    settings: ServerSettings, db_url: str, operator: StaffAccount
) -> None:
    """Many requests at once against two connections: each is served or shed, none fails."""
    quick = settings.model_copy(update={"db_pool_timeout": 0.05})
    engine = create_db_engine(db_url, pool_size=2, pool_timeout=0.05)
    app = create_app(quick, engine=engine)

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ekc.test") as http:
            answers = await asyncio.gather(
                *(http.get(f"{API}/me", headers=operator.headers) for _ in range(40))
            )
        return [a.status_code for a in answers]

    try:
        statuses = asyncio.run(burst())
    finally:
        engine.dispose()
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses


def test_codes_added_by_another_process_are_found(
    client: TestClient, engine, operator: StaffAccount
) -> None:
    """Topic codes are cached per process; a topic added elsewhere (another worker, the
    CLI) is read when a row first refers to it, not shown as missing."""
    r = client.post(f"{API}/citizens", json={"last_name": "Кодов"}, headers=operator.headers)
    citizen_id = r.json()["id"]
    body = {"citizen_id": citizen_id, "kind": "appeal_59fz", "summary": "Вопрос"}
    first = client.post(
        f"{API}/appeals",
        json={**body, "topic_code": "svo.family_payments"},
        headers=operator.headers,
    )
    assert first.status_code == 201, first.text  # the codes are cached now
    with Session(engine) as session:  # what another process does
        parent = session.exec(select(Topic).where(Topic.code == "svo.family_payments")).one()
        session.add(
            Topic(code="svo.new_payment", name="Новая выплата", group_code=parent.group_code)
        )
        session.commit()
    later = client.post(
        f"{API}/appeals", json={**body, "topic_code": "svo.new_payment"}, headers=operator.headers
    )
    assert later.status_code == 201, later.text
    assert later.json()["topic_code"] == "svo.new_payment"
    history = client.get(f"{API}/citizens/{citizen_id}/history", headers=operator.headers)
    codes = {i["appeal"]["topic_code"] for i in history.json()["page"]["items"]}
    assert codes == {"svo.family_payments", "svo.new_payment"}


def test_other_503_gets_retry_after_too(settings: ServerSettings, engine) -> None:
    app = create_app(settings, engine=engine)

    @app.get("/busy-test")
    def busy() -> None:
        from fastapi import HTTPException

        raise HTTPException(status_code=503, detail="обслуживание")

    with TestClient(app) as client:
        r = client.get("/busy-test")
    assert r.status_code == 503
    assert r.headers["retry-after"] == str(settings.busy_retry_after)


# --- 413 past the body limit --------------------------------------------------------------


@pytest.fixture
def small_body_client(settings: ServerSettings, engine) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"max_body_bytes": 2048, "max_kb_import_bytes": 8192})
    with TestClient(create_app(limited, engine=engine)) as client:
        yield client


def _citizen(size: int) -> dict[str, str]:
    return {"last_name": "Иванов", "address": "д" * size}


def test_body_over_limit_is_413_before_it_is_read(
    small_body_client: TestClient, operator: StaffAccount
) -> None:
    r = small_body_client.post(f"{API}/citizens", json=_citizen(3000), headers=operator.headers)
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "body_too_large"
    assert "Тело запроса больше допустимого" in r.json()["detail"]
    # under the limit it is an ordinary request
    r = small_body_client.post(f"{API}/citizens", json=_citizen(10), headers=operator.headers)
    assert r.status_code == 201, r.text


def test_streamed_body_over_limit_is_413(
    small_body_client: TestClient, operator: StaffAccount
) -> None:
    chunks = [b'{"last_name": "', *[b"x" * 1000] * 4, b'"}']
    r = small_body_client.post(
        f"{API}/citizens",
        content=iter(chunks),  # chunked: no Content-Length to refuse it by
        headers={**operator.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "body_too_large"


def test_kb_import_has_its_own_limit(small_body_client: TestClient, admin: StaffAccount) -> None:
    def batch(size: int) -> dict[str, object]:
        article = {"id": "load-limit", "title": "Проверка", "body": "т" * size}
        return {"source_name": "test", "articles": [article], "dry_run": True}

    r = small_body_client.post(f"{API}/kb/imports", json=batch(1500), headers=admin.headers)
    assert r.status_code == 200, r.text  # over the general 2 KiB, under the import's 8 KiB
    r = small_body_client.post(f"{API}/kb/imports", json=batch(5000), headers=admin.headers)
    assert r.status_code == 413


# --- the client honours Retry-After -------------------------------------------------------


class Replies:
    """A MockTransport handler answering from a script, recording what it was sent."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


def busy(retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"detail": "Сервер перегружен: все соединения заняты", "code": "server_busy"}
    return httpx.Response(503, json=body, headers=headers)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the client makes between attempts (recorded, not slept)."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits


def make_client(replies: Replies, retries: int = 3) -> EkcClient:
    return EkcClient(
        "http://ekc.test",
        token="t",
        settings=ClientSettings(retries=retries),
        transport=httpx.MockTransport(replies),
    )


def test_client_waits_what_retry_after_says(sleeps: list[float]) -> None:
    me = {"id": 1, "username": "u", "full_name": "У", "role": "operator", "office_code": None}
    replies = Replies(busy("3"), busy("1"), httpx.Response(200, json={**me, "skills": []}))
    with make_client(replies) as client:
        assert client.request("GET", "/me").json()["username"] == "u"
    assert len(replies.requests) == 3
    assert len(sleeps) == 2
    assert 3 <= sleeps[0] <= 3.5  # what the server asked, plus at most half a second of jitter
    assert 1 <= sleeps[1] <= 1.5


def test_client_bounds_retry_after_and_reads_http_dates(sleeps: list[float]) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    replies = Replies(busy("86400"), busy(later), httpx.Response(200, json=[]))
    with make_client(replies) as client:
        client.request("GET", "/topics")
    assert all(MAX_RETRY_AFTER <= s <= MAX_RETRY_AFTER + 0.5 for s in sleeps), sleeps


def test_client_gives_up_with_a_clear_message(sleeps: list[float]) -> None:
    replies = Replies(busy("2"))
    with make_client(replies, retries=2) as client, pytest.raises(ServerError) as caught:
        client.request("GET", "/me")
    assert len(replies.requests) == 3
    assert caught.value.status_code == 503
    assert str(caught.value) == "сервер перегружен (503) (попыток: 3); повторите через 2 с"


def test_client_does_not_repeat_an_unsafe_write(sleeps: list[float]) -> None:
    replies = Replies(busy("2"), httpx.Response(201, json={}))
    with make_client(replies) as client, pytest.raises(ServerError) as caught:
        client.request("POST", "/citizens", json_body=CitizenCreate(last_name="А").model_dump())
    assert len(replies.requests) == 1
    assert sleeps == []
    assert str(caught.value) == "сервер перегружен (503); повторите через 2 с"


def test_client_without_retry_after_backs_off(sleeps: list[float]) -> None:
    replies = Replies(busy(None), httpx.Response(200, json=[]))
    with make_client(replies) as client:
        client.request("GET", "/topics")
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.5


# --- the SQLite database is private -------------------------------------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common default umask, under which SQLite alone would create 0644 files."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_new_sqlite_database_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "data" / "ekc.db"
    migrate.upgrade(f"sqlite:///{path}")  # what `ekc-server run` and `db upgrade` do first
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    engine = create_db_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
        conn.execute(text("INSERT INTO probe VALUES (1)"))
        wal = path.with_name(path.name + "-wal")
        assert wal.exists()
        assert mode(wal) == 0o600  # SQLite gives its WAL the database file's mode
    engine.dispose()


@pytest.mark.usefixtures("umask_022")
def test_engine_alone_creates_the_file_private(tmp_path: Path) -> None:
    path = tmp_path / "other" / "ekc.db"
    engine = create_db_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    engine.dispose()
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)


@pytest.mark.usefixtures("umask_022")
def test_existing_folder_and_file_are_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    create_db_engine(f"sqlite:///{shared / 'ekc.db'}").dispose()
    assert mode(shared) == 0o755  # a folder the administrator made is theirs to set
    assert mode(shared / "ekc.db") == 0o600
