"""Operator presence: `PUT /agents/me/state` (ready / away / offline, with the desk's time,
idempotent), `GET /agents` (what each operator is doing), the heartbeat marking the console
as heard from, and a silent console counted offline. In-process, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from ekc_core.enums import ContactStatus
from ekc_server.models import Contact
from ekc_server.models_performance import AgentPresence, AgentStateEvent

API = "/api/v1"


def put_state(client: TestClient, who: Any, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    r = client.put(f"{API}/agents/me/state", json=body, headers={**who.headers, **headers})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def agents(client: TestClient, lead: Any) -> dict[int, dict[str, Any]]:
    r = client.get(f"{API}/agents", headers=lead.headers)
    assert r.status_code == 200, r.text
    return {a["staff_id"]: a for a in r.json()["agents"]}


def events(engine: Engine, staff_id: int) -> list[tuple[str, str | None, datetime]]:
    with Session(engine) as session:
        rows = session.exec(
            select(AgentStateEvent)
            .where(AgentStateEvent.staff_id == staff_id)
            .order_by(col(AgentStateEvent.id))
        ).all()
        return [(e.state, e.reason, e.at) for e in rows]


def test_ready_then_away_with_a_reason(client, engine, operator, lead) -> None:
    before = agents(client, lead)[operator.id]
    assert before["activity"] == "offline" and before["since"] is None  # never signed in

    signed_in = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    ready = put_state(client, operator, {"state": "ready", "at": signed_in})
    assert ready["state"] == "ready" and ready["activity"] == "free"
    at = datetime.now(UTC) - timedelta(seconds=30)
    away = put_state(client, operator, {"state": "away", "reason": "lunch", "at": at.isoformat()})
    assert away["state"] == "away" and away["reason"] == "lunch"

    row = agents(client, lead)[operator.id]
    assert row["activity"] == "away" and row["reason"] == "lunch"
    assert abs(datetime.fromisoformat(row["since"]) - at) < timedelta(seconds=1)
    assert [(s, r) for s, r, _ in events(engine, operator.id)] == [
        ("ready", None),
        ("away", "lunch"),
    ]


def test_the_same_state_again_logs_nothing(client, engine, operator) -> None:
    put_state(client, operator, {"state": "ready"})
    put_state(client, operator, {"state": "ready"})
    assert len(events(engine, operator.id)) == 1


def test_a_late_change_is_history_not_the_present(client, engine, operator, lead) -> None:
    """An outbox emptied after an outage: an older change arrives after a newer one."""
    now = datetime.now(UTC)
    put_state(client, operator, {"state": "ready", "at": (now - timedelta(minutes=1)).isoformat()})
    put_state(
        client,
        operator,
        {"state": "away", "reason": "break", "at": (now - timedelta(minutes=5)).isoformat()},
    )
    assert agents(client, lead)[operator.id]["state"] == "ready"
    assert [s for s, _, _ in events(engine, operator.id)] == ["ready", "away"]


def test_desk_clock_is_corrected_by_sent_at(client, engine, operator) -> None:
    """The desk's clock is 10 minutes behind: its `at` is moved by `X-Sent-At` (the
    console's outbox sends the same time as `at` and `X-Occurred-At`)."""
    now = datetime.now(UTC)
    desk = now - timedelta(minutes=10)
    happened = (desk - timedelta(seconds=60)).isoformat()
    put_state(
        client,
        operator,
        {"state": "away", "reason": "meeting", "at": happened},
        **{"X-Sent-At": desk.isoformat(), "X-Occurred-At": happened},
    )
    ((_, _, at),) = events(engine, operator.id)
    assert abs(at - (now - timedelta(seconds=60))) < timedelta(seconds=5)


def test_idempotent_replay_logs_once(client, engine, operator) -> None:
    key = {"Idempotency-Key": "presence-key-0001"}
    first = put_state(client, operator, {"state": "away", "reason": "other"}, **key)
    again = put_state(client, operator, {"state": "away", "reason": "other"}, **key)
    assert first == again
    assert len(events(engine, operator.id)) == 1


