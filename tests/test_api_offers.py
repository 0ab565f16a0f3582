"""The queue as a long poll (`GET /contacts/offers`), manual contacts (`POST /contacts/manual`)
and the client methods of both."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func
from sqlmodel import Session, select

from ekc_core.client import EkcClient, new_idempotency_key
from ekc_core.enums import Channel, ContactStatus, Line, Role
from ekc_core.errors import ConflictError, PermissionDeniedError
from ekc_core.schemas import (
    CallbackCreate,
    CitizenCreate,
    ContactInbound,
    ContactManual,
    ContactOutbound,
)
from ekc_core.settings import ServerSettings
from ekc_server.app import create_app
from ekc_server.models import Contact
from tests.localserver import running_server

API = "/api/v1"


def queued(client: TestClient, gateway, **fields) -> dict[str, Any]:
    body = {"channel": "phone", "line": "122", "caller_number": "8 (3952) 12-34-56", **fields}
    r = client.post(f"{API}/contacts", json=body, headers=gateway.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def offers(client: TestClient, who, **params) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    r = client.get(f"{API}/contacts/offers", params=params, headers=who.headers)
    elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data, elapsed


def new_citizen(client: TestClient, who, phones: list[str]) -> dict[str, Any]:
    body = {"last_name": "Кузнецова", "first_name": "Ольга", "phones": phones}
    r = client.post(f"{API}/citizens", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def count_contacts(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Contact)).one()


# --- offers -----------------------------------------------------------------------------


def test_without_a_version_the_queue_comes_at_once_oldest_first_masked(
    client: TestClient, operator, gateway
) -> None:
    old = datetime.now(UTC) - timedelta(minutes=3)
    second = queued(client, gateway, caller_number="8 (914) 000-12-34")
    first = queued(client, gateway, line="117", queued_at=old.isoformat())
    written = queued(client, gateway, channel="email", line=None, caller_number=None)

    data, elapsed = offers(client, operator)
    assert elapsed < 2
    assert set(data) == {"version", "contacts"}
    assert isinstance(data["version"], str) and 8 <= len(data["version"]) <= 32
    assert [c["id"] for c in data["contacts"]] == [first["id"], second["id"], written["id"]]
    assert [c["caller_number"] for c in data["contacts"]] == [
        "+7 395 ***-**-56",
        "+7 914 ***-**-34",
        None,
    ]
    assert all(c["status"] == "queued" for c in data["contacts"])
    # the same state gives the same version
    again, _ = offers(client, operator, wait=0)
    assert again == data


def test_an_empty_queue_has_a_stable_version(client: TestClient, operator) -> None:
    data, _ = offers(client, operator)
    assert data["contacts"] == []
    again, elapsed = offers(client, operator, version=data["version"], wait=0.3)
    assert again == data
    assert elapsed >= 0.25


def test_the_current_version_waits_then_answers_the_same(
    client: TestClient, operator, gateway
) -> None:
    queued(client, gateway)
    data, _ = offers(client, operator)
    again, elapsed = offers(client, operator, version=data["version"], wait=0.5)
    assert 0.45 <= elapsed < 3
    assert again == data


def test_another_version_answers_at_once(client: TestClient, operator, gateway) -> None:
    c = queued(client, gateway)
    data, elapsed = offers(client, operator, version="stale", wait=10)
    assert elapsed < 2
    assert [x["id"] for x in data["contacts"]] == [c["id"]]


def test_a_new_contact_ends_the_wait_early(client: TestClient, operator, gateway) -> None:
    queued(client, gateway)
    before, _ = offers(client, operator)
    posted: list[dict[str, Any]] = []

    def post_later() -> None:
        time.sleep(0.6)
        posted.append(queued(client, gateway, caller_number="89025551234", external_id="late"))

    thread = threading.Thread(target=post_later)
    thread.start()
    try:
        after, elapsed = offers(client, operator, version=before["version"], wait=15)
    finally:
        thread.join()
    assert 0.5 <= elapsed < 5
    assert after["version"] != before["version"]
    assert [c["id"] for c in after["contacts"]][-1] == posted[0]["id"]
    assert after["contacts"][-1]["caller_number"] == "+7 902 ***-**-34"
    assert len(after["contacts"]) == 2


def test_claimed_and_abandoned_contacts_disappear(client: TestClient, operator, gateway) -> None:
    a = queued(client, gateway)
    b = queued(client, gateway)
    c = queued(client, gateway)
    first, _ = offers(client, operator)
    assert [x["id"] for x in first["contacts"]] == [a["id"], b["id"], c["id"]]

    r = client.post(f"{API}/contacts/{b['id']}/claim", headers=operator.headers)
    assert r.status_code == 200
    second, elapsed = offers(client, operator, version=first["version"], wait=10)
    assert elapsed < 2
    assert second["version"] != first["version"]
    assert [x["id"] for x in second["contacts"]] == [a["id"], c["id"]]

    r = client.post(f"{API}/contacts/{a['id']}/abandon", headers=gateway.headers)
    assert r.status_code == 200
    third, _ = offers(client, operator, version=second["version"], wait=10)
    assert [x["id"] for x in third["contacts"]] == [c["id"]]
    assert len({first["version"], second["version"], third["version"]}) == 3


def test_limit_keeps_the_oldest(client: TestClient, operator, gateway) -> None:
    ids = [queued(client, gateway)["id"] for _ in range(4)]
    data, _ = offers(client, operator, limit=2)
    assert [c["id"] for c in data["contacts"]] == ids[:2]
    # a contact beyond the limit does not change what this client sees
    queued(client, gateway)
    again, elapsed = offers(client, operator, limit=2, version=data["version"], wait=0.4)
    assert again == data and elapsed >= 0.35


def test_waiting_polls_hold_no_database_connection(
    settings: ServerSettings, db_url: str, operator, gateway
) -> None:
    """Five polls wait at once on a pool of one connection (that times out in 3 s)."""
    queued_contact = {"channel": "phone", "line": "122"}
    tiny = create_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=3)
    try:
        with TestClient(create_app(settings, engine=tiny)) as client:
            queued(client, gateway, **queued_contact)
            current, _ = offers(client, operator)
            answers: list[tuple[dict[str, Any], float]] = []

            def poll() -> None:
                answers.append(offers(client, operator, version=current["version"], wait=2))

            threads = [threading.Thread(target=poll) for _ in range(5)]
            began = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert time.monotonic() - began < 5
            assert [a for a, _ in answers] == [current] * 5
            assert all(elapsed >= 1.9 for _, elapsed in answers)
    finally:
        tiny.dispose()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"wait": 31}, "wait"),
        ({"wait": -1}, "wait"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
    ],
)
def test_bad_parameters_are_422(client: TestClient, operator, params, field) -> None:
    r = client.get(f"{API}/contacts/offers", params=params, headers=operator.headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", field]


def test_gateways_may_not_read_offers(client: TestClient, gateway) -> None:
    r = client.get(f"{API}/contacts/offers", headers=gateway.headers)
    assert r.status_code == 403
    r = client.get(f"{API}/contacts/offers")
    assert r.status_code == 401


def test_offers_is_not_taken_for_a_contact_id(client: TestClient, lead) -> None:
    r = client.get(f"{API}/contacts/offers", headers=lead.headers)
    assert r.status_code == 200, r.text


# --- manual contacts --------------------------------------------------------------------


def test_a_manual_call_is_active_and_the_operators_own(
    client: TestClient, operator, gateway
) -> None:
    citizen = new_citizen(client, operator, ["+7 3952 12-34-56"])
    r = client.post(
        f"{API}/contacts/manual",
        headers=operator.headers,
        json={"line": "117", "caller_number": "8 (3952) 12-34-56", "text": "позвонил напрямую"},
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["channel"], c["line"], c["direction"], c["status"]) == (
        "phone",
        "117",
        "in",
        "active",
    )
    assert c["operator_id"] == operator.id
    assert c["caller_number"] == "+73952123456"  # the operator's own card: not masked
    assert c["citizen_id"] == citizen["id"]
    assert c["text"] == "позвонил напрямую"
    assert c["queued_at"] == c["answered_at"]
    assert abs(datetime.now(UTC) - datetime.fromisoformat(c["answered_at"])) < timedelta(minutes=1)
    # not waiting for anybody: neither in the queue nor in the offers
    assert client.get(f"{API}/contacts/queue", headers=operator.headers).json() == []
    data, _ = offers(client, operator)
    assert data["contacts"] == []
    # the usual life goes on: end and wrap-up
    r = client.post(f"{API}/contacts/{c['id']}/end", headers=operator.headers)
    assert r.status_code == 200 and r.json()["status"] == "wrapup"
    r = client.post(
        f"{API}/contacts/{c['id']}/wrapup",
        headers=operator.headers,
        json={"topic_code": "svo.contract", "outcome": "consultation"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done"


def test_manual_contact_started_earlier(client: TestClient, operator) -> None:
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4)
    r = client.post(
        f"{API}/contacts/manual",
        headers=operator.headers,
        json={"line": "122", "caller_number": "+79025551234", "started_at": started.isoformat()},
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert datetime.fromisoformat(c["answered_at"]) == started
    assert datetime.fromisoformat(c["queued_at"]) == started
    assert c["citizen_id"] is None


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"caller_number": "89025551234"}, "line", "122 или 117"),
        ({"line": "999"}, "line", ""),
        ({"channel": "email", "line": "122", "sender": "a@b.ru"}, "line", "только для звонков"),
        ({"line": "122", "started_at": "2026-03-01T10:00:00"}, "started_at", "часовой пояс"),
        (
            {"line": "122", "started_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
            "started_at",
            "в будущем",
        ),
        ({"line": "122", "citizen_id": 999999}, "citizen_id", "не найден"),
    ],
    ids=["no-line", "bad-line", "line-on-email", "naive", "future", "unknown-citizen"],
)
def test_manual_contact_refusals_name_the_field(
    client: TestClient, engine: Engine, operator, body, field, reason
) -> None:
    r = client.post(f"{API}/contacts/manual", headers=operator.headers, json=body)
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", field]
    assert reason in err["msg"]
    assert count_contacts(engine) == 0


def test_manual_written_contact_and_a_given_citizen(client: TestClient, operator) -> None:
    citizen = new_citizen(client, operator, ["+79140001234"])
    r = client.post(
        f"{API}/contacts/manual",
        headers=operator.headers,
        json={
            "channel": "email",
            "sender": "olga@example.ru",
            "text": "Прошу разъяснить порядок выплат",
            "citizen_id": citizen["id"],
        },
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["channel"], c["line"], c["sender"]) == ("email", None, "olga@example.ru")
    assert c["citizen_id"] == citizen["id"]


def test_manual_number_shared_by_two_citizens_or_unreadable(client: TestClient, operator) -> None:
    new_citizen(client, operator, ["+79140001234"])
    new_citizen(client, operator, ["8 914 000 12 34"])
    r = client.post(
        f"{API}/contacts/manual",
        headers=operator.headers,
        json={"line": "122", "caller_number": "89140001234"},
    )
    assert r.status_code == 201
    assert r.json()["citizen_id"] is None
    r = client.post(
        f"{API}/contacts/manual",
        headers=operator.headers,
        json={"line": "122", "caller_number": "скрыт"},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["caller_number"], r.json()["sender"]) == (None, "скрыт")


def test_manual_contact_is_idempotent_with_a_key(
    client: TestClient, engine: Engine, operator, make_staff
) -> None:
    body = {"line": "122", "caller_number": "89025551234"}
    headers = {**operator.headers, "Idempotency-Key": "manual-key-0001"}
    first = client.post(f"{API}/contacts/manual", headers=headers, json=body)
    again = client.post(f"{API}/contacts/manual", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert count_contacts(engine) == 1
    other = client.post(f"{API}/contacts/manual", headers=headers, json={**body, "line": "117"})
    assert other.status_code == 409
    someone = make_staff(Role.operator)
    r = client.post(
        f"{API}/contacts/manual",
        headers={**someone.headers, "Idempotency-Key": "manual-key-0001"},
        json=body,
    )
    assert r.status_code == 409
    assert count_contacts(engine) == 1


def test_gateways_may_not_start_manual_contacts(client: TestClient, gateway) -> None:
    r = client.post(f"{API}/contacts/manual", headers=gateway.headers, json={"line": "122"})
    assert r.status_code == 403


# --- the client, against real servers ---------------------------------------------------


def test_client_methods(live_server: str, make_staff) -> None:
    operator = make_staff(Role.operator)
    gateway = make_staff(Role.gateway, skills=[])
    with (
        EkcClient(live_server, token=operator.token) as op,
        EkcClient(live_server, token=gateway.token) as gw,
    ):
        empty = op.offers(wait=0)
        assert empty.contacts == []
        posted = gw.post_contact(
            ContactInbound(channel=Channel.phone, line=Line.l122, caller_number="89025551234")
        )
        started = time.monotonic()
        first = op.offers(version=empty.version, wait=10)
        assert time.monotonic() - started < 5
        assert [c.id for c in first.contacts] == [posted.id]
        assert first.contacts[0].caller_number == "+7 902 ***-**-34"
        same = op.offers(version=first.version, wait=0.3)
        assert same == first
        assert op.contact(posted.id).caller_number == "+7 902 ***-**-34"  # not theirs

        assert gw.abandon_contact(posted.id).status == ContactStatus.abandoned
        assert gw.abandon_contact(posted.id).status == ContactStatus.abandoned  # retried
        taken = gw.post_contact(ContactInbound(channel=Channel.phone, line=Line.l117))
        op.claim(taken.id)
        with pytest.raises(ConflictError):
            gw.abandon_contact(taken.id)
        with pytest.raises(PermissionDeniedError):
            gw.offers(wait=0)

        key = new_idempotency_key()
        manual = ContactManual(line=Line.l122, caller_number="8 (3952) 12-34-56")
        mine = op.start_manual(manual, idempotency_key=key)
        assert mine.status == ContactStatus.active and mine.caller_number == "+73952123456"
        assert op.start_manual(manual, idempotency_key=key).id == mine.id

        citizen = op.create_citizen(
            CitizenCreate(last_name="Петров", first_name="Иван", phones=["+79149998877"])
        )
        out = op.start_outbound(
            ContactOutbound(citizen_id=citizen.id, phone="89149998877"),
            idempotency_key=new_idempotency_key(),
        )
        assert (out.direction.value, out.caller_number) == ("out", "+79149998877")
        task = op.create_callback(
            CallbackCreate(
                citizen_id=citizen.id,
                reason="Перезвонить с ответом",
                due_at=datetime.now(UTC) + timedelta(hours=1),
            )
        )
        assert op.callback(task.id) == task


@pytest.mark.integration
def test_a_long_poll_wakes_up_across_server_processes(
    db_url: str, tmp_path: Path, make_staff
) -> None:
    """With several workers the poll and the post usually land in different processes."""
    operator = make_staff(Role.operator)
    gateway = make_staff(Role.gateway, skills=[])
    with (
        running_server(db_url, tmp_path, workers=2) as url,
        EkcClient(url, token=operator.token) as op,
    ):
        start = op.offers(wait=0)
        results = []
        for n in range(3):

            def post_later(n: int = n) -> None:
                time.sleep(0.5)
                with EkcClient(url, token=gateway.token) as gw:
                    gw.post_contact(
                        ContactInbound(
                            channel=Channel.phone,
                            line=Line.l122,
                            external_id=f"multi-{n}",
                            caller_number="89025551234",
                        )
                    )

            thread = threading.Thread(target=post_later)
            thread.start()
            began = time.monotonic()
            got = op.offers(version=start.version, wait=20)
            elapsed = time.monotonic() - began
            thread.join()
            results.append(elapsed)
            assert got.version != start.version
            assert len(got.contacts) == n + 1
            start = got
        assert max(results) < 5
