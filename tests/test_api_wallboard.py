"""The wallboard (`GET /wallboard`): the figures computed from contacts, presence, callbacks
and appeals; the long poll's 304 and its answer on a change; gzip. In-process, both DBs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from ekc_server.models import Appeal, CallbackTask, Citizen, Contact, Topic
from ekc_server.models_performance import AgentPresence
from ekc_server.services.presence import local_midnight

API = "/api/v1"


def board(client: TestClient, who: Any, **headers: str) -> dict[str, Any]:
    r = client.get(f"{API}/wallboard", params={"wait": 0}, headers={**who.headers, **headers})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    data: dict[str, Any] = r.json()
    return data


def call(
    session: Session,
    now: datetime,
    waited: float,
    *,
    status: str,
    answered_after: float | None,
    line: str = "122",
    channel: str = "phone",
    operator_id: int | None = None,
    abandoned: bool = False,
    ended_after: float | None = None,
) -> Contact:
    queued = now - timedelta(seconds=waited)
    contact = Contact(
        channel=channel,
        line=line if channel == "phone" else None,
        direction="in",
        status=status,
        operator_id=operator_id,
        queued_at=queued,
        answered_at=queued + timedelta(seconds=answered_after)
        if answered_after is not None
        else None,
        ended_at=queued + timedelta(seconds=ended_after) if ended_after is not None else None,
        abandoned=abandoned,
    )
    session.add(contact)
    return contact


def test_the_figures(client, engine: Engine, lead, make_staff) -> None:
    now = datetime.now(UTC)
    busy, wrapping, free, away, gone = (make_staff() for _ in range(5))
    with Session(engine) as session:
        # waiting: two calls on 122 (the oldest 95 s), one on 117, two written messages
        call(session, now, 95, status="queued", answered_after=None)
        call(session, now, 30, status="queued", answered_after=None)
        call(session, now, 12, status="queued", answered_after=None, line="117")
        call(session, now, 700, status="queued", answered_after=None, channel="email")
        call(session, now, 60, status="queued", answered_after=None, channel="web_chat")
        # the last 30 minutes, by hand: answered 5 (within 20 s: the 5, 15, 20 s waits and the
        # wrap-up's 10 s; not the active one's 45 s), abandoned after 40 s 1, a short abandon
        # (2 s: a misdial, not offered), waiting past 20 s 2 (95 s, 30 s; not the 12 s one):
        # offered 5 + 1 + 2 = 8, within 20 s 4: SL 50 %
        for wait in (5, 15, 20):
            call(session, now, 600, status="done", answered_after=wait)
        call(session, now, 300, status="active", answered_after=45, operator_id=busy.id)
        call(
            session,
            now,
            900,
            status="abandoned",
            answered_after=None,
            abandoned=True,
            ended_after=40,
        )
        call(
            session,
            now,
            900,
            status="abandoned",
            answered_after=None,
            abandoned=True,
            ended_after=2,
        )
        w = call(
            session,
            now,
            400,
            status="wrapup",
            answered_after=10,
            operator_id=wrapping.id,
            ended_after=200,
        )
        # earlier today (outside the 30 minutes, if today is that long yet): 1 answered late
        earlier = min(now - local_midnight(now), timedelta(hours=2)) - timedelta(seconds=1)
        if earlier > timedelta(minutes=31):
            call(session, now, earlier.total_seconds(), status="done", answered_after=60)
        for staff, state, reason in (
            (busy, "ready", None),
            (wrapping, "ready", None),
            (free, "ready", None),
            (away, "away", "lunch"),
        ):
            session.add(
                AgentPresence(
                    staff_id=staff.id,
                    state=state,
                    reason=reason,
                    since=now - timedelta(minutes=3),
                    last_seen_at=now,
                )
            )
        citizen = Citizen(last_name="Тестова", first_name="Анна")
        session.add(citizen)
        session.flush()
        assert citizen.id is not None
        for due in (now - timedelta(hours=1), now + timedelta(minutes=1), now + timedelta(days=2)):
            session.add(
                CallbackTask(
                    citizen_id=citizen.id, phone="+79025550101", reason="перезвонить", due_at=due
                )
            )
        topic = session.exec(select(Topic)).first()
        assert topic is not None and topic.id is not None
        end_of_day = local_midnight(now) + timedelta(days=1)
        for number, answer_due, status in (
            ("1", end_of_day - timedelta(seconds=1), "registered"),  # due today
            ("2", end_of_day + timedelta(hours=1), "registered"),  # tomorrow
            ("3", end_of_day - timedelta(seconds=1), "resolved"),  # answered already
        ):
            session.add(
                Appeal(
                    number=f"T-{number}",
                    citizen_id=citizen.id,
                    kind="appeal_59fz",
                    topic_id=topic.id,
                    summary="тест",
                    status=status,
                    answer_due=answer_due,
                )
            )
        session.commit()
        wrapup_ended = w.ended_at

    data = board(client, lead)
    assert data["lines"]["122"]["waiting"] == 2 and data["lines"]["117"]["waiting"] == 1
    oldest = datetime.fromisoformat(data["lines"]["122"]["oldest"])
    assert abs(oldest - (now - timedelta(seconds=95))) < timedelta(milliseconds=1)
    assert data["written"]["waiting"] == 2
    assert abs(
        datetime.fromisoformat(data["written"]["oldest"]) - (now - timedelta(seconds=700))
    ) < timedelta(milliseconds=1)
    assert data["sl_30m"] == {"offered": 8, "answered_in": 4, "value": 0.5}
    assert data["sl_today"]["offered"] >= 8
    assert (data["callbacks_due"], data["callbacks_overdue"]) == (2, 1)
    assert data["appeals_due_today"] == 1
    rows = {a["id"]: a for a in data["agents"]}
    assert rows[busy.id]["act"] == "contact"
    assert rows[wrapping.id]["act"] == "acw"
    assert datetime.fromisoformat(rows[wrapping.id]["since"]) == wrapup_ended
    assert rows[free.id]["act"] == "free"
    assert (rows[away.id]["act"], rows[away.id]["reason"]) == ("away", "lunch")
    order = [a["act"] for a in data["agents"]]
    assert order == sorted(order, key=["free", "contact", "acw", "away"].index)
    assert data["offline"] == 1 and gone.id not in rows  # never signed in to a console
    assert lead.id not in rows  # a lead without a presence row is not an operator


def test_long_poll_304_and_a_change_during_the_wait(client, engine, lead, gateway) -> None:
    first = board(client, lead)
    etag = {"If-None-Match": f'"{first["version"]}"'}
    started = time.monotonic()
    r = client.get(f"{API}/wallboard", params={"wait": 1}, headers={**lead.headers, **etag})
    assert r.status_code == 304 and r.content == b""
    assert time.monotonic() - started >= 0.9  # it waited

    def post_call() -> None:
        time.sleep(0.5)
        body = {"channel": "phone", "line": "117", "caller_number": "8 (3952) 12-34-56"}
        client.post(f"{API}/contacts", json=body, headers=gateway.headers)

    poster = threading.Thread(target=post_call)
    poster.start()
    started = time.monotonic()
    r = client.get(f"{API}/wallboard", params={"wait": 10}, headers={**lead.headers, **etag})
    poster.join()
    assert r.status_code == 200
    assert r.json()["lines"]["117"]["waiting"] == 1
    assert time.monotonic() - started < 5  # answered on the change, not at the end


def test_gzip_and_compact(client, engine, lead, make_staff) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        for i in range(50):
            staff = make_staff()
            session.add(
                AgentPresence(
                    staff_id=staff.id,
                    state="ready",
                    since=now - timedelta(seconds=i * 7),
                    last_seen_at=now,
                )
            )
        session.commit()
    r = client.get(
        f"{API}/wallboard",
        params={"wait": 0},
        headers={**lead.headers, "Accept-Encoding": "gzip"},
    )
    assert r.headers["content-encoding"] == "gzip"
    assert len(r.json()["agents"]) == 50
    assert int(r.headers["content-length"]) < len(r.content) / 3  # r.content: decompressed


def test_operator_may_not_see_it(client, operator) -> None:
    r = client.get(f"{API}/wallboard", params={"wait": 0}, headers=operator.headers)
    assert r.status_code == 403
    assert client.get(f"{API}/agents", headers=operator.headers).status_code == 403
