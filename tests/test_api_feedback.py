"""Post-call surveys and video consultations posted by gateways, and the video report
(`POST /contacts/{id}/survey`, `POST /contacts/video`, `GET /reports/video`), on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlmodel import Session, col, func, select

from ekc_core.enums import Role
from ekc_server.demo_feedback import seed_feedback
from ekc_server.models import Contact, ContactSurvey, Office, QualityReview
from tests.conftest import DATA_DIR, MakeStaff, StaffAccount

API = "/api/v1"


def answered_call(client: TestClient, gateway: StaffAccount, operator: StaffAccount) -> int:
    """An inbound call the operator answered and saved: its id."""
    r = client.post(
        f"{API}/contacts",
        json={"channel": "phone", "line": "122", "caller_number": "+79025550101"},
        headers=gateway.headers,
    )
    assert r.status_code == 201, r.text
    contact_id: int = r.json()["id"]
    r = client.post(f"{API}/contacts/{contact_id}/claim", headers=operator.headers)
    assert r.status_code == 200, r.text
    r = client.post(
        f"{API}/contacts/{contact_id}/save",
        json={"topic_code": "svo.contract", "outcome": "consultation", "summary": "выплаты"},
        headers=operator.headers,
    )
    assert r.status_code == 200, r.text
    return contact_id


def problems(response: Any) -> dict[str, str]:
    """422 answer: field (last part of loc) → message."""
    return {str(d["loc"][-1]): d["msg"] for d in response.json()["detail"]}


# --- surveys --------------------------------------------------------------------------------


def test_survey_is_stored_once_and_a_retry_gives_the_same_row(
    client: TestClient, gateway: StaffAccount, operator: StaffAccount, engine: Engine
) -> None:
    contact_id = answered_call(client, gateway, operator)
    body = {"csat": 5, "recommend": 9, "answered_at": datetime.now(UTC).isoformat()}
    first = client.post(f"{API}/contacts/{contact_id}/survey", json=body, headers=gateway.headers)
    assert first.status_code == 201, first.text
    assert first.json()["csat"] == 5 and first.json()["recommend"] == 9
    again = client.post(f"{API}/contacts/{contact_id}/survey", json=body, headers=gateway.headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    with Session(engine) as session:
        rows = session.exec(
            select(func.count()).where(col(ContactSurvey.contact_id) == contact_id)
        ).one()
    assert rows == 1


def test_a_missing_answer_is_filled_in_and_a_contradicting_one_refused(
    client: TestClient, gateway: StaffAccount, operator: StaffAccount
) -> None:
    contact_id = answered_call(client, gateway, operator)
    url = f"{API}/contacts/{contact_id}/survey"
    assert client.post(url, json={"csat": 4}, headers=gateway.headers).status_code == 201
    completed = client.post(url, json={"recommend": 10}, headers=gateway.headers)
    assert completed.status_code == 200
    assert (completed.json()["csat"], completed.json()["recommend"]) == (4, 10)
    clash = client.post(url, json={"csat": 2, "recommend": 10}, headers=gateway.headers)
    assert clash.status_code == 409
    assert clash.json()["code"] == "survey_conflict"
    assert clash.json()["field"] == "csat"
    assert "csat = 4" in clash.json()["detail"]
    kept = client.post(url, json={"csat": 4}, headers=gateway.headers)
    assert kept.status_code == 200 and kept.json()["recommend"] == 10


def test_survey_values_out_of_range_are_refused_naming_the_field(
    client: TestClient, gateway: StaffAccount, operator: StaffAccount
) -> None:
    contact_id = answered_call(client, gateway, operator)
    url = f"{API}/contacts/{contact_id}/survey"
    r = client.post(url, json={"csat": 6, "recommend": 11}, headers=gateway.headers)
    assert r.status_code == 422
    found = problems(r)
    assert set(found) == {"csat", "recommend"}
    assert "не больше 5" in found["csat"] and "не больше 10" in found["recommend"]
    r = client.post(url, json={"csat": 0}, headers=gateway.headers)
    assert r.status_code == 422 and "не меньше 1" in problems(r)["csat"]
    r = client.post(url, json={}, headers=gateway.headers)
    assert r.status_code == 422 and "нет ни одного ответа" in problems(r)["csat"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = client.post(url, json={"csat": 5, "answered_at": future}, headers=gateway.headers)
    assert r.status_code == 422 and "в будущем" in problems(r)["answered_at"]
    naive = client.post(
        url, json={"csat": 5, "answered_at": "2026-03-01T10:00:00"}, headers=gateway.headers
    )
    assert naive.status_code == 422 and "answered_at" in problems(naive)


def test_survey_of_an_unknown_or_never_answered_contact(
    client: TestClient, gateway: StaffAccount
) -> None:
    r = client.post(f"{API}/contacts/999999/survey", json={"csat": 5}, headers=gateway.headers)
    assert r.status_code == 404 and "999999" in r.json()["detail"]
    queued = client.post(
        f"{API}/contacts",
        json={"channel": "phone", "line": "122", "caller_number": "+79025550102"},
        headers=gateway.headers,
    ).json()["id"]
    client.post(f"{API}/contacts/{queued}/abandon", headers=gateway.headers)
    r = client.post(f"{API}/contacts/{queued}/survey", json={"csat": 5}, headers=gateway.headers)
    assert r.status_code == 409
    assert r.json()["field"] == "contact_id" and "не был принят" in r.json()["detail"]


def test_only_gateways_and_admins_post_surveys(
    client: TestClient, gateway: StaffAccount, operator: StaffAccount, lead: StaffAccount
) -> None:
    contact_id = answered_call(client, gateway, operator)
    for who in (operator, lead):
        r = client.post(
            f"{API}/contacts/{contact_id}/survey", json={"csat": 5}, headers=who.headers
        )
        assert r.status_code == 403


# --- video consultations ---------------------------------------------------------------------


def video_body(external_id: str, office: str, start: datetime, minutes: float) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "office_code": office,
        "started_at": start.isoformat(),
        "answered_at": (start + timedelta(seconds=30)).isoformat(),
        "ended_at": (start + timedelta(seconds=30, minutes=minutes)).isoformat(),
    }


def test_video_consultation_is_a_done_contact_and_idempotent(
    client: TestClient, gateway: StaffAccount, operator: StaffAccount
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    body = video_body("vc-1", "mfc_irkutsk_oktyabrsky", start, 10) | {
        "topic_code": "mfc",
        "operator": operator.username,
        "summary": "запись на приём",
    }
    first = client.post(f"{API}/contacts/video", json=body, headers=gateway.headers)
    assert first.status_code == 201, first.text
    contact = first.json()
    assert contact["channel"] == "video" and contact["status"] == "done"
    assert contact["direction"] == "in" and contact["operator_id"] == operator.id
    assert contact["topic_code"] == "mfc" and contact["outcome"] == "consultation"
    assert datetime.fromisoformat(contact["ended_at"]) - datetime.fromisoformat(
        contact["answered_at"]
    ) == timedelta(minutes=10)
    again = client.post(f"{API}/contacts/video", json=body, headers=gateway.headers)
    assert again.status_code == 200 and again.json()["id"] == contact["id"]
    read = client.get(f"{API}/contacts/{contact['id']}", headers=operator.headers).json()
    assert read["channel"] == "video"


def test_video_refusals_name_the_field(client: TestClient, gateway: StaffAccount) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    cases = {
        "office_code": video_body("vc-a", "nowhere", start, 5),
        "answered_at": video_body("vc-b", "mfc_irkutsk_oktyabrsky", start, 5)
        | {"answered_at": (start - timedelta(minutes=1)).isoformat()},
        "ended_at": video_body("vc-c", "mfc_irkutsk_oktyabrsky", start, -1),
        "operator": video_body("vc-d", "mfc_irkutsk_oktyabrsky", start, 5)
        | {"operator": "telephony"},
        "topic_code": video_body("vc-e", "mfc_irkutsk_oktyabrsky", start, 5)
        | {"topic_code": "no.such"},
    }
    for field, body in cases.items():
        r = client.post(f"{API}/contacts/video", json=body, headers=gateway.headers)
        assert r.status_code == 422, (field, r.text)
        assert field in problems(r), (field, r.json())
    centre = video_body("vc-f", "ekc_irkutsk", start, 5)
    r = client.post(f"{API}/contacts/video", json=centre, headers=gateway.headers)
    assert r.status_code == 422 and "не МФЦ" in problems(r)["office_code"]
    r = client.post(f"{API}/contacts/video", json={"external_id": "x"}, headers=gateway.headers)
    assert r.status_code == 422
    assert {"office_code", "started_at", "answered_at", "ended_at"} <= set(problems(r))


# --- the video report ---------------------------------------------------------------------


def test_video_report_by_office_and_by_month(
    client: TestClient, gateway: StaffAccount, lead: StaffAccount, engine: Engine
) -> None:
    # Irkutsk is UTC+8: 2026-03-31 20:00 UTC is already 1 April there
    posts = [
        ("v1", "mfc_irkutsk_oktyabrsky", datetime(2026, 3, 10, 2, tzinfo=UTC), 10),
        ("v2", "mfc_irkutsk_oktyabrsky", datetime(2026, 3, 31, 20, tzinfo=UTC), 20),
        ("v3", "mfc_irkutsk_leninsky", datetime(2026, 3, 15, 3, tzinfo=UTC), 6),
        ("v4", "mfc_irkutsk_leninsky", datetime(2026, 5, 1, 3, tzinfo=UTC), 6),  # outside
    ]
    for external_id, office, start, minutes in posts:
        r = client.post(
            f"{API}/contacts/video",
            json=video_body(external_id, office, start, minutes),
            headers=gateway.headers,
        )
        assert r.status_code == 201, r.text
    with Session(engine) as session:
        mfc_total = session.exec(select(func.count()).where(col(Office.kind) == "mfc")).one()
    r = client.get(
        f"{API}/reports/video",
        params={"from": "2026-03-01", "to": "2026-04-30"},
        headers=lead.headers,
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["kind"] == "video" and report["group_by"] == "office"
    assert len(report["rows"]) == mfc_total  # every MFC office, with or without consultations
    top = report["rows"][0]
    assert top["office"] == "mfc_irkutsk_oktyabrsky" and top["count"] == 2
    assert top["total_duration"] == 30 * 60 and top["avg_duration"] == 15 * 60
    second = report["rows"][1]
    assert second["office"] == "mfc_irkutsk_leninsky" and second["count"] == 1
    assert report["rows"][2]["count"] == 0 and report["rows"][2]["avg_duration"] is None
    total = report["total"]
    assert total["count"] == 3 and total["total_duration"] == 36 * 60
    assert total["avg_duration"] == 12 * 60
    assert total["offices"] == 2
    assert abs(total["offices_share"] - 2 / mfc_total) < 1e-9
    assert any(f"2 из {mfc_total} МФЦ" in n for n in report["notes"])

    r = client.get(
        f"{API}/reports/video",
        params={"from": "2026-03-01", "to": "2026-04-30", "by": "month"},
        headers=lead.headers,
    )
    months = {row["month"]: row for row in r.json()["rows"]}
    assert set(months) == {"2026-03", "2026-04"}
    assert months["2026-03"]["count"] == 2 and months["2026-03"]["offices"] == 2
    assert months["2026-04"]["count"] == 1 and months["2026-04"]["total_duration"] == 20 * 60


def test_video_report_refuses_bad_periods(client: TestClient, lead: StaffAccount) -> None:
    url = f"{API}/reports/video"
    r = client.get(url, params={"from": "2026-04-01", "to": "2026-03-01"}, headers=lead.headers)
    assert r.status_code == 422 and "раньше начала" in problems(r)["to"]
    r = client.get(url, params={"from": "2026-04-01"}, headers=lead.headers)
    assert r.status_code == 422 and "to" in problems(r)
    r = client.get(
        url, params={"from": "2026-04-01", "to": "2026-04-02", "by": "week"}, headers=lead.headers
    )
    assert r.status_code == 422 and "by" in problems(r)
    r = client.get(url, params={"from": "2020-01-01", "to": "2026-04-02"}, headers=lead.headers)
    assert r.status_code == 422 and "to" in problems(r)


# --- the demo's surveys and reviews ------------------------------------------------------------


def test_demo_feedback_lands_on_the_centre_figures_and_is_deterministic(
    engine: Engine, make_staff: MakeStaff
) -> None:
    operators = [make_staff(username=f"op{i}").id for i in range(8)]
    make_staff(Role.shift_lead, username="lead9")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(4000):
        queued = start + timedelta(minutes=97 * n)
        inbound_call = n % 4 != 3  # every fourth one an outgoing call
        rows.append(
            {
                "channel": "phone",
                "line": "122",
                "direction": "in" if inbound_call else "out",
                "status": "done",
                "operator_id": operators[n % len(operators)],
                "outcome": "appeal_registered" if n % 13 == 0 else "consultation",
                "queued_at": queued,
                "answered_at": queued + timedelta(seconds=10),
                "ended_at": queued + timedelta(seconds=190),
                "wrapup_ended_at": queued + timedelta(seconds=230),
                "abandoned": False,
            }
        )
    with Session(engine) as session:
        session.execute(insert(Contact), rows)
        session.commit()
    now = datetime(2026, 12, 1, tzinfo=UTC)

    def run() -> tuple[dict[str, int], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        with Session(engine) as session:
            counts = seed_feedback(session=session, data_dir=DATA_DIR, seed=7, now=now)
            surveys = [
                (s.contact_id, s.csat, s.recommend)
                for s in session.exec(select(ContactSurvey).order_by(col(ContactSurvey.id)))
            ]
            reviews = [
                (r.contact_id, r.operator_id, r.score, tuple(sorted(r.answers.items())))
                for r in session.exec(select(QualityReview).order_by(col(QualityReview.id)))
            ]
            session.rollback()
        return counts, surveys, reviews

    counts, surveys, reviews = run()
    assert run() == (counts, surveys, reviews)
    assert counts == {"quality_forms": 1, "surveys": 1000, "quality_reviews": 100}
    csat = [c for _, c, _ in surveys if c is not None]
    recommend = [r for _, _, r in surveys if r is not None]
    assert len(csat) == 1000 - 20 and len(recommend) == 1000 - 70  # one question left out
    assert sum(1 for c in csat if c >= 4) / len(csat) == pytest.approx(0.919, abs=0.001)
    promoters = sum(1 for r in recommend if r >= 9) / len(recommend)
    detractors = sum(1 for r in recommend if r <= 6) / len(recommend)
    assert promoters - detractors == pytest.approx(0.901, abs=0.002)
    scores = [score for _, _, score, _ in reviews]
    assert sum(scores) / len(scores) == pytest.approx(0.935, abs=0.003)
    assert scores.count(0.0) == 2  # 2 % with a critical item failed
    assert {op for _, op, _, _ in reviews} == set(operators)  # spread over operators
    months = {rows[cid - 1]["queued_at"].month for cid, _, _, _ in reviews}
    assert months == {r["queued_at"].month for r in rows}  # and over the months (9)
