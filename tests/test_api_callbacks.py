"""Callback tasks: create with defaults, mine / group / all, attempts and results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_server.models import CallbackTask

API = "/api/v1"


def due(hours: float = 2) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def new_citizen(client: TestClient, who, phones: list[str], **fields) -> dict[str, Any]:
    body = {"last_name": "Волкова", "first_name": "Ирина", "phones": phones, **fields}
    r = client.post(f"{API}/citizens", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def create(client: TestClient, who, citizen_id: int, **fields):
    body = {"citizen_id": citizen_id, "reason": "Сообщить результат", "due_at": due(), **fields}
    return client.post(f"{API}/callbacks", json=body, headers=who.headers)


def new_task(client: TestClient, who, citizen_id: int, **fields) -> dict[str, Any]:
    r = create(client, who, citizen_id, **fields)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def attempt(client: TestClient, who, task_id: int, **body):
    return client.post(f"{API}/callbacks/{task_id}/attempts", json=body, headers=who.headers)


def listed(client: TestClient, who, **params) -> list[int]:
    r = client.get(f"{API}/callbacks", params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()]


@pytest.fixture
def citizen(client: TestClient, operator) -> dict[str, Any]:
    return new_citizen(client, operator, ["8-914-000-12-34", "8 (3952) 12-34-56"])


def test_create_defaults_to_first_phone_and_to_me(client: TestClient, operator, citizen) -> None:
    when = due(3)
    r = create(client, operator, citizen["id"], due_at=when)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["phone"] == "+79140001234"
    assert t["assignee_id"] == operator.id
    assert t["group"] is None
    assert t["status"] == "open"
    assert t["attempts"] == 0
    assert t["result"] is None
    assert t["overdue"] is False
    assert t["citizen_name"] == "Волкова Ирина"
    assert datetime.fromisoformat(t["due_at"]) == datetime.fromisoformat(when)


def test_create_with_explicit_phone_group_and_appeal(client: TestClient, operator, citizen) -> None:
    appeal = client.post(
        f"{API}/appeals",
        headers=operator.headers,
        json={
            "citizen_id": citizen["id"],
            "kind": "appeal_59fz",
            "topic_code": "housing",
            "summary": "Нет отопления",
        },
    ).json()
    t = new_task(
        client,
        operator,
        citizen["id"],
        phone="+7 3952 123456",
        group="housing",
        appeal_id=appeal["id"],
    )
    assert t["phone"] == "+73952123456"
    assert t["assignee_id"] is None  # a group task
    assert t["group"] == "housing"
    assert t["appeal_id"] == appeal["id"]
    assert t["appeal_number"] == appeal["number"]


BAD_CREATES: list[tuple[dict[str, Any], str]] = [
    ({"citizen_id": 999999}, "citizen_id"),
    ({"appeal_id": 999999}, "appeal_id"),
    ({"contact_id": 999999}, "contact_id"),
    ({"assignee_id": 999999}, "assignee_id"),
    ({"phone": "12345"}, "phone"),
    ({"due_at": "2030-01-01T10:00:00"}, "due_at"),  # no time zone
    ({"reason": ""}, "reason"),
]


def test_bad_create_is_422_and_writes_nothing(
    client: TestClient, engine: Engine, operator, citizen
) -> None:
    for fields, field in BAD_CREATES:
        body = {"citizen_id": citizen["id"], "reason": "Перезвонить", "due_at": due(), **fields}
        r = client.post(f"{API}/callbacks", json=body, headers=operator.headers)
        assert r.status_code == 422, (fields, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", field], fields
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(CallbackTask)).one() == 0


def test_citizen_without_phone_needs_one(client: TestClient, operator) -> None:
    silent = new_citizen(client, operator, [])
    r = create(client, operator, silent["id"])
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "phone"]
    assert new_task(client, operator, silent["id"], phone="89140001234")["phone"] == (
        "+79140001234"
    )


def test_appeal_of_another_citizen_is_refused(client: TestClient, operator, citizen) -> None:
    other = new_citizen(client, operator, ["+73952654321"], last_name="Другая")
    appeal = client.post(
        f"{API}/appeals",
        headers=operator.headers,
        json={
            "citizen_id": other["id"],
            "kind": "consultation",
            "topic_code": "svo",
            "summary": "Вопрос",
        },
    ).json()
    r = create(client, operator, citizen["id"], appeal_id=appeal["id"])
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "appeal_id"]


def test_scopes(client: TestClient, operator, lead, make_staff, citizen) -> None:
    colleague = make_staff(Role.operator, username="colleague", skills=["medicine"])
    mine_late = new_task(client, operator, citizen["id"], due_at=due(5))
    mine_soon = new_task(client, operator, citizen["id"], due_at=due(1))
    housing_group = new_task(client, colleague, citizen["id"], group="housing", due_at=due(2))
    medicine_group = new_task(client, operator, citizen["id"], group="medicine")
    theirs = new_task(client, colleague, citizen["id"])
    assigned_in_group = new_task(
        client, operator, citizen["id"], group="svo", assignee_id=colleague.id
    )

    assert listed(client, operator, scope="mine") == [mine_soon["id"], mine_late["id"]]
    assert listed(client, operator, scope="group") == [housing_group["id"]]  # skills svo+housing
    assert listed(client, operator) == [mine_soon["id"], housing_group["id"], mine_late["id"]]
    assert set(listed(client, colleague, scope="mine")) == {theirs["id"], assigned_in_group["id"]}
    assert listed(client, colleague, scope="group") == [medicine_group["id"]]

    r = client.get(f"{API}/callbacks", params={"scope": "all"}, headers=operator.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert len(listed(client, lead, scope="all")) == 6
    r = client.get(f"{API}/callbacks", params={"scope": "everyone"}, headers=operator.headers)
    assert r.status_code == 422


def test_no_answer_keeps_it_open_and_moves_the_due_time(
    client: TestClient, operator, citizen
) -> None:
    t = new_task(client, operator, citizen["id"], group="svo")
    retry_at = due(4)
    r = attempt(
        client, operator, t["id"], result="no_answer", note="Не берёт трубку", retry_at=retry_at
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["status"] == "open"
    assert after["attempts"] == 1
    assert after["result"] == "no_answer"
    assert after["result_note"] == "Не берёт трубку"
    assert after["last_attempt_at"] is not None
    assert after["completed_at"] is None
    assert datetime.fromisoformat(after["due_at"]) == datetime.fromisoformat(retry_at)
    assert after["assignee_id"] == operator.id  # whoever calls takes the group task

    r = attempt(client, operator, t["id"], result="busy")
    assert r.status_code == 200
    moved = datetime.fromisoformat(r.json()["due_at"])
    assert timedelta(minutes=55) < moved - datetime.now(UTC) < timedelta(minutes=65)
    assert r.json()["attempts"] == 2
    assert listed(client, operator, scope="mine") == [t["id"]]


def test_reached_completes_and_notes_the_appeal(client: TestClient, operator, citizen) -> None:
    appeal = client.post(
        f"{API}/appeals",
        headers=operator.headers,
        json={
            "citizen_id": citizen["id"],
            "kind": "appeal_59fz",
            "topic_code": "housing",
            "summary": "Нет отопления",
        },
    ).json()
    t = new_task(client, operator, citizen["id"], appeal_id=appeal["id"])
    r = attempt(client, operator, t["id"], result="reached", note="Сообщили о ремонте")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done"
    assert done["result"] == "reached"
    assert done["completed_at"] is not None
    assert done["attempts"] == 1
    assert done["overdue"] is False

    events = client.get(f"{API}/appeals/{appeal['id']}", headers=operator.headers).json()["events"]
    last = events[-1]
    assert last["type"] == "callback_made"
    assert last["text"] == "Сообщили о ремонте"
    assert last["actor_id"] == operator.id
    assert last["data"] == {"callback_id": t["id"], "result": "reached"}

    assert listed(client, operator, scope="mine") == []
    assert listed(client, operator, scope="mine", status="done") == [t["id"]]

    r = attempt(client, operator, t["id"], result="reached")
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"
    again = client.get(
        f"{API}/callbacks", params={"scope": "mine", "status": "done"}, headers=operator.headers
    ).json()
    assert again[0]["attempts"] == 1


def test_wrong_number_also_completes(client: TestClient, operator, citizen) -> None:
    t = new_task(client, operator, citizen["id"])
    r = attempt(client, operator, t["id"], result="wrong_number")
    assert r.json()["status"] == "done"


def test_bad_attempts(client: TestClient, operator, citizen) -> None:
    r = attempt(client, operator, 999999, result="reached")
    assert r.status_code == 404
    t = new_task(client, operator, citizen["id"])
    r = attempt(client, operator, t["id"], result="maybe")
    assert r.status_code == 422
    r = attempt(client, operator, t["id"], result="no_answer", retry_at="2030-01-01T10:00:00")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "retry_at"]
    assert listed(client, operator, scope="mine") == [t["id"]]
    now = client.get(f"{API}/callbacks", params={"scope": "mine"}, headers=operator.headers).json()[
        0
    ]
    assert now["attempts"] == 0


def test_overdue_flag_and_due_filter(client: TestClient, operator, citizen) -> None:
    late = new_task(client, operator, citizen["id"], due_at=due(-1))
    later = new_task(client, operator, citizen["id"], due_at=due(24))
    r = client.get(f"{API}/callbacks", params={"scope": "mine"}, headers=operator.headers)
    assert [(t["id"], t["overdue"]) for t in r.json()] == [(late["id"], True), (later["id"], False)]
    assert listed(client, operator, scope="mine", due_before=due(1)) == [late["id"]]
    r = client.get(
        f"{API}/callbacks", params={"due_before": "2030-01-01T10:00:00"}, headers=operator.headers
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "due_before"]


def test_gateway_has_no_callbacks(client: TestClient, gateway, citizen) -> None:
    assert client.get(f"{API}/callbacks", headers=gateway.headers).status_code == 403
    assert create(client, gateway, citizen["id"]).status_code == 403


def test_unknown_group_is_refused(client: TestClient, operator, citizen) -> None:
    r = create(client, operator, citizen["id"], group="nogroup")
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", "group"]
    assert "nogroup" in err["msg"] and "housing" in err["msg"]
    assert listed(client, operator, scope="mine_and_group") == []


def test_lists_mask_the_number_and_opening_a_task_shows_it(
    client: TestClient, operator, admin, citizen
) -> None:
    task = new_task(client, operator, citizen["id"])
    assert task["phone"] == "+79140001234"
    listed_task = client.get(
        f"{API}/callbacks", params={"scope": "mine"}, headers=operator.headers
    ).json()[0]
    assert listed_task["phone"] == "+7 914 ***-**-34"
    opened = client.get(f"{API}/callbacks/{task['id']}", headers=operator.headers)
    assert opened.status_code == 200
    assert opened.json()["phone"] == "+79140001234"
    rows = client.get(
        f"{API}/audit", params={"citizen_id": citizen["id"]}, headers=admin.headers
    ).json()
    assert rows[0]["action"] == "view_citizen"
    assert rows[0]["details"] == {"callback_id": task["id"]}
    assert client.get(f"{API}/callbacks/999999", headers=operator.headers).status_code == 404


def test_times_come_back_in_utc_whatever_zone_was_sent(
    client: TestClient, operator, citizen
) -> None:
    task = new_task(client, operator, citizen["id"], due_at="2030-01-15T10:00:00+08:00")
    assert task["due_at"] in ("2030-01-15T02:00:00Z", "2030-01-15T02:00:00+00:00")
    again = client.get(f"{API}/callbacks/{task['id']}", headers=operator.headers).json()
    assert again["due_at"] == task["due_at"]