def test_bad_changes_are_422_naming_the_field(client, operator) -> None:
    url = f"{API}/agents/me/state"
    r = client.put(url, json={"state": "ready", "reason": "lunch"}, headers=operator.headers)
    assert r.status_code == 422 and "только для состояния away" in r.text
    r = client.put(url, json={"state": "busy"}, headers=operator.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "state"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = client.put(url, json={"state": "ready", "at": future}, headers=operator.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "at"
    ancient = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    r = client.put(url, json={"state": "ready", "at": ancient}, headers=operator.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "at"


def test_open_contacts_make_on_contact_and_after_call_work(client, engine, operator, lead):
    put_state(client, operator, {"state": "ready"})
    now = datetime.now(UTC)
    with Session(engine) as session:
        contact = Contact(
            channel="phone",
            line="122",
            direction="in",
            status=ContactStatus.active.value,
            operator_id=operator.id,
            queued_at=now - timedelta(seconds=90),
            answered_at=now - timedelta(seconds=70),
        )
        session.add(contact)
        session.commit()
        contact_id = contact.id
    row = agents(client, lead)[operator.id]
    assert row["activity"] == "contact" and row["contact_id"] == contact_id
    assert datetime.fromisoformat(row["activity_since"]) == now - timedelta(seconds=70)
    with Session(engine) as session:
        session.execute(
            update(Contact)
            .where(col(Contact.id) == contact_id)
            .values(status=ContactStatus.wrapup.value, ended_at=now - timedelta(seconds=10))
        )
        session.commit()
    row = agents(client, lead)[operator.id]
    assert row["activity"] == "acw"
    assert datetime.fromisoformat(row["activity_since"]) == now - timedelta(seconds=10)


def test_a_silent_console_counts_offline_and_the_heartbeat_keeps_it_seen(
    client, engine, operator, lead
) -> None:
    put_state(client, operator, {"state": "ready"})
    long_ago = datetime.now(UTC) - timedelta(minutes=10)

    def seen(at: datetime) -> None:
        with Session(engine) as session:
            session.execute(
                update(AgentPresence)
                .where(col(AgentPresence.staff_id) == operator.id)
                .values(last_seen_at=at, since=at - timedelta(minutes=1))
            )
            session.commit()

    seen(long_ago)
    assert client.get(f"{API}/me", headers=operator.headers).status_code == 200  # heartbeat
    assert agents(client, lead)[operator.id]["activity"] == "free"  # heard from just now

    seen(long_ago)
    row = agents(client, lead)[operator.id]
    assert (row["activity"], row["state"], row["reason"]) == ("offline", "offline", "silent")
    logged = events(engine, operator.id)
    assert logged[-1][:2] == ("offline", "silent")
    assert abs(logged[-1][2] - long_ago) < timedelta(seconds=1)  # from its last request
    agents(client, lead)
    assert len(events(engine, operator.id)) == len(logged)  # logged once

    # the console is heard again and sends its state again: ready
    put_state(client, operator, {"state": "ready"})
    assert agents(client, lead)[operator.id]["activity"] == "free"


def test_the_housekeeping_pass_logs_silent_consoles_with_nobody_watching(
    client, engine, operator
) -> None:
    from ekc_server.services.housekeeping import mark_silent_now

    put_state(client, operator, {"state": "ready"})
    assert mark_silent_now(engine) == 0  # heard from just now
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    with Session(engine) as session:
        session.execute(
            update(AgentPresence)
            .where(col(AgentPresence.staff_id) == operator.id)
            .values(last_seen_at=long_ago, since=long_ago - timedelta(minutes=1))
        )
        session.commit()
    assert mark_silent_now(engine) == 1
    assert events(engine, operator.id)[-1][:2] == ("offline", "silent")
    assert mark_silent_now(engine) == 0  # once
