"""True times: a write stores when it happened at the desk (clock-corrected), with its
arrival beside it; derived times and 59-FZ deadlines start from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ekc_core.deadlines import compute_deadlines
from ekc_core.enums import AppealKind
from ekc_server.errors import InvalidFieldError
from ekc_server.models import Appeal, AppealEvent, CallbackTask, Contact
from ekc_server.services.reference import deadline_terms
from ekc_server.write_time import resolve_write_time

API = "/api/v1"
SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(days=14)
#: what a test may take between computing "now" and the server reading its clock
SLACK = timedelta(seconds=20)


def desk(at: datetime, slow: timedelta = timedelta(0)) -> dict[str, str]:
    """The headers a console sends: when it happened and, stamped as the request leaves,
    the desk's clock now (`slow` behind the server's)."""
    sent = datetime.now(UTC) - slow
    return {"X-Occurred-At": at.isoformat(), "X-Sent-At": sent.isoformat()}


def close_to(value: str | datetime | None, expected: datetime) -> bool:
    assert value is not None
    got = datetime.fromisoformat(value) if isinstance(value, str) else value
    return abs(got - expected) <= SLACK


# --- the correction itself ----------------------------------------------------------------


def test_a_slow_desk_clock_is_corrected_by_the_sent_time() -> None:
    received = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    # the desk clock is 7 minutes slow; the item waited 30 minutes in the outbox
    sent = received - timedelta(minutes=7)
    occurred = sent - timedelta(minutes=30)
    t = resolve_write_time(
        occurred=occurred, sent=sent, received=received, skew=SKEW, max_age=MAX_AGE
    )
    assert t.occurred_at == received - timedelta(minutes=30)
    assert t.received_at == received
    assert t.desk_offset == timedelta(minutes=7)
    assert t.from_desk(occurred) == t.occurred_at


def test_without_headers_the_write_happened_on_arrival() -> None:
    received = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    t = resolve_write_time(occurred=None, sent=None, received=received, skew=SKEW, max_age=MAX_AGE)
    assert t.occurred_at == t.received_at == received


@pytest.mark.parametrize(
    ("occurred", "sent", "words"),
    [
        (timedelta(minutes=10), None, "впереди часов сервера"),
        (timedelta(days=-15), None, "старше 14"),
        (timedelta(minutes=30), timedelta(0), "позже времени отправки"),
    ],
)
def test_impossible_times_are_refused(
    occurred: timedelta, sent: timedelta | None, words: str
) -> None:
    received = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    with pytest.raises(InvalidFieldError) as info:
        resolve_write_time(
            occurred=received + occurred,
            sent=received + sent if sent is not None else None,
            received=received,
            skew=SKEW,
            max_age=MAX_AGE,
        )
    assert words in info.value.message
    assert info.value.field == "X-Occurred-At"


def test_a_time_without_zone_is_422_naming_the_header(client: TestClient, operator) -> None:
    r = client.post(
        f"{API}/contacts/manual",
        headers={**operator.headers, "X-Occurred-At": "2026-12-02T10:00:00"},
        json={"channel": "phone", "line": "122", "caller_number": "89025550011"},
    )
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["header", "X-Occurred-At"]
    assert "часовой пояс" in detail["msg"]


# --- a 30-minute outage replayed ----------------------------------------------------------


def test_a_card_saved_during_a_30_minute_outage_keeps_its_desk_times(
    client: TestClient, operator, engine: Engine
) -> None:
    """The operator takes a call by hand, talks 5 minutes, registers a 59-FZ appeal and saves
    the card while the link is down; the outbox delivers it all 30 minutes later. The desk's
    clock is 3 minutes slow."""
    now = datetime.now(UTC)
    slow = timedelta(minutes=3)
    started = now - timedelta(minutes=38)  # true times
    ended = started + timedelta(minutes=5)
    saved = ended + timedelta(minutes=2)

    r = client.post(
        f"{API}/contacts/manual",
        headers={**operator.headers, **desk(started - slow, slow), "Idempotency-Key": "k-start-1"},
        json={
            "channel": "phone",
            "line": "122",
            "caller_number": "89025550011",
            "started_at": (started - slow).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    contact = r.json()
    assert close_to(contact["answered_at"], started)
    cid = contact["id"]

    citizen = client.post(
        f"{API}/citizens",
        headers=operator.headers,
        json={"last_name": "Белова", "first_name": "Анна", "phones": ["89025550011"]},
    ).json()
    r = client.post(
        f"{API}/contacts/{cid}/end", headers={**operator.headers, **desk(ended - slow, slow)}
    )
    assert r.status_code == 200, r.text
    assert close_to(r.json()["ended_at"], ended)

    r = client.post(
        f"{API}/appeals",
        headers={**operator.headers, **desk(saved - slow, slow), "Idempotency-Key": "k-appeal-1"},
        json={
            "citizen_id": citizen["id"],
            "kind": "appeal_59fz",
            "topic_code": "housing",
            "summary": "Не вывозят мусор третью неделю",
            "contact_id": cid,
        },
    )
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert close_to(appeal["registered_at"], saved)
    assert close_to(appeal["received_at"], saved)

    r = client.post(
        f"{API}/contacts/{cid}/wrapup",
        headers={**operator.headers, **desk(saved - slow, slow), "Idempotency-Key": "k-wrap-1"},
        json={
            "topic_code": "housing",
            "outcome": "appeal_registered",
            "appeal_id": appeal["id"],
            "citizen_id": citizen["id"],
        },
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert close_to(done["wrapup_ended_at"], saved)
    assert done["ended_at"] == contact_ended(client, operator, cid)

    with Session(engine) as session:
        stored = session.get(Contact, cid)
        assert stored is not None
        # when things happened, on the backend's clock ...
        assert close_to(stored.answered_at, started)
        assert close_to(stored.ended_at, ended)
        assert close_to(stored.wrapup_ended_at, saved)
        # ... and when the backend learnt of them, beside
        for arrival in (stored.recorded_at, stored.ended_recorded_at, stored.wrapup_recorded_at):
            assert close_to(arrival, now)
        talk = (stored.ended_at or now) - (stored.answered_at or now)
        assert abs(talk - timedelta(minutes=5)) <= SLACK  # not 35 minutes (SLACK: a busy machine)

        row = session.get(Appeal, appeal["id"])
        assert row is not None
        assert close_to(row.recorded_at, now)
        # the 59-FZ clock starts at the registration at the desk, not at the arrival
        terms = deadline_terms(session=session, kind=AppealKind.appeal_59fz)
        dues = compute_deadlines(
            terms, received_at=row.received_at, registered_at=row.registered_at
        )
        assert (row.register_due, row.forward_due, row.answer_due) == (
            dues.register_due,
            dues.forward_due,
            dues.answer_due,
        )
        assert row.answer_due is not None
        assert close_to(row.answer_due, saved + timedelta(days=terms.answer_days or 0))


def contact_ended(client: TestClient, who, cid: int) -> Any:
    return client.get(f"{API}/contacts/{cid}", headers=who.headers).json()["ended_at"]


def test_appeal_events_and_callback_attempts_keep_their_desk_time(
    client: TestClient, operator, engine: Engine
) -> None:
    now = datetime.now(UTC)
    citizen = client.post(
        f"{API}/citizens",
        headers=operator.headers,
        json={"last_name": "Орлов", "first_name": "Иван", "phones": ["89025550022"]},
    ).json()
    appeal = client.post(
        f"{API}/appeals",
        headers={**operator.headers, **desk(now - timedelta(minutes=40))},
        json={
            "citizen_id": citizen["id"],
            "kind": "appeal_59fz",
            "topic_code": "housing",
            "summary": "Протекает крыша",
        },
    ).json()
    happened = now - timedelta(minutes=25)
    r = client.post(
        f"{API}/appeals/{appeal['id']}/events",
        headers={**operator.headers, **desk(happened)},
        json={"type": "comment", "text": "Позвонил в управляющую компанию"},
    )
    assert r.status_code == 201, r.text
    task = client.post(
        f"{API}/callbacks",
        headers=operator.headers,
        json={
            "citizen_id": citizen["id"],
            "reason": "Сообщить ответ",
            "due_at": (now + timedelta(hours=1)).isoformat(),
            "appeal_id": appeal["id"],
        },
    ).json()
    r = client.post(
        f"{API}/callbacks/{task['id']}/attempts",
        headers={**operator.headers, **desk(happened)},
        json={"result": "reached", "note": "Сообщил"},
    )
    assert r.status_code == 200, r.text
    assert close_to(r.json()["completed_at"], happened)
    assert close_to(r.json()["last_attempt_at"], happened)
    with Session(engine) as session:
        events = session.exec(
            select(AppealEvent).where(
                AppealEvent.appeal_id == appeal["id"],
                col(AppealEvent.type).in_(("comment", "callback_made")),
            )
        ).all()
        assert len(events) == 2
        for event in events:
            assert close_to(event.at, happened)
            assert close_to(event.recorded_at, now)
        stored = session.get(CallbackTask, task["id"])
        assert stored is not None
        assert close_to(stored.last_attempt_recorded_at, now)


def test_an_end_before_the_answer_is_moved_to_the_answer(
    client: TestClient, operator, gateway
) -> None:
    """A desk clock off by more than the correction can see (no X-Sent-At) cannot end a
    conversation before it began."""
    c = client.post(
        f"{API}/contacts",
        headers=gateway.headers,
        json={"channel": "phone", "line": "122", "caller_number": "89025550033"},
    ).json()
    taken = client.post(f"{API}/contacts/{c['id']}/claim", headers=operator.headers).json()
    early = datetime.fromisoformat(taken["answered_at"]) - timedelta(minutes=3)
    r = client.post(
        f"{API}/contacts/{c['id']}/end",
        headers={**operator.headers, "X-Occurred-At": early.isoformat()},
    )
    assert r.status_code == 200
    assert r.json()["ended_at"] == taken["answered_at"]
