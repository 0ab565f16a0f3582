"""Personal data of contacts (152-FZ): who sees a number and the texts in full, masking for
the others, an audit row for every read, and who may report a hang-up."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ekc_core.enums import Role
from ekc_server.models import AuditLog, Contact

API = "/api/v1"
NUMBER = "+73952123456"
MASKED = "+7 395 ***-**-56"
TEXT = "Здравствуйте, я Иванова, живу на ул. Ленина, 5"
TRANSCRIPT = "Меня зовут Иванова, звоню по выплатам"


def post(client: TestClient, gateway, **fields: Any) -> dict[str, Any]:
    body = {"channel": "phone", "line": "122", "caller_number": "8 (3952) 12-34-56", **fields}
    r = client.post(f"{API}/contacts", json=body, headers=gateway.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def voice_call(client: TestClient, gateway) -> dict[str, Any]:
    return post(
        client,
        gateway,
        handoff={"transcript": TRANSCRIPT, "detected_topic": "svo", "detected_emotion": "calm"},
    )


def chat(client: TestClient, gateway) -> dict[str, Any]:
    return post(
        client,
        gateway,
        channel="email",
        line=None,
        caller_number=None,
        sender="ivanova.o@mail.ru",
        text=TEXT,
    )


def claim(client: TestClient, who, contact_id: int) -> dict[str, Any]:
    r = client.post(f"{API}/contacts/{contact_id}/claim", headers=who.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def new_citizen(client: TestClient, who, phone: str = NUMBER) -> int:
    body = {"last_name": "Иванова", "first_name": "Ольга", "phones": [phone]}
    r = client.post(f"{API}/citizens", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    citizen_id: int = r.json()["id"]
    return citizen_id


def audit_rows(engine: Engine, *actions: str) -> list[AuditLog]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditLog).where(col(AuditLog.action).in_(actions)).order_by(col(AuditLog.id))
            ).all()
        )


def read(client: TestClient, who, contact_id: int) -> dict[str, Any]:
    r = client.get(f"{API}/contacts/{contact_id}", headers=who.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


# --- one contact ------------------------------------------------------------------------


def test_an_operator_reads_someone_elses_contact_masked_and_audited(
    client: TestClient, engine: Engine, operator, make_staff, gateway
) -> None:
    holder = make_staff(Role.operator, username="holder")
    call = voice_call(client, gateway)
    claim(client, holder, call["id"])
    mail = chat(client, gateway)

    seen = read(client, operator, call["id"])
    assert seen["caller_number"] == MASKED
    assert seen["handoff"] == {
        "transcript": None,
        "detected_topic": "svo",
        "detected_emotion": "calm",
    }
    assert (seen["status"], seen["operator_id"]) == ("active", holder.id)
    seen = read(client, operator, mail["id"])
    assert (seen["sender"], seen["text"], seen["summary"]) == ("iv***@mail.ru", None, None)

    rows = audit_rows(engine, "view_contact")
    assert [(r.staff_id, r.details) for r in rows] == [
        (operator.id, {"contact_id": call["id"], "full": False}),
        (operator.id, {"contact_id": mail["id"], "full": False}),
    ]
    assert rows[0].workstation == "ws-operator"


def test_the_holder_reads_their_contact_in_full_audited(
    client: TestClient, engine: Engine, operator, gateway
) -> None:
    citizen_id = new_citizen(client, operator)
    call = voice_call(client, gateway)
    assert call["citizen_id"] == citizen_id
    claim(client, operator, call["id"])
    seen = read(client, operator, call["id"])
    assert seen["caller_number"] == NUMBER
    assert seen["handoff"]["transcript"] == TRANSCRIPT
    (row,) = audit_rows(engine, "view_contact")
    assert (row.staff_id, row.citizen_id) == (operator.id, citizen_id)
    assert row.details == {"contact_id": call["id"], "full": True}

    # after the wrap-up the contact stays theirs, with the summary they wrote
    assert client.post(f"{API}/contacts/{call['id']}/end", headers=operator.headers).is_success
    r = client.post(
        f"{API}/contacts/{call['id']}/wrapup",
        json={"topic_code": "svo", "outcome": "consultation", "summary": "Разъяснено"},
        headers=operator.headers,
    )
    assert r.status_code == 200, r.text
    assert read(client, operator, call["id"])["summary"] == "Разъяснено"


def test_the_citizens_other_contacts_are_full_while_the_operator_holds_one(
    client: TestClient, make_staff, operator, gateway
) -> None:
    colleague = make_staff(Role.operator, username="colleague")
    citizen_id = new_citizen(client, operator)
    earlier = voice_call(client, gateway)
    claim(client, colleague, earlier["id"])
    stranger = post(client, gateway, caller_number="89025550000")  # another caller
    claim(client, colleague, stranger["id"])
    assert read(client, operator, earlier["id"])["caller_number"] == MASKED

    now = voice_call(client, gateway)
    assert now["citizen_id"] == citizen_id
    claim(client, operator, now["id"])
    assert read(client, operator, earlier["id"])["caller_number"] == NUMBER
    assert read(client, operator, stranger["id"])["caller_number"] == "+7 902 ***-**-00"


def test_leads_and_admins_read_in_full_and_gateways_not_at_all(
    client: TestClient, engine: Engine, operator, lead, admin, gateway
) -> None:
    mail = chat(client, gateway)
    claim(client, operator, mail["id"])
    for who in (lead, admin):
        seen = read(client, who, mail["id"])
        assert (seen["sender"], seen["text"]) == ("ivanova.o@mail.ru", TEXT)
    r = client.get(f"{API}/contacts/{mail['id']}", headers=gateway.headers)
    assert r.status_code == 403
    rows = audit_rows(engine, "view_contact")
    assert [(r.staff_id, r.details["full"]) for r in rows] == [(lead.id, True), (admin.id, True)]


def test_walking_the_ids_gives_no_number_and_leaves_a_trail(
    client: TestClient, engine: Engine, operator, make_staff, gateway
) -> None:
    holder = make_staff(Role.operator, username="holder")
    ids = []
    for i in range(12):
        c = post(client, gateway, caller_number=f"8914000{i:04d}")
        if i % 2:
            claim(client, holder, c["id"])
        ids.append(c["id"])
    numbers = [read(client, operator, i)["caller_number"] for i in ids]
    assert all("***" in n for n in numbers)
    assert len(audit_rows(engine, "view_contact")) == len(ids)
    assert client.get(f"{API}/contacts/999999", headers=operator.headers).status_code == 404
    assert len(audit_rows(engine, "view_contact")) == len(ids)  # nothing read, nothing logged


# --- lists ------------------------------------------------------------------------------


def test_queue_and_offers_are_masked_for_every_role(
    client: TestClient, operator, lead, admin, gateway
) -> None:
    call = voice_call(client, gateway)
    mail = chat(client, gateway)
    for who in (operator, lead, admin):
        queue = client.get(f"{API}/contacts/queue", headers=who.headers).json()
        offers = client.get(f"{API}/contacts/offers?wait=0", headers=who.headers).json()
        for listed in (queue, offers["contacts"]):
            by_id = {c["id"]: c for c in listed}
            assert by_id[call["id"]]["caller_number"] == MASKED
            assert by_id[call["id"]]["handoff"]["transcript"] is None
            assert by_id[call["id"]]["handoff"]["detected_topic"] == "svo"
            assert by_id[mail["id"]]["sender"] == "iv***@mail.ru"
            assert by_id[mail["id"]]["text"] is None


# --- claim, take, manual, outbound ---------------------------------------------------------


def test_claim_and_take_are_audited(client: TestClient, engine: Engine, operator, gateway) -> None:
    citizen_id = new_citizen(client, operator)
    first = claim(client, operator, chat(client, gateway)["id"])
    assert first["text"] == TEXT  # the holder gets it in full
    known = voice_call(client, gateway)
    r = client.post(f"{API}/contacts/{known['id']}/take", headers=operator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["contact"]["caller_number"] == NUMBER
    unknown = post(client, gateway, caller_number="89025550000")
    r = client.post(f"{API}/contacts/{unknown['id']}/take", headers=operator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["history"] is None

    rows = audit_rows(engine, "claim_contact", "view_history")
    assert [(r.action, r.citizen_id, r.details.get("contact_id")) for r in rows] == [
        ("claim_contact", None, first["id"]),
        ("claim_contact", citizen_id, known["id"]),
        ("view_history", citizen_id, None),
        ("claim_contact", None, unknown["id"]),
    ]
    assert {r.staff_id for r in rows} == {operator.id}


def test_manual_and_outbound_contacts_are_audited(
    client: TestClient, engine: Engine, operator
) -> None:
    citizen_id = new_citizen(client, operator)
    key = {"Idempotency-Key": "manual-privacy-1"}
    body = {"line": "122", "caller_number": "8 (3952) 12-34-56"}
    r = client.post(f"{API}/contacts/manual", json=body, headers=operator.headers | key)
    assert r.status_code == 201, r.text
    manual = r.json()
    assert (manual["caller_number"], manual["citizen_id"]) == (NUMBER, citizen_id)
    again = client.post(f"{API}/contacts/manual", json=body, headers=operator.headers | key)
    assert again.json()["id"] == manual["id"]  # a replay: nothing new read, nothing logged
    out = client.post(
        f"{API}/contacts/outbound",
        json={"citizen_id": citizen_id, "phone": "83952123456"},
        headers=operator.headers,
    )
    assert out.status_code == 201, out.text
    rows = audit_rows(engine, "manual_contact", "outbound_contact")
    assert [(r.action, r.staff_id, r.citizen_id, r.details) for r in rows] == [
        ("manual_contact", operator.id, citizen_id, {"contact_id": manual["id"], "full": True}),
        (
            "outbound_contact",
            operator.id,
            citizen_id,
            {"contact_id": out.json()["id"], "full": True},
        ),
    ]


# --- abandon ----------------------------------------------------------------------------


def test_only_the_gateway_and_leads_abandon_a_queued_contact(
    client: TestClient, engine: Engine, operator, lead, admin, gateway
) -> None:
    c = voice_call(client, gateway)
    r = client.post(f"{API}/contacts/{c['id']}/abandon", headers=operator.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    with Session(engine) as session:
        row = session.get(Contact, c["id"])
        assert row is not None and row.status == "queued"
    for who in (gateway, lead, admin):
        c = voice_call(client, gateway)
        r = client.post(f"{API}/contacts/{c['id']}/abandon", headers=who.headers)
        assert r.status_code == 200, (who.username, r.text)
        assert r.json()["status"] == "abandoned"
