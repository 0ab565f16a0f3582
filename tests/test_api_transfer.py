"""Transfer onward to an agency (issue 14, point 4): `POST /contacts/{id}/transfer`, the
contact's events, the outcome the wrap-up keeps, and the reports that count transfers, on
SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from ekc_core.localtime import CENTRE_TZ
from ekc_core.reports import Report
from ekc_server.models import Agency, AuditLog, Contact
from ekc_server.models_events import ContactEvent
from tests.conftest import StaffAccount
from tests.test_api_contacts import active, queued

API = "/api/v1"
BODY = {
    "agency_code": "mchs_io",
    "reason": "Вопрос в ведении МЧС",
    "summary": "Гражданка сообщает о запахе газа в подъезде, ул. Ленина 5",
}


def transfer(
    client: TestClient, who: StaffAccount, contact_id: int, *, key: str | None = None, **body: Any
) -> Any:
    headers = dict(who.headers)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(
        f"{API}/contacts/{contact_id}/transfer", json={**BODY, **body}, headers=headers
    )


def wrap_up(client: TestClient, who: StaffAccount, contact_id: int, outcome: str) -> Any:
    body = {"topic_code": "emergency", "outcome": outcome, "summary": "Переведена в МЧС"}
    return client.post(f"{API}/contacts/{contact_id}/wrapup", json=body, headers=who.headers)


def test_a_transfer_ends_the_call_records_who_and_when_and_gives_the_agencys_line(
    client: TestClient, gateway: StaffAccount, operator: StaffAccount, engine: Engine
) -> None:
    contact = active(client, gateway, operator)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    r = client.post(
        f"{API}/contacts/{contact['id']}/transfer",
        json=BODY,
        headers={**operator.headers, "X-Occurred-At": at.isoformat()},
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["agency"]["phone"] == "8 (3952) 39-99-99"
    assert answer["agency"]["short_name"] == "ГУ МЧС по ИО"
    assert answer["contact"]["status"] == "wrapup"  # the operator's part of the call is over
    assert answer["contact"]["outcome"] == "transferred"
    event = answer["event"]
    assert (event["type"], event["agency_code"], event["actor_id"]) == (
        "transferred",
        "mchs_io",
        operator.id,
    )
    assert event["actor_name"] == f"Тестовый {operator.username}"
    assert event["text"] == BODY["summary"]
    assert event["data"]["reason"] == BODY["reason"]
    # when it happened at the desk (the outbox's time), and when the backend learnt it
    happened = datetime.fromisoformat(event["at"])
    recorded = datetime.fromisoformat(event["recorded_at"])
    assert happened >= datetime.fromisoformat(contact["answered_at"])
    assert recorded > happened
    with Session(engine) as session:
        row = session.get(Contact, contact["id"])
        assert row is not None and row.ended_at == happened
        audit = session.exec(select(AuditLog).where(AuditLog.action == "transfer_contact")).one()
        assert audit.details == {"contact_id": contact["id"], "agency": "mchs_io"}

    events = client.get(f"{API}/contacts/{contact['id']}/events", headers=operator.headers)
    assert events.status_code == 200, events.text
    assert [e["id"] for e in events.json()] == [event["id"]]

    # the wrap-up records topic and summary; the outcome stays «переведено в ведомство»
    done = wrap_up(client, operator, contact["id"], "consultation")
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["outcome"]) == ("done", "transferred")
    assert done.json()["topic_code"] == "emergency"


def test_a_contact_in_after_call_work_is_transferred_without_a_new_end(
    client: TestClient, gateway: StaffAccount, operator: StaffAccount
) -> None:
    contact = active(client, gateway, operator)
    ended = client.post(f"{API}/contacts/{contact['id']}/end", headers=operator.headers).json()
    r = transfer(client, operator, contact["id"])
    assert r.status_code == 200, r.text
    assert r.json()["contact"]["ended_at"] == ended["ended_at"]
    assert r.json()["contact"]["status"] == "wrapup"


def test_a_repeat_with_the_same_key_answers_as_the_first_and_records_once(
    client: TestClient, gateway: StaffAccount, operator: StaffAccount, engine: Engine
) -> None:
    contact = active(client, gateway, operator)
    first = transfer(client, operator, contact["id"], key="outbox-item-1-transfer")
    again = transfer(client, operator, contact["id"], key="outbox-item-1-transfer")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    with Session(engine) as session:
        assert len(session.exec(select(ContactEvent)).all()) == 1
    # a second transfer (another key) is refused: the call has gone
    other = transfer(client, operator, contact["id"], key="outbox-item-2-transfer")
    assert other.status_code == 409
    assert "уже переведён" in other.json()["detail"]


def test_refusals_name_the_reason(
    client: TestClient,
    gateway: StaffAccount,
    operator: StaffAccount,
    make_staff: Any,
    engine: Engine,
) -> None:
    contact = active(client, gateway, operator)
    other = make_staff()
    r = transfer(client, other, contact["id"])
    assert r.status_code == 409
    assert "другой оператор" in r.json()["detail"]
    assert (
        client.get(f"{API}/contacts/{contact['id']}/events", headers=other.headers).status_code
        == 403
    )

    assert transfer(client, operator, 999_999).status_code == 404
    waiting = queued(client, gateway)
    assert transfer(client, operator, waiting["id"]).status_code == 409

    def field_of(response: Any) -> tuple[int, str, str]:
        detail = response.json()["detail"][0]
        return response.status_code, detail["loc"][-1], detail["msg"]

    status, field, msg = field_of(transfer(client, operator, contact["id"], agency_code="nope"))
    assert (status, field) == (422, "agency_code") and "неизвестное ведомство" in msg
    with Session(engine) as session:
        agency = session.exec(select(Agency).where(Agency.code == "mvd_io")).one()
        agency.active = False
        session.add(agency)
        session.commit()
    status, field, msg = field_of(transfer(client, operator, contact["id"], agency_code="mvd_io"))
    assert (status, field) == (422, "agency_code") and "больше не работает" in msg
    for name, value in (("reason", "  "), ("summary", "  "), ("reason", ""), ("summary", "")):
        status, field, msg = field_of(transfer(client, operator, contact["id"], **{name: value}))
        assert (status, field) == (422, name)
        # Russian, not pydantic's English
        assert any("а" <= ch <= "я" for ch in msg.lower()), msg
        assert not any("a" <= ch <= "z" for ch in msg.lower()), msg
    too_long = transfer(client, operator, contact["id"], summary="а" * 2001)
    assert field_of(too_long)[:2] == (422, "summary")
    assert transfer(client, operator, contact["id"]).status_code == 200  # nothing stuck

    assert wrap_up(client, operator, contact["id"], "transferred").status_code == 200
    closed = transfer(client, operator, contact["id"], key="outbox-item-late-transfer")
    assert closed.status_code == 409


def test_a_lead_transfers_a_contact_left_open_and_reads_its_events(
    client: TestClient, gateway: StaffAccount, operator: StaffAccount, lead: StaffAccount
) -> None:
    contact = active(client, gateway, operator)
    r = transfer(client, lead, contact["id"], agency_code="minzdrav_io")
    assert r.status_code == 200, r.text
    assert r.json()["event"]["actor_id"] == lead.id
    events = client.get(f"{API}/contacts/{contact['id']}/events", headers=lead.headers).json()
    assert [e["agency_code"] for e in events] == ["minzdrav_io"]


def _report(client: TestClient, lead: StaffAccount, kind: str) -> Report:
    today = datetime.now(CENTRE_TZ).date().isoformat()
    r = client.get(
        f"{API}/reports/{kind}", params={"from": today, "to": today}, headers=lead.headers
    )
    assert r.status_code == 200, r.text
    return Report.model_validate(r.json())


@pytest.fixture
def transfers_made(
    client: TestClient, gateway: StaffAccount, operator: StaffAccount
) -> list[dict[str, Any]]:
    """Three transfers (two to МЧС on «emergency», one to Минздрав, not wrapped up yet),
    one call that was only a consultation and one marked «transferred» in its wrap-up."""
    made = []
    for agency, topic in (
        ("mchs_io", "emergency"),
        ("mchs_io", "emergency"),
        ("minzdrav_io", None),
    ):
        contact = active(client, gateway, operator)
        assert transfer(client, operator, contact["id"], agency_code=agency).status_code == 200
        if topic:
            assert wrap_up(client, operator, contact["id"], "consultation").status_code == 200
        made.append(contact)
    plain = active(client, gateway, operator)
    assert wrap_up(client, operator, plain["id"], "consultation").status_code == 200
    # put through by other means, marked only in the wrap-up: no agency on record
    marked = active(client, gateway, operator)
    assert wrap_up(client, operator, marked["id"], "transferred").status_code == 200
    return made


def test_the_topics_report_counts_transfers_to_an_agency(
    client: TestClient, lead: StaffAccount, transfers_made: list[dict[str, Any]]
) -> None:
    report = _report(client, lead, "topics")
    assert report.column("transferred").title == "Переведено в ведомство"
    rows = {r["code"]: r for r in report.rows}
    # by the outcome, as in the operators report: the transfers and the one marked so
    assert (rows["emergency"]["calls_in"], rows["emergency"]["transferred"]) == (4, 3)
    assert report.total is not None and report.total["transferred"] == 3


def test_the_operators_report_says_transferred_to_an_agency(
    client: TestClient, lead: StaffAccount, transfers_made: list[dict[str, Any]]
) -> None:
    report = _report(client, lead, "operators")
    assert report.column("outcome_transferred").title == "Переведено в ведомство"
    # the transfer sets the outcome at once: the contact not wrapped up yet counts too
    (row,) = [r for r in report.rows if r["outcome_transferred"]]
    assert (row["outcome_transferred"], row["outcome_consultation"]) == (4, 1)


def test_the_transfers_report_by_agency_and_topic(
    client: TestClient, lead: StaffAccount, transfers_made: list[dict[str, Any]]
) -> None:
    report = _report(client, lead, "transfers")
    rows = [(r["agency_code"], r["topic_code"], r["transferred"]) for r in report.rows]
    assert rows == [("mchs_io", "emergency", 2), ("minzdrav_io", None, 1)]
    assert report.rows[0]["phone"] == "8 (3952) 39-99-99"
    assert report.rows[0]["share"] == pytest.approx(2 / 3)
    assert report.total is not None and report.total["transferred"] == 3
    assert any("ГУ МЧС по ИО" in note and "2 из 3" in note for note in report.notes)
    assert any("ещё не сохранён" in note for note in report.notes)
    assert any("без записи о переводе: 1" in note for note in report.notes)


def test_two_transfers_at_once_record_one(
    client: TestClient,
    gateway: StaffAccount,
    operator: StaffAccount,
    lead: StaffAccount,
    engine: Engine,
) -> None:
    contact = active(client, gateway, operator)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(
                lambda who: transfer(client, who, contact["id"], agency_code="minzdrav_io"),
                [operator, lead],
            )
        )
    assert sorted(a.status_code for a in answers) == [200, 409]
    with Session(engine) as session:
        assert len(session.exec(select(ContactEvent)).all()) == 1
        row = session.get(Contact, contact["id"])
        assert row is not None and row.outcome == "transferred" and row.status == "wrapup"
