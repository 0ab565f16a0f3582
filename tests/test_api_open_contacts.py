"""Nothing left open: an idempotent take, the operator's open contacts, closing a card that
was given up, and the backend closing what nobody will finish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from ekc_core.enums import Role
from ekc_server.cli import app as server_cli
from ekc_server.models import AuditLog, Contact
from ekc_server.services.housekeeping import close_stale

API = "/api/v1"


def inbound(client: TestClient, gateway, **fields: Any) -> dict[str, Any]:
    body = {"channel": "phone", "line": "122", "caller_number": "89025550101", **fields}
    r = client.post(f"{API}/contacts", json=body, headers=gateway.headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def take(client: TestClient, who, cid: int, key: str | None = None):
    headers = {**who.headers, **({"Idempotency-Key": key} if key else {})}
    return client.post(f"{API}/contacts/{cid}/take", headers=headers)


# --- take -----------------------------------------------------------------------------------


def test_a_take_sent_again_with_its_key_opens_the_same_card(client, operator, gateway) -> None:
    c = inbound(client, gateway)
    first = take(client, operator, c["id"], key="take-0001-aaaa")
    assert first.status_code == 200, first.text
    again = take(client, operator, c["id"], key="take-0001-aaaa")
    assert again.status_code == 200
    assert again.json()["contact"] == first.json()["contact"]
    # the key belongs to that take: another contact with it is refused
    other = inbound(client, gateway, caller_number="89025550102")
    reused = take(client, operator, other["id"], key="take-0001-aaaa")
    assert reused.status_code == 409
    assert reused.json()["field"] == "Idempotency-Key"
    assert client.get(f"{API}/contacts/{other['id']}", headers=operator.headers).json()[
        "status"
    ] == ("queued")


def test_a_lost_take_then_a_hang_up_opens_the_card_in_after_call_work(
    client, operator, gateway
) -> None:
    """The answer of the take is lost; the caller hangs up; the console asks again."""
    c = inbound(client, gateway)
    assert take(client, operator, c["id"], key="take-0002-bbbb").status_code == 200
    hung_up = client.post(f"{API}/contacts/{c['id']}/hangup", headers=gateway.headers)
    assert hung_up.status_code == 200
    again = take(client, operator, c["id"], key="take-0002-bbbb")
    assert again.status_code == 200
    assert again.json()["contact"]["status"] == "wrapup"


def test_take_refusals_say_what_happened(client, operator, make_staff, gateway) -> None:
    other = make_staff(Role.operator, username="other")
    gone = inbound(client, gateway)
    client.post(f"{API}/contacts/{gone['id']}/abandon", headers=gateway.headers)
    r = take(client, operator, gone["id"])
    assert r.status_code == 409
    assert r.json()["code"] == "contact_abandoned"
    assert "положил трубку" in r.json()["detail"]

    c = inbound(client, gateway, caller_number="89025550103")
    assert take(client, other, c["id"]).status_code == 200
    r = take(client, operator, c["id"])
    assert (r.status_code, r.json()["code"]) == (409, "contact_taken")
    assert "другим оператором" in r.json()["detail"]


# --- the operator's open contacts and closing a given-up card ----------------------------


def test_mine_lists_open_contacts_and_close_ends_them(
    client, operator, make_staff, gateway, engine: Engine
) -> None:
    other = make_staff(Role.operator, username="other")
    c = inbound(client, gateway)
    take(client, operator, c["id"])
    mine = client.get(f"{API}/contacts/mine", headers=operator.headers).json()
    assert [m["id"] for m in mine] == [c["id"]]
    assert mine[0]["caller_number"] == "+79025550101"
    assert client.get(f"{API}/contacts/mine", headers=other.headers).json() == []

    # only the one who holds it (or a lead) may close it
    r = client.post(
        f"{API}/contacts/{c['id']}/close", headers=other.headers, json={"reason": "чужой"}
    )
    assert r.status_code == 409
    r = client.post(
        f"{API}/contacts/{c['id']}/close", headers=operator.headers, json={"reason": ""}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "reason"]

    r = client.post(
        f"{API}/contacts/{c['id']}/close",
        headers={**operator.headers, "Idempotency-Key": "close-0001-cccc"},
        json={"reason": "сервер отклонил карточку: неверный номер"},
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "done"
    assert closed["outcome"] is None
    assert closed["close_reason"] == "сервер отклонил карточку: неверный номер"
    assert closed["wrapup_ended_at"] >= closed["ended_at"] >= closed["answered_at"]
    # a retry of the same close answers the same; a second close is refused
    again = client.post(
        f"{API}/contacts/{c['id']}/close",
        headers={**operator.headers, "Idempotency-Key": "close-0001-cccc"},
        json={"reason": "сервер отклонил карточку: неверный номер"},
    )
    assert again.json() == closed
    r = client.post(
        f"{API}/contacts/{c['id']}/close", headers=operator.headers, json={"reason": "ещё раз"}
    )
    assert r.status_code == 409
    assert client.get(f"{API}/contacts/mine", headers=operator.headers).json() == []
    with Session(engine) as session:
        rows = session.exec(
            select(AuditLog).where(
                AuditLog.action == "close_contact", AuditLog.staff_id == operator.id
            )
        ).all()
        assert [r.details["contact_id"] for r in rows] == [c["id"]]


def test_a_lead_closes_a_contact_left_open_by_an_operator(client, operator, lead, gateway) -> None:
    c = inbound(client, gateway)
    take(client, operator, c["id"])
    r = client.post(
        f"{API}/contacts/{c['id']}/close",
        headers=lead.headers,
        json={"reason": "оператор ушёл со смены"},
    )
    assert r.status_code == 200
    assert r.json()["operator_id"] == operator.id


# --- the backend closes what nobody finishes ----------------------------------------------


def _held(
    engine: Engine, operator, answered: datetime, status: str = "active", **fields: Any
) -> int:
    """A phone call on line 122 that `operator` answered at `answered` and still holds."""
    return _contact(
        engine,
        channel="phone",
        line="122",
        status=status,
        operator_id=operator.id,
        queued_at=answered,
        answered_at=answered,
        **fields,
    )


def _contact(engine: Engine, **fields: Any) -> int:
    with Session(engine) as session:
        contact = Contact(direction="in", **fields)
        session.add(contact)
        session.commit()
        assert contact.id is not None
        return contact.id


def test_stale_contacts_are_closed_with_a_reason_at_the_limit(
    engine: Engine, operator, client
) -> None:
    now = datetime.now(UTC)
    h = timedelta(hours=1)
    answered = now - 5 * h
    old_active = _held(engine, operator, answered)
    old_wrapup = _held(engine, operator, now - 9 * h, "wrapup", ended_at=now - 4.5 * h)
    fresh = _held(engine, operator, now - 3 * h)
    old_call = _contact(
        engine, channel="phone", line="117", status="queued", queued_at=now - 25 * h
    )
    old_mail = _contact(engine, channel="email", status="queued", queued_at=now - 25 * h)

    with Session(engine) as session:
        closed = close_stale(session=session, open_hours=4, queued_hours=24, now=now)
    assert sorted(closed) == sorted([old_active, old_wrapup, old_call])

    with Session(engine) as session:
        a = session.get(Contact, old_active)
        w = session.get(Contact, old_wrapup)
        q = session.get(Contact, old_call)
        assert a is not None and w is not None and q is not None
        assert (a.status, a.outcome) == ("done", None)
        assert a.close_reason is not None and "4 ч" in a.close_reason
        # closed when the limit passed, not when the sweeper ran: no invented work hours
        assert a.ended_at == a.wrapup_ended_at == answered + 4 * h
        assert a.wrapup_recorded_at == now
        assert w.ended_at == now - 4.5 * h  # the conversation ended when the operator said
        assert w.wrapup_ended_at == now - 0.5 * h
        assert (q.status, q.abandoned) == ("abandoned", True)
        assert q.ended_at == now - 1 * h
        for untouched, status in ((fresh, "active"), (old_mail, "queued")):
            row = session.get(Contact, untouched)
            assert row is not None
            assert row.status == status
        audit = session.exec(
            select(AuditLog).where(col(AuditLog.action) == "close_stale_contacts")
        ).one()
        assert sorted(audit.details["contact_ids"]) == sorted(closed)
        assert audit.staff_id is None

    # a second pass finds nothing; the console's contact list shows none of them
    with Session(engine) as session:
        assert close_stale(session=session, open_hours=4, queued_hours=24, now=now) == []
    mine = client.get(f"{API}/contacts/mine", headers=operator.headers).json()
    assert [m["id"] for m in mine] == [fresh]


def test_close_stale_from_the_command_line(engine: Engine, db_url: str, tmp_path, operator) -> None:
    now = datetime.now(UTC)
    cid = _held(engine, operator, now - timedelta(hours=3))
    env = {"EKC_DATABASE_URL": db_url, "EKC_DATA_DIR": str(tmp_path)}
    kept = CliRunner().invoke(server_cli, ["contacts", "close-stale"], env=env)
    assert kept.exit_code == 0, kept.output
    assert "нет" in kept.output
    done = CliRunner().invoke(server_cli, ["contacts", "close-stale", "--hours", "2"], env=env)
    assert done.exit_code == 0, done.output
    assert f"Закрыто контактов: 1 ({cid})" in done.output
    with Session(engine) as session:
        row = session.get(Contact, cid)
        assert row is not None
        assert row.status == "done"


async def test_the_server_closes_stale_contacts_by_itself(
    engine: Engine, settings, operator
) -> None:
    import anyio

    from ekc_server.services.housekeeping import run_periodically

    now = datetime.now(UTC)
    cid = _held(
        engine, operator, now - timedelta(hours=6), "wrapup", ended_at=now - timedelta(hours=5)
    )
    fast = settings.model_copy(update={"stale_check_minutes": 0.002})

    def status() -> str:
        with Session(engine) as session:
            row = session.get(Contact, cid)
            assert row is not None
            return row.status

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(run_periodically, engine, fast)
        with anyio.move_on_after(20):
            while status() != "done":
                await anyio.sleep(0.05)
        tasks.cancel_scope.cancel()
    assert status() == "done"
