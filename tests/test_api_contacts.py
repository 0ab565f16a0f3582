"""Contacts: what gateways post, the queue, claim, end, wrap-up, abandon, outbound calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_server.models import Contact

API = "/api/v1"


def new_citizen(client: TestClient, who, phones: list[str], **fields) -> dict[str, Any]:
    body = {"last_name": "Кузнецова", "first_name": "Ольга", "phones": phones, **fields}
    r = client.post(f"{API}/citizens", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def post(client: TestClient, gateway, **fields):
    body = {"channel": "phone", "line": "122", "caller_number": "8 (3952) 12-34-56", **fields}
    return client.post(f"{API}/contacts", json=body, headers=gateway.headers)


def queued(client: TestClient, gateway, **fields) -> dict[str, Any]:
    r = post(client, gateway, **fields)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def active(client: TestClient, gateway, who, **fields) -> dict[str, Any]:
    c = queued(client, gateway, **fields)
    r = client.post(f"{API}/contacts/{c['id']}/claim", headers=who.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def count_contacts(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Contact)).one()


# --- inbound ----------------------------------------------------------------------------


def test_gateway_posts_an_inbound_call(client: TestClient, gateway) -> None:
    r = post(
        client,
        gateway,
        caller_number="8 (914) 000-12-34",
        line="117",
        external_id="ats-0001",
        handoff={
            "transcript": "Здравствуйте, вопрос по выплатам",
            "detected_topic": "svo",
            "detected_emotion": "тревога",
        },
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["channel"] == "phone"
    assert c["line"] == "117"
    assert c["direction"] == "in"
    assert c["status"] == "queued"
    assert c["caller_number"] == "+79140001234"
    assert c["citizen_id"] is None
    assert c["operator_id"] is None
    assert c["abandoned"] is False
    assert c["handoff"] == {
        "transcript": "Здравствуйте, вопрос по выплатам",
        "detected_topic": "svo",
        "detected_emotion": "тревога",
    }
    queued_at = datetime.fromisoformat(c["queued_at"])
    assert abs(datetime.now(UTC) - queued_at) < timedelta(minutes=1)


def test_a_call_needs_its_line(client: TestClient, engine: Engine, gateway) -> None:
    r = post(client, gateway, line=None)
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", "line"]
    assert "122 или 117" in err["msg"]
    r = post(client, gateway, line="999")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "line"]
    r = client.post(
        f"{API}/contacts",
        headers=gateway.headers,
        json={"channel": "email", "line": "122", "sender": "a@b.ru"},
    )
    assert r.status_code == 422
    assert count_contacts(engine) == 0


@pytest.mark.parametrize(
    ("queued_at", "reason"),
    [
        ("2026-03-01T10:00:00", "часовой пояс"),
        ((datetime.now(UTC) + timedelta(hours=1)).isoformat(), "в будущем"),
    ],
    ids=["naive", "future"],
)
def test_queued_at_must_be_aware_and_not_in_the_future(
    client: TestClient, engine: Engine, gateway, queued_at: str, reason: str
) -> None:
    r = post(client, gateway, queued_at=queued_at)
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", "queued_at"]
    assert reason in err["msg"]
    assert count_contacts(engine) == 0


@pytest.mark.parametrize("raw", ["12345", "anonymous"])
def test_hidden_or_unreadable_caller_number_still_queues_the_call(
    client: TestClient, gateway, operator, raw: str
) -> None:
    r = post(client, gateway, caller_number=raw)
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["status"], c["caller_number"], c["citizen_id"]) == ("queued", None, None)
    assert c["sender"] == raw  # what telephony sent is kept for the operator
    queue = client.get(f"{API}/contacts/queue", headers=operator.headers).json()
    assert [q["id"] for q in queue] == [c["id"]]


def test_written_channel_message(client: TestClient, gateway) -> None:
    r = client.post(
        f"{API}/contacts",
        headers=gateway.headers,
        json={
            "channel": "pos",
            "external_id": "POS-2026-1234567",
            "sender": "Госуслуги ПОС",
            "text": "Не вывозят мусор третью неделю",
            "office_code": "mfc_bodaibo",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["line"] is None
    assert r.json()["text"] == "Не вывозят мусор третью неделю"
    r = client.post(
        f"{API}/contacts",
        headers=gateway.headers,
        json={"channel": "email", "sender": "x@y.ru", "office_code": "no_such_office"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "office_code"]


def test_caller_is_identified_when_exactly_one_citizen_has_the_number(
    client: TestClient, operator, gateway
) -> None:
    only = new_citizen(client, operator, ["+7 914 000 12 34"])
    new_citizen(client, operator, ["8 (3952) 12-34-56"], last_name="Первая")
    new_citizen(client, operator, ["83952123456"], last_name="Вторая")
    assert queued(client, gateway, caller_number="89140001234")["citizen_id"] == only["id"]
    assert queued(client, gateway, caller_number="+73952123456")["citizen_id"] is None  # two
    assert queued(client, gateway, caller_number="+73952654321")["citizen_id"] is None  # none


def test_repeat_post_returns_the_same_contact(client: TestClient, engine: Engine, gateway) -> None:
    first = post(client, gateway, external_id="ats-42")
    assert first.status_code == 201
    again = post(client, gateway, external_id="ats-42")
    assert again.status_code == 200
    assert again.json() == first.json()
    other_channel = client.post(
        f"{API}/contacts",
        headers=gateway.headers,
        json={"channel": "web_chat", "external_id": "ats-42", "sender": "chat-1"},
    )
    assert other_channel.status_code == 201
    assert other_channel.json()["id"] != first.json()["id"]
    assert count_contacts(engine) == 2


def test_staff_may_post_contacts_too(client: TestClient, operator) -> None:
    r = post(client, operator, external_id="manual-1")
    assert r.status_code == 201


def test_queue_lists_waiting_contacts_oldest_first(client: TestClient, operator, gateway) -> None:
    now = datetime.now(UTC)
    late = queued(
        client, gateway, external_id="q1", queued_at=(now - timedelta(seconds=5)).isoformat()
    )
    early = queued(
        client, gateway, external_id="q2", queued_at=(now - timedelta(seconds=50)).isoformat()
    )
    middle = queued(
        client,
        gateway,
        external_id="q3",
        line="117",
        queued_at=(now - timedelta(seconds=20)).isoformat(),
    )
    taken = queued(
        client, gateway, external_id="q4", queued_at=(now - timedelta(seconds=90)).isoformat()
    )
    client.post(f"{API}/contacts/{taken['id']}/claim", headers=operator.headers)
    chat = client.post(
        f"{API}/contacts", headers=gateway.headers, json={"channel": "web_chat", "sender": "c1"}
    ).json()

    r = client.get(f"{API}/contacts/queue", headers=operator.headers)
    assert r.status_code == 200
    assert [c["id"] for c in r.json()] == [early["id"], middle["id"], late["id"], chat["id"]]
    assert all(c["status"] == "queued" for c in r.json())
    only_117 = client.get(f"{API}/contacts/queue", params={"line": "117"}, headers=operator.headers)
    assert [c["id"] for c in only_117.json()] == [middle["id"]]
    chats = client.get(
        f"{API}/contacts/queue", params={"channel": "web_chat"}, headers=operator.headers
    )
    assert [c["id"] for c in chats.json()] == [chat["id"]]
    assert (
        client.get(f"{API}/contacts/queue", params={"limit": 2}, headers=operator.headers).json()[
            1
        ]["id"]
        == middle["id"]
    )
    assert client.get(f"{API}/contacts/queue", headers=gateway.headers).status_code == 403


# --- claim, end, wrap-up ----------------------------------------------------------------


def test_full_life_of_a_call(client: TestClient, operator, gateway) -> None:
    citizen = new_citizen(client, operator, ["+7 914 000 12 34"])
    c = queued(client, gateway, caller_number="89140001234")
    r = client.post(f"{API}/contacts/{c['id']}/claim", headers=operator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert r.json()["operator_id"] == operator.id
    assert r.json()["answered_at"] is not None

    r = client.post(f"{API}/contacts/{c['id']}/end", headers=operator.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "wrapup"
    ended_at = r.json()["ended_at"]
    assert ended_at is not None

    r = client.post(
        f"{API}/contacts/{c['id']}/wrapup",
        headers=operator.headers,
        json={
            "topic_code": "svo.family_payments",
            "outcome": "consultation",
            "summary": "Разъяснён порядок получения выплаты",
        },
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done"
    assert done["outcome"] == "consultation"
    assert done["topic_code"] == "svo.family_payments"
    assert done["summary"] == "Разъяснён порядок получения выплаты"
    assert done["citizen_id"] == citizen["id"]
    assert done["ended_at"] == ended_at
    assert done["wrapup_ended_at"] >= ended_at

    got = client.get(f"{API}/contacts/{c['id']}", headers=operator.headers)
    assert got.json() == done
    again = client.post(
        f"{API}/contacts/{c['id']}/wrapup",
        headers=operator.headers,
        json={"topic_code": "svo", "outcome": "consultation"},
    )
    assert again.status_code == 409


def test_second_claim_is_409(client: TestClient, operator, make_staff, gateway) -> None:
    other = make_staff(Role.operator, username="second")
    c = queued(client, gateway)
    assert (
        client.post(f"{API}/contacts/{c['id']}/claim", headers=operator.headers).status_code == 200
    )
    r = client.post(f"{API}/contacts/{c['id']}/claim", headers=other.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "contact_taken"
    assert (
        client.get(f"{API}/contacts/{c['id']}", headers=other.headers).json()["operator_id"]
        == operator.id
    )
    # the winner retrying their own claim is fine
    retry = client.post(f"{API}/contacts/{c['id']}/claim", headers=operator.headers)
    assert retry.status_code == 200
    assert retry.json()["operator_id"] == operator.id


def test_claim_with_a_citizen(client: TestClient, operator, gateway) -> None:
    citizen = new_citizen(client, operator, [])
    c = queued(client, gateway)
    r = client.post(
        f"{API}/contacts/{c['id']}/claim", headers=operator.headers, json={"citizen_id": 999999}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "citizen_id"]
    assert (
        client.get(f"{API}/contacts/{c['id']}", headers=operator.headers).json()["status"]
        == "queued"
    )
    r = client.post(
        f"{API}/contacts/{c['id']}/claim",
        headers=operator.headers,
        json={"citizen_id": citizen["id"]},
    )
    assert r.status_code == 200
    assert r.json()["citizen_id"] == citizen["id"]


def test_wrapup_with_unknown_topic_is_422_and_changes_nothing(
    client: TestClient, operator, gateway
) -> None:
    c = active(client, gateway, operator)
    r = client.post(
        f"{API}/contacts/{c['id']}/wrapup",
        headers=operator.headers,
        json={"topic_code": "no.such.topic", "outcome": "consultation"},
    )
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", "topic_code"]
    assert "no.such.topic" in err["msg"]
    assert (
        client.get(f"{API}/contacts/{c['id']}", headers=operator.headers).json()["status"]
        == "active"
    )


def test_wrapup_with_a_retired_topic_is_422(client: TestClient, operator, admin, gateway) -> None:
    topics = client.get(f"{API}/topics", headers=admin.headers).json()
    retired = next(t for t in topics if t["code"] == "transport")
    client.patch(f"{API}/topics/{retired['id']}", headers=admin.headers, json={"active": False})
    c = active(client, gateway, operator)
    r = client.post(
        f"{API}/contacts/{c['id']}/wrapup",
        headers=operator.headers,
        json={"topic_code": "transport", "outcome": "consultation"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "topic_code"]
    assert "больше не используется" in r.json()["detail"][0]["msg"]


def test_wrapup_appeal_registered_needs_the_appeal(client: TestClient, operator, gateway) -> None:
    citizen = new_citizen(client, operator, [])
    c = active(client, gateway, operator)
    r = client.post(
        f"{API}/contacts/{c['id']}/wrapup",
        headers=operator.headers,
        json={"topic_code": "housing", "outcome": "appeal_registered"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "appeal_id"]
    appeal = client.post(
        f"{API}/appeals",
        headers=operator.headers,
        json={
            "citizen_id": citizen["id"],
            "kind": "appeal_59fz",
            "topic_code": "housing",
            "summary": "Протекает крыша",
            "contact_id": c["id"],
        },
    ).json()
    # registering the appeal with the contact links them
    assert (
        client.get(f"{API}/contacts/{c['id']}", headers=operator.headers).json()["appeal_id"]
        == appeal["id"]
    )
    r = client.post(
        f"{API}/contacts/{c['id']}/wrapup",
        headers=operator.headers,
        json={"topic_code": "housing", "outcome": "appeal_registered", "citizen_id": citizen["id"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["appeal_id"] == appeal["id"]
    assert r.json()["citizen_id"] == citizen["id"]


def test_wrapup_and_end_by_another_operator_are_409(
    client: TestClient, operator, make_staff, gateway
) -> None:
    other = make_staff(Role.operator, username="intruder")
    c = active(client, gateway, operator)
    r = client.post(
        f"{API}/contacts/{c['id']}/wrapup",
        headers=other.headers,
        json={"topic_code": "svo", "outcome": "consultation"},
    )
    assert r.status_code == 409
    assert "другой оператор" in r.json()["detail"]
    assert client.post(f"{API}/contacts/{c['id']}/end", headers=other.headers).status_code == 409
    now = client.get(f"{API}/contacts/{c['id']}", headers=operator.headers).json()
    assert now["status"] == "active"
    assert now["outcome"] is None


def test_wrapup_is_idempotent_with_a_key(client: TestClient, operator, gateway) -> None:
    c = active(client, gateway, operator)
    headers = {**operator.headers, "Idempotency-Key": "wrapup-key-0001"}
    body = {"topic_code": "medicine", "outcome": "consultation", "summary": "Запись к врачу"}
    first = client.post(f"{API}/contacts/{c['id']}/wrapup", headers=headers, json=body)
    assert first.status_code == 200, first.text
    retry = client.post(f"{API}/contacts/{c['id']}/wrapup", headers=headers, json=body)
    assert retry.status_code == 200
    assert retry.json() == first.json()


def test_end_of_a_queued_contact_is_409(client: TestClient, operator, gateway) -> None:
    c = queued(client, gateway)
    r = client.post(f"{API}/contacts/{c['id']}/end", headers=operator.headers)
    assert r.status_code == 409


# --- abandon ----------------------------------------------------------------------------


def test_abandon_a_waiting_call(client: TestClient, operator, gateway) -> None:
    c = queued(client, gateway)
    r = client.post(f"{API}/contacts/{c['id']}/abandon", headers=gateway.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "abandoned"
    assert r.json()["abandoned"] is True
    assert r.json()["ended_at"] is not None
    assert client.get(f"{API}/contacts/queue", headers=operator.headers).json() == []
    claim = client.post(f"{API}/contacts/{c['id']}/claim", headers=operator.headers)
    assert claim.status_code == 409
    retry = client.post(f"{API}/contacts/{c['id']}/abandon", headers=gateway.headers)
    assert retry.status_code == 200


def test_abandon_of_an_answered_call_is_409(client: TestClient, operator, gateway) -> None:
    c = active(client, gateway, operator)
    r = client.post(f"{API}/contacts/{c['id']}/abandon", headers=gateway.headers)
    assert r.status_code == 409
    now = client.get(f"{API}/contacts/{c['id']}", headers=operator.headers).json()
    assert now["status"] == "active"
    assert now["abandoned"] is False


def test_hang_up_while_waiting_abandons(client: TestClient, gateway) -> None:
    c = queued(client, gateway)
    r = client.post(f"{API}/contacts/{c['id']}/hangup", headers=gateway.headers)
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["abandoned"]) == ("abandoned", True)


def test_hang_up_during_the_conversation_ends_it(client: TestClient, operator, gateway) -> None:
    c = active(client, gateway, operator)
    r = client.post(f"{API}/contacts/{c['id']}/hangup", headers=gateway.headers)
    assert r.status_code == 200
    now = client.get(f"{API}/contacts/{c['id']}", headers=operator.headers).json()
    # the operator still wraps it up: it was answered, so it is not an abandoned call
    assert (now["status"], now["abandoned"], now["operator_id"]) == ("wrapup", False, operator.id)
    assert now["ended_at"] >= now["answered_at"]
    # a late or repeated report changes nothing
    again = client.post(f"{API}/contacts/{c['id']}/hangup", headers=gateway.headers)
    assert again.status_code == 200
    assert again.json()["ended_at"] == now["ended_at"]
    wrapped = client.post(
        f"{API}/contacts/{c['id']}/wrapup",
        headers=operator.headers,
        json={"topic_code": "svo", "outcome": "consultation"},
    )
    assert wrapped.json()["status"] == "done"
    late = client.post(f"{API}/contacts/{c['id']}/hangup", headers=gateway.headers)
    assert late.json() == wrapped.json()


def test_unknown_contact_is_404(client: TestClient, operator) -> None:
    for action in ("claim", "end", "abandon"):
        r = client.post(f"{API}/contacts/999999/{action}", headers=operator.headers)
        assert r.status_code == 404, action
        assert "999999" in r.json()["detail"]
    r = client.post(
        f"{API}/contacts/999999/wrapup",
        headers=operator.headers,
        json={"topic_code": "svo", "outcome": "consultation"},
    )
    assert r.status_code == 404
    assert client.get(f"{API}/contacts/999999", headers=operator.headers).status_code == 404


# --- outbound ---------------------------------------------------------------------------


def test_outbound_call(client: TestClient, operator) -> None:
    citizen = new_citizen(client, operator, ["+7 914 000 12 34"])
    r = client.post(
        f"{API}/contacts/outbound",
        headers=operator.headers,
        json={"citizen_id": citizen["id"], "phone": "8-914-000-12-34"},
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["direction"] == "out"
    assert c["status"] == "active"
    assert c["operator_id"] == operator.id
    assert c["caller_number"] == "+79140001234"
    assert client.get(f"{API}/contacts/queue", headers=operator.headers).json() == []
    r = client.post(
        f"{API}/contacts/outbound",
        headers=operator.headers,
        json={"citizen_id": citizen["id"], "phone": "8914", "callback_id": None},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "phone"]
    r = client.post(
        f"{API}/contacts/outbound",
        headers=operator.headers,
        json={"citizen_id": citizen["id"], "phone": "89140001234", "callback_id": 999999},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "callback_id"]


def test_queue_masks_numbers_and_the_claim_shows_the_whole_number(
    client: TestClient, operator, gateway
) -> None:
    c = queued(client, gateway, caller_number="8 (914) 000-12-34")
    (listed,) = client.get(f"{API}/contacts/queue", headers=operator.headers).json()
    assert listed["caller_number"] == "+7 914 ***-**-34"
    claimed = client.post(f"{API}/contacts/{c['id']}/claim", headers=operator.headers).json()
    assert claimed["caller_number"] == "+79140001234"


def test_wrapup_of_a_contact_nobody_took(client: TestClient, operator, gateway) -> None:
    c = queued(client, gateway)
    r = client.post(f"{API}/contacts/{c['id']}/end", headers=operator.headers)
    assert r.status_code == 409
    assert "ещё никто не принял" in r.json()["detail"]


def test_take_claims_and_returns_the_callers_history_in_one_answer(
    client: TestClient, operator, gateway, admin, make_staff
) -> None:
    citizen = new_citizen(client, operator, ["+73952123456"])
    c = queued(client, gateway)  # 8 (3952) 12-34-56: the citizen above
    assert c["citizen_id"] == citizen["id"]
    r = client.post(f"{API}/contacts/{c['id']}/take", headers=operator.headers)
    assert r.status_code == 200, r.text
    taken = r.json()
    assert taken["contact"]["status"] == "active"
    assert taken["contact"]["caller_number"] == "+73952123456"  # the card shows it in full
    history = taken["history"]
    assert history["citizen"]["id"] == citizen["id"]
    assert [i["contact"]["id"] for i in history["page"]["items"] if i["contact"]] == [c["id"]]
    # the history view is audited like GET /citizens/{id}/history
    audit = client.get(
        f"{API}/audit", params={"citizen_id": citizen["id"]}, headers=admin.headers
    ).json()
    assert any(row["action"] == "view_history" for row in audit)
    # a second operator is too late; an unknown caller comes without history
    other = make_staff(Role.operator)
    r = client.post(f"{API}/contacts/{c['id']}/take", headers=other.headers)
    assert r.status_code == 409
    unknown = queued(client, gateway, caller_number="+79990001122")
    r = client.post(f"{API}/contacts/{unknown['id']}/take", headers=operator.headers)
    assert r.status_code == 200 and r.json()["history"] is None
