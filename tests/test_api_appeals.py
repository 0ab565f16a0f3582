"""Appeals: numbering, 59-FZ deadlines, idempotent create, filters, events and their rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_server.models import Appeal, AppealCounter, AppealEvent

API = "/api/v1"
YEAR = datetime.now(ZoneInfo("Asia/Irkutsk")).year


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def new_citizen(client: TestClient, who, **fields) -> dict[str, Any]:
    body = {"last_name": "Смирнов", "first_name": "Олег", "phones": ["89140001234"], **fields}
    r = client.post(f"{API}/citizens", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def create(
    client: TestClient, who, citizen_id: int, headers: dict[str, Any] | None = None, **fields
):
    body = {
        "citizen_id": citizen_id,
        "kind": "appeal_59fz",
        "topic_code": "svo.family_payments",
        "summary": "Не пришла выплата",
        **fields,
    }
    return client.post(f"{API}/appeals", json=body, headers={**who.headers, **(headers or {})})


def new_appeal(client: TestClient, who, citizen_id: int, **fields) -> dict[str, Any]:
    r = create(client, who, citizen_id, **fields)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def event(client: TestClient, who, appeal_id: int, **body):
    return client.post(f"{API}/appeals/{appeal_id}/events", json=body, headers=who.headers)


def counts(engine: Engine) -> tuple[int, int, int]:
    """(appeals, events, last number of this year)."""
    with Session(engine) as session:
        appeals = session.exec(select(func.count()).select_from(Appeal)).one()
        events = session.exec(select(func.count()).select_from(AppealEvent)).one()
        counter = session.get(AppealCounter, YEAR)
        return appeals, events, counter.last_seq if counter else 0


@pytest.fixture
def citizen(client: TestClient, operator) -> dict[str, Any]:
    return new_citizen(client, operator)


# --- create -----------------------------------------------------------------------------


def test_create_numbers_deadlines_and_default_agency(client: TestClient, operator, citizen) -> None:
    received = datetime.now(UTC) - timedelta(days=1, hours=2)
    before = datetime.now(UTC)
    r = create(
        client,
        operator,
        citizen["id"],
        received_at=received.isoformat(),
        description="Супруг на СВО, выплата за март не поступила",
        complex=True,
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert re.fullmatch(rf"122-{YEAR}-\d{{6}}", a["number"])
    assert a["status"] == "registered"
    assert a["kind"] == "appeal_59fz"
    assert a["topic_code"] == "svo.family_payments"
    assert a["agency_code"] == "minsoc_io"  # the topic's default agency
    assert a["complex"] is True
    assert a["overdue"] is False
    assert a["version"] == 1
    assert a["citizen_id"] == citizen["id"]
    registered = at(a["registered_at"])
    assert before <= registered <= datetime.now(UTC)
    assert at(a["received_at"]) == received
    assert at(a["register_due"]) == received + timedelta(days=3)
    assert at(a["forward_due"]) == registered + timedelta(days=7)
    assert at(a["answer_due"]) == registered + timedelta(days=30)
    assert [(e["type"], e["actor_id"], e["actor_name"]) for e in a["events"]] == [
        ("created", operator.id, "Тестовый operator")
    ]

    second = new_appeal(client, operator, citizen["id"])
    n1 = int(a["number"].rsplit("-", 1)[1])
    assert second["number"] == f"122-{YEAR}-{n1 + 1:06d}"


def test_explicit_agency_and_topic_without_default(client: TestClient, operator, citizen) -> None:
    a = new_appeal(
        client, operator, citizen["id"], topic_code="svo.contract", agency_code="voenkomat_io"
    )
    assert a["agency_code"] == "voenkomat_io"
    b = new_appeal(client, operator, citizen["id"], topic_code="medicine.dental")
    assert b["agency_code"] is None  # no default: the operator chooses when forwarding


def test_pos_message_uses_the_shorter_topic_term(client: TestClient, operator, citizen) -> None:
    a = new_appeal(
        client, operator, citizen["id"], kind="pos_message", topic_code="medicine.appointment"
    )
    assert at(a["answer_due"]) == at(a["registered_at"]) + timedelta(days=5)
    b = new_appeal(
        client, operator, citizen["id"], kind="appeal_59fz", topic_code="medicine.appointment"
    )
    assert at(b["answer_due"]) == at(b["registered_at"]) + timedelta(days=30)


def test_kinds_without_terms_and_same_day_terms(client: TestClient, operator, citizen) -> None:
    consultation = new_appeal(client, operator, citizen["id"], kind="consultation")
    assert (
        consultation["register_due"],
        consultation["forward_due"],
        consultation["answer_due"],
    ) == (None, None, None)
    emergency = new_appeal(
        client, operator, citizen["id"], kind="emergency", topic_code="emergency"
    )
    assert at(emergency["register_due"]) == at(emergency["received_at"]) + timedelta(hours=24)
    assert at(emergency["forward_due"]) == at(emergency["registered_at"]) + timedelta(hours=24)


BAD_CREATES: list[tuple[dict[str, Any], str]] = [
    ({"topic_code": "no.such"}, "topic_code"),
    ({"citizen_id": 999999}, "citizen_id"),
    ({"agency_code": "no_such"}, "agency_code"),
    ({"contact_id": 999999}, "contact_id"),
    ({"assignee_id": 999999}, "assignee_id"),
    ({"kind": "letter"}, "kind"),
    ({"summary": ""}, "summary"),
    ({"received_at": "2020-01-01T10:00:00"}, "received_at"),  # no time zone
    ({"received_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "received_at"),
]


def test_bad_create_is_422_and_writes_nothing(
    client: TestClient, engine: Engine, operator, citizen
) -> None:
    new_appeal(client, operator, citizen["id"])
    before = counts(engine)
    for bad, field in BAD_CREATES:
        fields = dict(bad)
        r = create(client, operator, fields.pop("citizen_id", citizen["id"]), **fields)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", field], bad
        assert counts(engine) == before, bad  # no appeal, no event, no number used
    after = new_appeal(client, operator, citizen["id"])
    assert after["number"] == f"122-{YEAR}-{before[2] + 1:06d}"


def test_retired_topic_takes_no_new_appeals(client: TestClient, operator, admin, citizen) -> None:
    old = new_appeal(client, operator, citizen["id"], topic_code="culture")
    topics = client.get(f"{API}/topics", headers=admin.headers).json()
    culture = next(t for t in topics if t["code"] == "culture")
    client.patch(f"{API}/topics/{culture['id']}", headers=admin.headers, json={"active": False})
    r = create(client, operator, citizen["id"], topic_code="culture")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "topic_code"]
    # appeals filed before keep their topic and can still be found by it
    listed = client.get(
        f"{API}/appeals", params={"topic": "culture"}, headers=operator.headers
    ).json()
    assert [a["id"] for a in listed["items"]] == [old["id"]]


def test_gateway_cannot_create_appeals(client: TestClient, gateway, citizen) -> None:
    r = create(client, gateway, citizen["id"])
    assert r.status_code == 403


# --- idempotency ------------------------------------------------------------------------


def test_retry_with_the_same_key_returns_the_first_result(
    client: TestClient, engine: Engine, operator, citizen
) -> None:
    key = {"Idempotency-Key": "8b5c0f5e-appeal-0001"}
    first = create(client, operator, citizen["id"], headers=key)
    assert first.status_code == 201, first.text
    retry = create(client, operator, citizen["id"], headers=key)
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert counts(engine)[:2] == (1, 1)
    listed = client.get(
        f"{API}/appeals", params={"citizen_id": citizen["id"]}, headers=operator.headers
    ).json()
    assert listed["total"] == 1
    assert listed["items"][0]["id"] == first.json()["id"]


def test_same_key_with_a_different_body_or_user_is_409(
    client: TestClient, engine: Engine, operator, make_staff, citizen
) -> None:
    key = {"Idempotency-Key": "8b5c0f5e-appeal-0002"}
    assert create(client, operator, citizen["id"], headers=key).status_code == 201
    r = create(client, operator, citizen["id"], headers=key, summary="Другой текст")
    assert r.status_code == 409
    assert r.json()["field"] == "Idempotency-Key"
    other = make_staff(Role.operator, username="other")
    r = create(client, other, citizen["id"], headers=key)
    assert r.status_code == 409
    assert counts(engine)[0] == 1


def test_a_failed_request_does_not_use_up_its_key(
    client: TestClient, engine: Engine, operator, citizen
) -> None:
    key = {"Idempotency-Key": "8b5c0f5e-appeal-0003"}
    bad = create(client, operator, citizen["id"], headers=key, topic_code="no.such")
    assert bad.status_code == 422
    good = create(client, operator, citizen["id"], headers=key)
    assert good.status_code == 201
    assert counts(engine)[:2] == (1, 1)


def test_too_short_key_is_422(client: TestClient, operator, citizen) -> None:
    r = create(client, operator, citizen["id"], headers={"Idempotency-Key": "abc"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


# --- read and list ----------------------------------------------------------------------


def test_get_appeal_is_audited(client: TestClient, operator, admin, citizen) -> None:
    a = new_appeal(client, operator, citizen["id"])
    r = client.get(f"{API}/appeals/{a['id']}", headers=operator.headers)
    assert r.status_code == 200
    assert r.json() == a
    rows = client.get(
        f"{API}/audit", params={"citizen_id": citizen["id"]}, headers=admin.headers
    ).json()
    assert rows[0]["action"] == "view_appeal"
    assert rows[0]["details"] == {"appeal_id": a["id"]}
    assert rows[0]["workstation"] == "ws-operator"


def test_unknown_appeal_is_404(client: TestClient, operator) -> None:
    r = client.get(f"{API}/appeals/999999", headers=operator.headers)
    assert r.status_code == 404
    assert "999999" in r.json()["detail"]
    r = event(client, operator, 999999, type="comment", text="x")
    assert r.status_code == 404


def test_list_filters(client: TestClient, engine: Engine, operator, lead, admin, citizen) -> None:
    other = new_citizen(client, operator, last_name="Другой", phones=[])
    svo_child = new_appeal(client, operator, citizen["id"], assignee_id=lead.id)
    svo_top = new_appeal(client, operator, citizen["id"], topic_code="svo")
    medicine = new_appeal(
        client, operator, other["id"], topic_code="medicine.polyclinic", kind="complaint"
    )
    housing = new_appeal(client, operator, other["id"], topic_code="housing", agency_code="gzhn_io")
    # a third level added by an admin still counts under the top topic
    r = client.post(
        f"{API}/topics",
        headers=admin.headers,
        json={
            "code": "svo.family_payments.march",
            "name": "Мартовская выплата",
            "parent_code": "svo.family_payments",
        },
    )
    assert r.status_code == 201, r.text
    deep = new_appeal(client, operator, citizen["id"], topic_code="svo.family_payments.march")
    assert event(client, operator, housing["id"], type="resolved").status_code == 201
    with Session(engine) as session:
        late = session.get(Appeal, medicine["id"])
        assert late is not None
        late.answer_due = datetime.now(UTC) - timedelta(hours=1)
        session.add(late)
        session.commit()

    def ids(**params) -> list[int]:
        r = client.get(f"{API}/appeals", params=params, headers=operator.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["total"] == len(page["items"])
        return [a["id"] for a in page["items"]]

    everything = ids()
    assert everything == [
        deep["id"],
        housing["id"],
        medicine["id"],
        svo_top["id"],
        svo_child["id"],
    ]  # newest first
    assert set(ids(status="resolved")) == {housing["id"]}
    assert set(ids(status=["registered", "resolved"])) == set(everything)
    assert set(ids(agency="gzhn_io")) == {housing["id"]}
    assert set(ids(topic="svo")) == {svo_child["id"], svo_top["id"], deep["id"]}
    assert set(ids(topic="svo.family_payments")) == {svo_child["id"], deep["id"]}
    assert set(ids(topic="medicine")) == {medicine["id"]}
    assert set(ids(overdue=True)) == {medicine["id"]}
    assert set(ids(overdue=False)) == set(everything) - {medicine["id"]}
    assert set(ids(assignee_id=lead.id)) == {svo_child["id"]}
    assert set(ids(citizen_id=other["id"])) == {medicine["id"], housing["id"]}
    assert set(ids(topic="svo", status="registered", citizen_id=citizen["id"])) == {
        svo_child["id"],
        svo_top["id"],
        deep["id"],
    }

    listed = client.get(f"{API}/appeals", params={"overdue": True}, headers=operator.headers).json()
    assert listed["items"][0]["overdue"] is True

    page = client.get(
        f"{API}/appeals", params={"limit": 2, "offset": 2}, headers=operator.headers
    ).json()
    assert [a["id"] for a in page["items"]] == everything[2:4]
    assert (page["total"], page["offset"], page["limit"], page["next_offset"]) == (5, 2, 2, 4)
    last = client.get(
        f"{API}/appeals", params={"limit": 2, "offset": 4}, headers=operator.headers
    ).json()
    assert last["next_offset"] is None

    for param, field in (("agency", "agency"), ("topic", "topic")):
        r = client.get(f"{API}/appeals", params={param: "nope"}, headers=operator.headers)
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["query", field]
    r = client.get(f"{API}/appeals", params={"status": "lost"}, headers=operator.headers)
    assert r.status_code == 422


# --- events -----------------------------------------------------------------------------


def test_life_of_a_complex_appeal(client: TestClient, operator, lead, citizen) -> None:
    a = new_appeal(client, operator, citizen["id"], topic_code="medicine.dental")

    r = event(client, operator, a["id"], type="forwarded", text="Направлено")
    assert r.status_code == 422  # no agency yet
    assert r.json()["detail"][0]["loc"] == ["body", "agency_code"]

    r = event(client, operator, a["id"], type="agency_reply", text="Ответ")
    assert r.status_code == 409  # not forwarded yet

    r = event(
        client,
        operator,
        a["id"],
        type="forwarded",
        agency_code="minzdrav_io",
        text="Направлено в Минздрав",
    )
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"] == "forwarded"
    assert d["agency_code"] == "minzdrav_io"
    assert d["forwarded_at"] is not None
    assert d["version"] == 2
    last = d["events"][-1]
    assert (last["type"], last["agency_code"], last["actor_id"]) == (
        "forwarded",
        "minzdrav_io",
        operator.id,
    )
    assert last["data"] == {"from": "registered", "to": "forwarded"}

    r = event(client, operator, a["id"], type="agency_reply", text="")
    assert r.status_code == 422
    r = event(client, operator, a["id"], type="agency_reply", text="Запись к стоматологу на 5-е")
    assert r.status_code == 201
    assert r.json()["status"] == "in_progress"

    r = event(client, operator, a["id"], type="closed")
    assert r.status_code == 409  # only a resolved appeal can be closed
    assert r.json()["code"] == "conflict"

    r = event(client, operator, a["id"], type="resolved", text="Принят врачом")
    assert r.status_code == 201
    assert r.json()["status"] == "resolved"
    assert r.json()["resolved_at"] is not None

    r = event(client, operator, a["id"], type="callback_made", text="Гражданин доволен")
    assert r.status_code == 201
    r = event(client, operator, a["id"], type="closed")
    assert r.status_code == 201
    final = r.json()
    assert final["status"] == "closed"
    assert final["closed_at"] is not None
    assert [e["type"] for e in final["events"]] == [
        "created",
        "forwarded",
        "agency_reply",
        "resolved",
        "callback_made",
        "closed",
    ]
    assert final["version"] == 6

    for kind in ("forwarded", "resolved", "cancelled", "extended"):
        r = event(client, lead, a["id"], type=kind, agency_code="minzdrav_io", extension_days=1)
        assert r.status_code == 409, kind
    r = event(client, operator, a["id"], type="comment", text="Архивная пометка")
    assert r.status_code == 201  # comments are always possible


def test_extension_rules(client: TestClient, operator, lead, citizen) -> None:
    a = new_appeal(client, operator, citizen["id"])
    due = at(a["answer_due"])
    r = event(client, operator, a["id"], type="extended", extension_days=10)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert (
        at(client.get(f"{API}/appeals/{a['id']}", headers=operator.headers).json()["answer_due"])
        == due
    )

    r = event(client, lead, a["id"], type="extended")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "extension_days"]

    r = event(
        client, lead, a["id"], type="extended", extension_days=20, text="Требуется выезд на место"
    )
    assert r.status_code == 201, r.text
    d = r.json()
    assert at(d["answer_due"]) == due + timedelta(days=20)
    assert d["extension_days"] == 20
    assert d["status"] == "registered"
    assert d["events"][-1]["data"]["days"] == 20

    r = event(client, lead, a["id"], type="extended", extension_days=11)
    assert r.status_code == 409
    assert r.json()["field"] == "extension_days"
    assert "осталось 10 дн." in r.json()["detail"]
    r = event(client, lead, a["id"], type="extended", extension_days=10)
    assert r.status_code == 201
    assert at(r.json()["answer_due"]) == due + timedelta(days=30)

    consultation = new_appeal(client, operator, citizen["id"], kind="consultation")
    r = event(client, lead, consultation["id"], type="extended", extension_days=1)
    assert r.status_code == 409


def test_cancel_needs_a_shift_lead(client: TestClient, operator, lead, citizen) -> None:
    a = new_appeal(client, operator, citizen["id"])
    r = event(client, operator, a["id"], type="cancelled", text="Дубль")
    assert r.status_code == 403
    assert (
        client.get(f"{API}/appeals/{a['id']}", headers=operator.headers).json()["status"]
        == "registered"
    )
    r = event(client, lead, a["id"], type="cancelled", text="Дубль")
    assert r.status_code == 201
    assert r.json()["status"] == "cancelled"
    assert r.json()["overdue"] is False


def test_status_change_rules(client: TestClient, operator, citizen) -> None:
    a = new_appeal(client, operator, citizen["id"])
    r = event(client, operator, a["id"], type="status_change")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "status"]
    r = event(client, operator, a["id"], type="status_change", status="closed")
    assert r.status_code == 409
    r = event(client, operator, a["id"], type="status_change", status="in_progress")
    assert r.status_code == 201
    assert r.json()["status"] == "in_progress"
    event(client, operator, a["id"], type="resolved")
    r = event(
        client,
        operator,
        a["id"],
        type="status_change",
        status="in_progress",
        text="Гражданин сообщил, что вопрос не решён",
    )
    assert r.status_code == 201
    assert r.json()["status"] == "in_progress"
    assert r.json()["resolved_at"] is None  # reopened


def test_bad_events_are_refused_and_change_nothing(client: TestClient, operator, citizen) -> None:
    a = new_appeal(client, operator, citizen["id"])
    for body, status in (
        ({"type": "comment"}, 422),
        ({"type": "comment", "text": "   "}, 422),
        ({"type": "created", "text": "x"}, 422),
        ({"type": "forwarded", "agency_code": "no_such"}, 422),
        ({"type": "teleported"}, 422),
    ):
        r = event(client, operator, a["id"], **body)
        assert r.status_code == status, (body, r.text)
    now = client.get(f"{API}/appeals/{a['id']}", headers=operator.headers).json()
    assert now == a
    r = event(client, operator, a["id"], type="comment", text="Гражданин перезвонил")
    assert r.status_code == 201
    assert r.json()["events"][-1]["text"] == "Гражданин перезвонил"


def test_event_retry_with_a_key_is_applied_once(
    client: TestClient, operator, lead, citizen
) -> None:
    a = new_appeal(client, operator, citizen["id"])
    headers = {**lead.headers, "Idempotency-Key": "event-key-000001"}
    body = {"type": "extended", "extension_days": 15}
    first = client.post(f"{API}/appeals/{a['id']}/events", json=body, headers=headers)
    retry = client.post(f"{API}/appeals/{a['id']}/events", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    now = client.get(f"{API}/appeals/{a['id']}", headers=operator.headers).json()
    assert now["extension_days"] == 15
    assert [e["type"] for e in now["events"]] == ["created", "extended"]


def test_expired_idempotency_records_are_purged(engine, client, operator) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlmodel import Session, select

    from ekc_server.models import IdempotencyRecord
    from ekc_server.services.idempotency import RETENTION, purge_expired

    with Session(engine) as session:
        for key, age in (
            ("old-key-0001", RETENTION + timedelta(hours=1)),
            ("new-key-0001", timedelta(hours=1)),
        ):
            session.add(
                IdempotencyRecord(
                    key=key,
                    staff_id=operator.id,
                    endpoint="POST /x",
                    request_hash="0" * 64,
                    status_code=201,
                    response={},
                    created_at=datetime.now(UTC) - age,
                )
            )
        session.commit()
        assert purge_expired(session=session) == 1
        session.commit()
        keys = session.exec(select(IdempotencyRecord.key)).all()
    assert keys == ["new-key-0001"]
