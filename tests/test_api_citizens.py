"""Citizens: create, look up, audit, optimistic updates, merge, anonymise, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ekc_server.models import Appeal, CitizenPhone, Contact

API = "/api/v1"


def new_citizen(client: TestClient, who, **fields) -> dict[str, Any]:
    body = {
        "last_name": "Иванов",
        "first_name": "Иван",
        "middle_name": "Иванович",
        "phones": ["8 (3952) 12-34-56"],
        **fields,
    }
    r = client.post(f"{API}/citizens", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def new_appeal(client: TestClient, who, citizen_id: int, **fields) -> dict[str, Any]:
    body = {
        "citizen_id": citizen_id,
        "kind": "appeal_59fz",
        "topic_code": "svo.family_payments",
        "summary": "Не пришла выплата семье участника СВО",
        **fields,
    }
    r = client.post(f"{API}/appeals", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def inbound_call(client: TestClient, gateway, number: str, **fields) -> dict[str, Any]:
    body = {"channel": "phone", "line": "122", "caller_number": number, **fields}
    r = client.post(f"{API}/contacts", json=body, headers=gateway.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def new_callback(client: TestClient, who, citizen_id: int, **fields) -> dict[str, Any]:
    body = {
        "citizen_id": citizen_id,
        "reason": "Сообщить результат",
        "due_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        **fields,
    }
    r = client.post(f"{API}/callbacks", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def audit_rows(client: TestClient, admin, citizen_id: int) -> list[dict[str, Any]]:
    r = client.get(f"{API}/audit", params={"citizen_id": citizen_id}, headers=admin.headers)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


# --- create and validation --------------------------------------------------------------


def test_create_stores_each_number_once_in_e164(
    client: TestClient, engine: Engine, operator
) -> None:
    body = {
        "last_name": "Петрова",
        "first_name": "Анна",
        "middle_name": "Сергеевна",
        "email": "anna.petrova@mail.ru",
        "settlement": "Иркутск",
        "consent_personal_data": True,
        "phones": ["8 (3952) 12-34-56", "+7 3952 123456", "83952123456", "8-914-000-12-34"],
    }
    r = client.post(f"{API}/citizens", json=body, headers=operator.headers)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["phones"] == ["+73952123456", "+79140001234"]
    assert c["full_name"] == "Петрова Анна Сергеевна"
    assert c["version"] == 1
    assert c["merged_into_id"] is None
    assert c["anonymised"] is False
    assert c["consent_personal_data"] is True
    with Session(engine) as session:
        stored = session.exec(
            select(CitizenPhone.e164).where(CitizenPhone.citizen_id == c["id"])
        ).all()
    assert sorted(stored) == ["+73952123456", "+79140001234"]


def test_bad_phone_is_422_naming_the_field_number_and_reason(client: TestClient, operator) -> None:
    r = client.post(
        f"{API}/citizens",
        headers=operator.headers,
        json={"last_name": "Сидоров", "phones": ["8 (3952) 12-34-56", "12345"]},
    )
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error"
    (err,) = body["detail"]
    assert err["loc"] == ["body", "phones", 1]
    assert "«12345»" in err["msg"]
    assert "слишком мало цифр" in err["msg"]
    found = client.get(f"{API}/citizens", params={"name": "Сидоров"}, headers=operator.headers)
    assert found.json() == []


def test_bad_email_is_422(client: TestClient, operator) -> None:
    r = client.post(
        f"{API}/citizens",
        headers=operator.headers,
        json={"last_name": "Сидоров", "email": "не-почта"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "email"]


def test_gateway_cannot_touch_citizens(client: TestClient, gateway) -> None:
    r = client.post(f"{API}/citizens", headers=gateway.headers, json={"last_name": "Шлюзов"})
    assert r.status_code == 403


# --- search -----------------------------------------------------------------------------


def test_search_by_phone_written_differently_masks_phones(client: TestClient, operator) -> None:
    c = new_citizen(client, operator, phones=["8 (3952) 12-34-56", "89140001234"])
    new_citizen(client, operator, last_name="Другой", phones=["+7 3952 654321"])
    r = client.get(f"{API}/citizens", params={"phone": "+7 3952 123456"}, headers=operator.headers)
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "id": c["id"],
            "full_name": "Иванов Иван Иванович",
            "phones_masked": ["+7 395 ***-**-56", "+7 914 ***-**-34"],
            "settlement": None,
            "merged_into_id": None,
            "open_appeals": 0,
        }
    ]
    assert "123456" not in r.text and "0001234" not in r.text
    r = client.get(f"{API}/citizens", params={"phone": "8-914-000-12-34"}, headers=operator.headers)
    assert [i["id"] for i in r.json()] == [c["id"]]


def test_search_needs_a_valid_query(client: TestClient, operator) -> None:
    r = client.get(f"{API}/citizens", headers=operator.headers)
    assert r.status_code == 422
    r = client.get(f"{API}/citizens", params={"phone": "abc1"}, headers=operator.headers)
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["loc"] == ["query", "phone"]
    assert "abc1" in err["msg"]


def test_search_by_name_prefix_cyrillic_any_case_yo(client: TestClient, operator) -> None:
    yolkina = new_citizen(
        client, operator, last_name="Ёлкина", first_name="Алёна", middle_name="Петровна", phones=[]
    )
    ivanov = new_citizen(
        client, operator, last_name="Иванов", first_name="Пётр", middle_name="Ильич", phones=[]
    )
    ivanova = new_citizen(
        client, operator, last_name="Иванова", first_name="Мария", middle_name="Олеговна", phones=[]
    )

    def ids(name: str) -> set[int]:
        r = client.get(f"{API}/citizens", params={"name": name}, headers=operator.headers)
        assert r.status_code == 200, r.text
        return {i["id"] for i in r.json()}

    assert ids("ива") == {ivanov["id"], ivanova["id"]}
    assert ids("ИВАНОВА") == {ivanova["id"]}
    assert ids("елкина") == {yolkina["id"]}
    assert ids("ЁЛК алена") == {yolkina["id"]}
    assert ids("петр") == {ivanov["id"], yolkina["id"]}  # first name or patronymic
    assert ids("петр иванов") == {ivanov["id"]}  # words in any order
    assert ids("ванов") == set()  # prefixes of words, not any substring
    assert ids("%") == set()  # LIKE wildcards are literal characters
    assert ids("_") == set()


def test_search_shows_open_appeals(client: TestClient, operator) -> None:
    c = new_citizen(client, operator)
    new_appeal(client, operator, c["id"])
    new_appeal(client, operator, c["id"])
    r = client.get(f"{API}/citizens", params={"name": "иванов"}, headers=operator.headers)
    assert r.json()[0]["open_appeals"] == 2


# --- read, audit ------------------------------------------------------------------------


def test_get_citizen_writes_an_audit_row(client: TestClient, operator, admin) -> None:
    c = new_citizen(client, operator)
    r = client.get(f"{API}/citizens/{c['id']}", headers=operator.headers)
    assert r.status_code == 200
    assert r.json()["phones"] == ["+73952123456"]  # the full card is not masked
    rows = audit_rows(client, admin, c["id"])
    assert [row["action"] for row in rows] == ["view_citizen", "create_citizen"]
    view = rows[0]
    assert view["staff_id"] == operator.id
    assert view["staff_username"] == "operator"
    assert view["workstation"] == "ws-operator"
    assert view["citizen_id"] == c["id"]


def test_audit_log_is_for_admins(client: TestClient, operator, lead) -> None:
    for who in (operator, lead):
        r = client.get(f"{API}/audit", headers=who.headers)
        assert r.status_code == 403


def test_unknown_citizen_is_404(client: TestClient, admin) -> None:
    for method, path, body in [
        ("GET", "/citizens/999999", None),
        ("PATCH", "/citizens/999999", {"version": 1, "last_name": "Х"}),
        ("GET", "/citizens/999999/history", None),
        ("POST", "/citizens/999999/anonymise", None),
    ]:
        r = client.request(method, f"{API}{path}", json=body, headers=admin.headers)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["code"] == "not_found"
        assert "999999" in r.json()["detail"]


# --- update -----------------------------------------------------------------------------


def test_patch_with_the_right_version_bumps_it(client: TestClient, operator, admin) -> None:
    c = new_citizen(client, operator)
    r = client.patch(
        f"{API}/citizens/{c['id']}",
        headers=operator.headers,
        json={
            "version": 1,
            "last_name": "Ёжиков",
            "phones": ["8-914-000-12-34"],
            "settlement": "Ангарск",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 2
    assert body["last_name"] == "Ёжиков"
    assert body["first_name"] == "Иван"  # unchanged
    assert body["phones"] == ["+79140001234"]
    assert body["settlement"] == "Ангарск"
    found = client.get(f"{API}/citizens", params={"name": "ежиков"}, headers=operator.headers)
    assert [i["id"] for i in found.json()] == [c["id"]]
    old = client.get(f"{API}/citizens", params={"phone": "83952123456"}, headers=operator.headers)
    assert old.json() == []
    rows = audit_rows(client, admin, c["id"])
    assert rows[0]["action"] == "search_citizens"  # the name search just above found only them
    assert rows[0]["details"] == {"by": ["name"], "found": [c["id"]]}
    update = next(r for r in rows if r["action"] != "search_citizens")
    assert update["action"] == "update_citizen"
    assert update["details"]["fields"] == ["last_name", "phones", "settlement"]


def test_patch_with_a_stale_version_is_409_and_changes_nothing(
    client: TestClient, operator
) -> None:
    c = new_citizen(client, operator)
    first = client.patch(
        f"{API}/citizens/{c['id']}",
        headers=operator.headers,
        json={"version": 1, "first_name": "Пётр"},
    )
    assert first.status_code == 200
    r = client.patch(
        f"{API}/citizens/{c['id']}",
        headers=operator.headers,
        json={"version": 1, "first_name": "Павел", "phones": ["89140001234"]},
    )
    assert r.status_code == 409
    assert r.json()["code"] == "stale_version"
    assert r.json()["field"] == "version"
    now = client.get(f"{API}/citizens/{c['id']}", headers=operator.headers).json()
    assert now["first_name"] == "Пётр"
    assert now["version"] == 2
    assert now["phones"] == ["+73952123456"]


def test_patch_null_for_a_required_field_is_422(client: TestClient, operator) -> None:
    c = new_citizen(client, operator)
    r = client.patch(
        f"{API}/citizens/{c['id']}",
        headers=operator.headers,
        json={"version": 1, "last_name": None},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "last_name"]
    r = client.patch(
        f"{API}/citizens/{c['id']}",
        headers=operator.headers,
        json={"version": 1, "email": None, "address": None},
    )
    assert r.status_code == 200  # optional fields may be cleared
    assert r.json()["last_name"] == "Иванов"


def test_patch_bad_phone_is_422(client: TestClient, operator) -> None:
    c = new_citizen(client, operator)
    r = client.patch(
        f"{API}/citizens/{c['id']}",
        headers=operator.headers,
        json={"version": 1, "phones": ["abc"]},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "phones", 0]
    assert "«abc»" in r.json()["detail"][0]["msg"]


# --- merge ------------------------------------------------------------------------------


def test_merge_moves_everything_and_keeps_every_appeal(
    client: TestClient, engine: Engine, operator, lead, gateway
) -> None:
    target = new_citizen(client, operator, phones=["8 (3952) 12-34-56"])
    source = new_citizen(
        client,
        operator,
        middle_name="",
        email="ivanov@mail.ru",
        phones=["83952123456", "+7 914 000 12 34"],
    )
    call = inbound_call(client, gateway, "89140001234")
    assert call["citizen_id"] == source["id"]
    source_appeals = [new_appeal(client, operator, source["id"]) for _ in range(2)]
    target_appeal = new_appeal(client, operator, target["id"])
    callback = new_callback(client, operator, source["id"])
    with Session(engine) as session:
        appeals_before = len(session.exec(select(Appeal.id)).all())

    r = client.post(
        f"{API}/citizens/{target['id']}/merge",
        headers=lead.headers,
        json={"source_id": source["id"]},
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["id"] == target["id"]
    assert merged["phones"] == ["+73952123456", "+79140001234"]
    assert merged["email"] == "ivanov@mail.ru"  # filled from the duplicate
    assert merged["version"] == target["version"] + 1

    src = client.get(f"{API}/citizens/{source['id']}", headers=operator.headers).json()
    assert src["merged_into_id"] == target["id"]
    assert src["phones"] == []

    listed = client.get(
        f"{API}/appeals", params={"citizen_id": target["id"]}, headers=operator.headers
    ).json()
    assert {a["id"] for a in listed["items"]} == {
        *(a["id"] for a in source_appeals),
        target_appeal["id"],
    }
    left = client.get(
        f"{API}/appeals", params={"citizen_id": source["id"]}, headers=operator.headers
    ).json()
    assert left["total"] == 0
    with Session(engine) as session:
        assert len(session.exec(select(Appeal.id)).all()) == appeals_before
        contact = session.get(Contact, call["id"])
        assert contact is not None and contact.citizen_id == target["id"]
    callbacks = client.get(f"{API}/callbacks", params={"scope": "all"}, headers=lead.headers)
    assert [(t["id"], t["citizen_id"]) for t in callbacks.json()] == [
        (callback["id"], target["id"])
    ]

    history = client.get(f"{API}/citizens/{target['id']}/history", headers=operator.headers).json()
    assert history["page"]["total"] == 4  # 1 contact + 3 appeals
    assert history["open_appeals"] == 3
    assert history["open_callbacks"] == 1

    search = client.get(f"{API}/citizens", params={"name": "иванов"}, headers=operator.headers)
    assert [i["id"] for i in search.json()] == [target["id"]]  # the duplicate is hidden
    both = client.get(
        f"{API}/citizens",
        params={"name": "иванов", "include_merged": True},
        headers=operator.headers,
    )
    assert {i["id"] for i in both.json()} == {target["id"], source["id"]}
    # a new call from the duplicate's number now finds the merged record
    assert inbound_call(client, gateway, "+79140001234")["citizen_id"] == target["id"]


def test_merge_conflicts_are_409(client: TestClient, operator, lead) -> None:
    a = new_citizen(client, operator)
    b = new_citizen(client, operator, phones=[])
    c = new_citizen(client, operator, phones=[])
    r = client.post(
        f"{API}/citizens/{a['id']}/merge", headers=lead.headers, json={"source_id": a["id"]}
    )
    assert r.status_code == 409
    assert "саму с собой" in r.json()["detail"]

    assert (
        client.post(
            f"{API}/citizens/{a['id']}/merge", headers=lead.headers, json={"source_id": b["id"]}
        ).status_code
        == 200
    )
    again = client.post(
        f"{API}/citizens/{c['id']}/merge", headers=lead.headers, json={"source_id": b["id"]}
    )
    assert again.status_code == 409
    assert "уже объединена" in again.json()["detail"]
    into_merged = client.post(
        f"{API}/citizens/{b['id']}/merge", headers=lead.headers, json={"source_id": c["id"]}
    )
    assert into_merged.status_code == 409
    assert (
        client.get(f"{API}/citizens/{c['id']}", headers=operator.headers).json()["merged_into_id"]
        is None
    )
    stale = client.patch(
        f"{API}/citizens/{b['id']}", headers=operator.headers, json={"version": 2, "last_name": "Х"}
    )
    assert stale.status_code == 409


def test_merge_follows_earlier_merges(client: TestClient, operator, lead) -> None:
    a = new_citizen(client, operator)
    b = new_citizen(client, operator, phones=[])
    c = new_citizen(client, operator, phones=[])
    assert (
        client.post(
            f"{API}/citizens/{b['id']}/merge", headers=lead.headers, json={"source_id": c["id"]}
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"{API}/citizens/{a['id']}/merge", headers=lead.headers, json={"source_id": b["id"]}
        ).status_code
        == 200
    )
    # c was merged into b, which is now merged into a: c points at a directly
    got = client.get(f"{API}/citizens/{c['id']}", headers=operator.headers).json()
    assert got["merged_into_id"] == a["id"]


def test_merge_into_an_anonymised_record_is_409(client: TestClient, operator, lead, admin) -> None:
    anon = new_citizen(client, operator, phones=[])
    dup = new_citizen(client, operator, phones=["89140001234"])
    client.post(f"{API}/citizens/{anon['id']}/anonymise", headers=admin.headers)
    r = client.post(
        f"{API}/citizens/{anon['id']}/merge", headers=lead.headers, json={"source_id": dup["id"]}
    )
    assert r.status_code == 409
    assert "обезличена" in r.json()["detail"]
    got = client.get(f"{API}/citizens/{anon['id']}", headers=operator.headers).json()
    assert (got["last_name"], got["phones"]) == ("", [])
    assert (
        client.get(f"{API}/citizens/{dup['id']}", headers=operator.headers).json()["merged_into_id"]
        is None
    )


def test_merge_roles_and_unknown_ids(client: TestClient, operator, lead, admin) -> None:
    a = new_citizen(client, operator)
    b = new_citizen(client, operator, phones=[])
    r = client.post(
        f"{API}/citizens/{a['id']}/merge", headers=operator.headers, json={"source_id": b["id"]}
    )
    assert r.status_code == 403
    assert (
        client.get(f"{API}/citizens/{b['id']}", headers=operator.headers).json()["merged_into_id"]
        is None
    )
    r = client.post(
        f"{API}/citizens/{a['id']}/merge", headers=lead.headers, json={"source_id": 999999}
    )
    assert r.status_code == 404
    r = client.post(
        f"{API}/citizens/999999/merge", headers=lead.headers, json={"source_id": b["id"]}
    )
    assert r.status_code == 404
    r = client.post(
        f"{API}/citizens/{a['id']}/merge", headers=admin.headers, json={"source_id": b["id"]}
    )
    assert r.status_code == 200


# --- anonymise --------------------------------------------------------------------------


def test_anonymise_removes_personal_data_and_keeps_appeals(
    client: TestClient, operator, lead, admin, gateway
) -> None:
    c = new_citizen(
        client,
        operator,
        email="ivanov@mail.ru",
        settlement="Бодайбо",
        address="ул. Ленина, д. 1",
        phones=["83952123456", "89140001234"],
    )
    call = inbound_call(
        client,
        gateway,
        "+73952123456",
        handoff={"transcript": "Меня зовут Иван Иванов", "detected_emotion": "гнев"},
    )
    assert call["citizen_id"] == c["id"]
    appeal = new_appeal(client, operator, c["id"])
    callback = new_callback(client, operator, c["id"])

    for who in (operator, lead):
        r = client.post(f"{API}/citizens/{c['id']}/anonymise", headers=who.headers)
        assert r.status_code == 403
    r = client.post(f"{API}/citizens/{c['id']}/anonymise", headers=admin.headers)
    assert r.status_code == 200, r.text
    anon = r.json()
    assert anon["anonymised"] is True
    assert (anon["last_name"], anon["first_name"], anon["middle_name"]) == ("", "", "")
    assert anon["phones"] == []
    assert anon["email"] is None and anon["address"] is None and anon["settlement"] is None
    assert anon["full_name"] == "(без имени)"

    appeals = client.get(
        f"{API}/appeals", params={"citizen_id": c["id"]}, headers=operator.headers
    ).json()
    assert [a["id"] for a in appeals["items"]] == [appeal["id"]]
    history = client.get(f"{API}/citizens/{c['id']}/history", headers=operator.headers).json()
    kinds = [(i["kind"], (i["appeal"] or i["contact"])["id"]) for i in history["page"]["items"]]
    assert sorted(kinds) == sorted([("appeal", appeal["id"]), ("contact", call["id"])])
    contact = next(i["contact"] for i in history["page"]["items"] if i["kind"] == "contact")
    assert contact["caller_number"] is None
    assert contact["handoff"] is None
    open_tasks = client.get(f"{API}/callbacks", params={"scope": "all"}, headers=lead.headers)
    assert open_tasks.json() == []  # nobody is left to call back
    task = client.get(
        f"{API}/callbacks", params={"scope": "all", "status": "cancelled"}, headers=lead.headers
    ).json()
    assert [(t["id"], t["phone"]) for t in task] == [(callback["id"], "")]

    assert (
        client.get(
            f"{API}/citizens", params={"phone": "83952123456"}, headers=operator.headers
        ).json()
        == []
    )
    assert inbound_call(client, gateway, "83952123456")["citizen_id"] is None
    again = client.post(f"{API}/citizens/{c['id']}/anonymise", headers=admin.headers)
    assert again.status_code == 409
    edit = client.patch(
        f"{API}/citizens/{c['id']}",
        headers=operator.headers,
        json={"version": anon["version"], "last_name": "Иванов"},
    )
    assert edit.status_code == 409


def test_anonymise_clears_message_texts_and_replayed_responses(
    client: TestClient, operator, admin, gateway
) -> None:
    key = {"Idempotency-Key": "citizen-create-0001"}
    body = {
        "last_name": "Тайнова",
        "first_name": "Вера",
        "email": "vera@mail.ru",
        "phones": ["89140001234"],
    }
    created = client.post(f"{API}/citizens", json=body, headers={**operator.headers, **key})
    assert created.status_code == 201
    cid = created.json()["id"]
    message = client.post(
        f"{API}/contacts",
        headers=gateway.headers,
        json={
            "channel": "email",
            "sender": "vera@mail.ru",
            "text": "Я, Тайнова Вера, проживаю по адресу ул. Ленина, 5",
        },
    ).json()
    claimed = client.post(
        f"{API}/contacts/{message['id']}/claim", headers=operator.headers, json={"citizen_id": cid}
    )
    assert claimed.status_code == 200
    cb_key = {"Idempotency-Key": "callback-create-0001"}
    cb_body = {
        "citizen_id": cid,
        "reason": "Перезвонить",
        "due_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    cb = client.post(f"{API}/callbacks", json=cb_body, headers={**operator.headers, **cb_key})
    assert cb.json()["phone"] == "+79140001234"

    assert client.post(f"{API}/citizens/{cid}/anonymise", headers=admin.headers).status_code == 200

    contact = client.get(f"{API}/contacts/{message['id']}", headers=operator.headers).json()
    assert contact["text"] is None
    assert contact["sender"] is None
    # a retry of the original request must not bring the personal data back
    replay = client.post(f"{API}/citizens", json=body, headers={**operator.headers, **key})
    assert replay.status_code == 201
    assert replay.json()["id"] == cid
    assert "Тайнова" not in replay.text and "9140001234" not in replay.text
    assert "vera@mail.ru" not in replay.text
    cb_replay = client.post(
        f"{API}/callbacks", json=cb_body, headers={**operator.headers, **cb_key}
    )
    assert cb_replay.json()["id"] == cb.json()["id"]
    assert "9140001234" not in cb_replay.text and "Тайнова" not in cb_replay.text


# --- history ----------------------------------------------------------------------------


def test_history_newest_first_paginated_with_counters(
    client: TestClient, engine: Engine, operator, admin, gateway
) -> None:
    c = new_citizen(client, operator)
    now = datetime.now(UTC)
    contacts = {
        age: inbound_call(
            client,
            gateway,
            "83952123456",
            external_id=f"h-{age}",
            queued_at=(now - age).isoformat(),
        )
        for age in (timedelta(days=3), timedelta(days=1), timedelta(hours=1))
    }
    old_appeal = new_appeal(client, operator, c["id"])
    new = new_appeal(client, operator, c["id"], kind="consultation", topic_code="medicine")
    closed = new_appeal(client, operator, c["id"], kind="complaint", topic_code="housing")
    with Session(engine) as session:
        row = session.get(Appeal, old_appeal["id"])
        assert row is not None
        row.registered_at = now - timedelta(days=2)
        row.answer_due = now - timedelta(hours=1)  # late
        session.add(row)
        done = session.get(Appeal, closed["id"])
        assert done is not None
        done.registered_at = now - timedelta(days=10)
        done.status = "closed"
        session.add(done)
        session.commit()
    new_callback(client, operator, c["id"])
    new_callback(client, operator, c["id"])

    expected = [
        ("appeal", new["id"]),
        ("contact", contacts[timedelta(hours=1)]["id"]),
        ("contact", contacts[timedelta(days=1)]["id"]),
        ("appeal", old_appeal["id"]),
        ("contact", contacts[timedelta(days=3)]["id"]),
        ("appeal", closed["id"]),
    ]
    seen = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        r = client.get(
            f"{API}/citizens/{c['id']}/history",
            params={"offset": offset, "limit": 4},
            headers=operator.headers,
        )
        assert r.status_code == 200, r.text
        h = r.json()
        pages += 1
        page = h["page"]
        assert page["total"] == 6
        assert page["offset"] == offset and page["limit"] == 4
        seen += [(i["kind"], (i["appeal"] or i["contact"])["id"]) for i in page["items"]]
        ats = [i["at"] for i in page["items"]]
        assert ats == sorted(ats, reverse=True)
        offset = page["next_offset"]
        assert h["citizen"]["id"] == c["id"]
        assert h["open_appeals"] == 2
        assert h["overdue_appeals"] == 1
        assert h["open_callbacks"] == 2
    assert seen == expected
    assert pages == 2

    views = [row for row in audit_rows(client, admin, c["id"]) if row["action"] == "view_history"]
    assert len(views) == 2
    assert {row["details"]["offset"] for row in views} == {0, 4}
    assert all(row["workstation"] == "ws-operator" for row in views)


def test_history_page_past_the_end_is_empty(client: TestClient, operator) -> None:
    c = new_citizen(client, operator)
    new_appeal(client, operator, c["id"])
    r = client.get(
        f"{API}/citizens/{c['id']}/history", params={"offset": 5}, headers=operator.headers
    )
    assert r.status_code == 200
    assert r.json()["page"]["items"] == []
    assert r.json()["page"]["total"] == 1
    assert r.json()["page"]["next_offset"] is None


def test_history_is_for_staff_only(client: TestClient, operator, gateway) -> None:
    c = new_citizen(client, operator)
    r = client.get(f"{API}/citizens/{c['id']}/history", headers=gateway.headers)
    assert r.status_code == 403


def test_merged_record_cannot_get_new_appeals_or_callbacks(
    client: TestClient, engine: Engine, operator, lead
) -> None:
    a = new_citizen(client, operator)
    b = new_citizen(client, operator, phones=[])
    client.post(
        f"{API}/citizens/{a['id']}/merge", headers=lead.headers, json={"source_id": b["id"]}
    )
    r = client.post(
        f"{API}/appeals",
        headers=operator.headers,
        json={"citizen_id": b["id"], "kind": "consultation", "topic_code": "svo", "summary": "x"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "citizen_id"]
    with Session(engine) as session:
        assert session.exec(select(col(Appeal.id))).all() == []
    r = client.post(
        f"{API}/callbacks",
        headers=operator.headers,
        json={
            "citizen_id": b["id"],
            "phone": "89140001234",
            "reason": "x",
            "due_at": datetime.now(UTC).isoformat(),
        },
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "citizen_id"]
    assert "объединена" in r.json()["detail"][0]["msg"]


def test_a_record_nobody_could_find_is_refused(client: TestClient, operator) -> None:
    r = client.post(f"{API}/citizens", json={}, headers=operator.headers)
    assert r.status_code == 422
    assert "фамилию или имя, телефон или e-mail" in r.json()["detail"][0]["msg"]
    assert (
        client.post(
            f"{API}/citizens", json={"phones": ["89140001234"]}, headers=operator.headers
        ).status_code
        == 201
    )

    c = new_citizen(client, operator, phones=[])
    r = client.patch(
        f"{API}/citizens/{c['id']}",
        headers=operator.headers,
        json={"version": c["version"], "last_name": "", "first_name": ""},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "last_name"]
    after = client.get(f"{API}/citizens/{c['id']}", headers=operator.headers).json()
    assert (after["last_name"], after["first_name"], after["version"]) == (
        "Иванов",
        "Иван",
        c["version"],
    )


def test_anonymise_covers_records_merged_into_it(client: TestClient, operator, lead, admin) -> None:
    keep = new_citizen(client, operator, phones=["89140001111"])
    dup = new_citizen(client, operator, phones=["89140002222"], email="dup@example.ru")
    r = client.post(
        f"{API}/citizens/{keep['id']}/merge", json={"source_id": dup["id"]}, headers=lead.headers
    )
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/citizens/{keep['id']}/anonymise", headers=admin.headers)
    assert r.status_code == 200, r.text
    merged = client.get(f"{API}/citizens/{dup['id']}", headers=admin.headers).json()
    assert merged["anonymised"] is True
    assert (merged["last_name"], merged["email"], merged["phones"]) == ("", None, [])
    again = client.post(f"{API}/citizens/{dup['id']}/anonymise", headers=admin.headers)
    assert again.status_code == 409


def test_listing_one_citizens_appeals_is_audited(client: TestClient, operator, admin) -> None:
    c = new_citizen(client, operator)
    new_appeal(client, operator, c["id"])
    r = client.get(f"{API}/appeals", params={"citizen_id": c["id"]}, headers=operator.headers)
    assert r.json()["total"] == 1
    row = audit_rows(client, admin, c["id"])[0]
    assert (row["action"], row["staff_username"], row["details"]) == (
        "list_appeals",
        "operator",
        {"total": 1},
    )


def test_validation_messages_are_russian(client: TestClient, operator) -> None:
    r = client.post(
        f"{API}/citizens",
        headers=operator.headers,
        json={"last_name": "Петров", "email": "нет-почты", "unknown": 1},
    )
    assert r.status_code == 422
    by_field = {e["loc"][-1]: e["msg"] for e in r.json()["detail"]}
    assert by_field["email"].startswith("неверный адрес электронной почты")
    assert by_field["unknown"] == "неизвестное поле"
    r = client.post(f"{API}/appeals", headers=operator.headers, json={"kind": "nonsense"})
    by_field = {e["loc"][-1]: e["msg"] for e in r.json()["detail"]}
    assert by_field["citizen_id"] == "поле обязательно"
    assert by_field["kind"].startswith("допустимые значения: 'consultation'")
    assert " или " in by_field["kind"]


def test_name_search_puts_the_surname_first(client: TestClient, operator) -> None:
    patronymic = new_citizen(
        client,
        operator,
        last_name="Абрамова",
        first_name="Ольга",
        middle_name="Ивановна",
        phones=[],
    )
    surname = new_citizen(
        client, operator, last_name="Иванова", first_name="Ольга", middle_name="Петровна", phones=[]
    )
    longer = new_citizen(
        client,
        operator,
        last_name="Ивановская",
        first_name="Ольга",
        middle_name="Сергеевна",
        phones=[],
    )
    r = client.get(f"{API}/citizens", params={"name": "Иванов ольга"}, headers=operator.headers)
    assert [c["id"] for c in r.json()] == [surname["id"], longer["id"], patronymic["id"]]
