"""Quality checklists and contact quality reviews (`/quality/forms`, `/quality/reviews`,
`POST /contacts/{id}/quality-reviews`) and the score rule, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from ekc_core.quality import QualityItem, load_forms_file, read_forms, review_score
from ekc_core.settings import default_reference_dir
from ekc_server.models import Contact, QualityForm
from ekc_server.services.quality import seed_forms
from tests.conftest import MakeStaff, StaffAccount
from tests.test_api_feedback import answered_call, problems

API = "/api/v1"

FORM: dict[str, Any] = {
    "code": "calls",
    "name": "Звонки",
    "items": [
        {"code": "greeting", "text": "Приветствие", "weight": 1},
        {"code": "consent", "text": "Согласие 152-ФЗ", "weight": 2, "critical": True},
        {"code": "answer", "text": "Верный ответ", "weight": 3},
        {"code": "appeal", "text": "Обращение зарегистрировано", "weight": 2},
    ],
}


def _items(form: dict[str, Any]) -> list[QualityItem]:
    return [QualityItem.model_validate(i) for i in form["items"]]


def test_score_rule_worked_by_hand() -> None:
    items = _items(FORM)
    # all met
    assert review_score(items, {"greeting": True, "consent": True, "answer": True}) == 1.0
    # greeting (1) missed of 1+2+3+2 = 8 applicable
    answers: dict[str, bool | None] = {
        "greeting": False,
        "consent": True,
        "answer": True,
        "appeal": True,
    }
    assert review_score(items, answers) == pytest.approx(7 / 8)
    # appeal not applicable: 6 of 1+2+3 = 6 … greeting missed: 5 of 6
    answers = {"greeting": False, "consent": True, "answer": True, "appeal": None}
    assert review_score(items, answers) == pytest.approx(5 / 6)
    # a critical item missed: 0 whatever else was met
    answers = {"greeting": True, "consent": False, "answer": True, "appeal": True}
    assert review_score(items, answers) == 0.0
    # nothing applicable: no score
    assert review_score(items, dict.fromkeys(["greeting", "consent", "answer", "appeal"])) is None


def test_shipped_forms_file_is_valid_and_seeds_once(engine: Engine) -> None:
    shipped = load_forms_file(default_reference_dir() / "reference" / "quality_forms.yaml")
    codes = {i.code for f in shipped.forms for i in f.items}
    assert {"greeting", "identification", "kb_answer", "appeal_registered"} <= codes
    assert {"topic_correct", "polite_close"} <= codes
    with Session(engine) as session:
        assert seed_forms(session=session, data_dir=default_reference_dir()) == 1
        assert seed_forms(session=session, data_dir=default_reference_dir()) == 1
        session.commit()
        rows = session.exec(select(QualityForm)).all()
    assert [(r.code, r.version, r.active) for r in rows] == [("call_standard", 1, True)]


def test_forms_file_problems_carry_lines(tmp_path: Path) -> None:
    text = (
        "forms:\n"
        "  - code: calls\n"
        "    name: Звонки\n"
        "    items:\n"
        "      - code: greeting\n"
        "        text: Приветствие\n"
        "        weight: -1\n"
        "      - code: Bad Code\n"
        "        text: ''\n"
        "      - code: greeting\n"
        "        text: Снова\n"
        "  - code: calls2\n"
        "    items: []\n"
    )
    read = read_forms(text, "f.yaml")
    assert read.forms is None
    joined = "\n".join(read.problems)
    assert "f.yaml:7: forms.0.items.0.weight: должно быть больше 0" in joined
    assert "f.yaml:8: forms.0.items.1.code:" in joined
    assert "f.yaml:9: forms.0.items.1.text:" in joined
    assert "f.yaml:10: forms.0.items.2.code: пункт «greeting» повторяется" in joined
    assert "f.yaml:12: forms.1.name: поле обязательно" in joined
    assert "f.yaml:13: forms.1.items:" in joined
    assert len(read.problems) == 6


def import_forms(
    client: TestClient, admin: StaffAccount, forms: list[dict[str, Any]], **params: Any
) -> Any:
    r = client.post(
        f"{API}/quality/forms", json={"forms": forms}, params=params, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_form_import_versions_and_deactivation(
    client: TestClient, admin: StaffAccount, operator: StaffAccount
) -> None:
    planned = import_forms(client, admin, [FORM], dry_run=True)
    assert planned == {
        "dry_run": True,
        "forms": [{"code": "calls", "version": 1, "change": "created"}],
    }
    assert client.get(f"{API}/quality/forms", headers=admin.headers).json() == []
    assert import_forms(client, admin, [FORM])["forms"][0]["change"] == "created"
    assert import_forms(client, admin, [FORM])["forms"][0]["change"] == "unchanged"
    changed = FORM | {"name": "Звонки (ред. 2)"}
    result = import_forms(client, admin, [changed])["forms"][0]
    assert (result["version"], result["change"]) == (2, "updated")
    forms = client.get(f"{API}/quality/forms", headers=operator.headers).json()
    assert [(f["code"], f["version"], f["active"]) for f in forms] == [("calls", 2, True)]
    assert forms[0]["created_by"] == admin.username
    old = client.get(f"{API}/quality/forms/calls", params={"version": 1}, headers=admin.headers)
    assert old.json()["name"] == "Звонки" and old.json()["active"] is False
    off = client.post(f"{API}/quality/forms/calls/deactivate", headers=admin.headers)
    assert off.status_code == 200 and off.json()["active"] is False
    assert client.get(f"{API}/quality/forms", headers=admin.headers).json() == []
    listed = client.get(
        f"{API}/quality/forms", params={"include_inactive": True}, headers=admin.headers
    ).json()
    assert [(f["version"], f["active"]) for f in listed] == [(2, False)]
    again = import_forms(client, admin, [changed])["forms"][0]
    assert (again["version"], again["change"]) == (2, "reactivated")
    r = client.get(f"{API}/quality/forms/nope", headers=admin.headers)
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_form_import_is_all_or_nothing_with_every_problem(
    client: TestClient, admin: StaffAccount
) -> None:
    bad = {
        "code": "second",
        "name": "",
        "items": [
            {"code": "a", "text": "A", "weight": 0},
            {"code": "a", "text": "A again"},
        ],
    }
    r = client.post(f"{API}/quality/forms", json={"forms": [FORM, bad]}, headers=admin.headers)
    assert r.status_code == 422
    locs = {".".join(map(str, d["loc"][1:])) for d in r.json()["detail"]}
    assert {"forms.1.name", "forms.1.items.0.weight"} <= locs
    assert client.get(f"{API}/quality/forms", headers=admin.headers).json() == []


def review(
    client: TestClient, who: StaffAccount, contact_id: int, body: dict[str, Any], **headers: str
) -> Any:
    return client.post(
        f"{API}/contacts/{contact_id}/quality-reviews",
        json=body,
        headers=who.headers | headers,
    )


ALL_MET: dict[str, bool | None] = {
    "greeting": True,
    "consent": True,
    "answer": True,
    "appeal": None,
}


def test_review_scores_a_contact_once(
    client: TestClient,
    admin: StaffAccount,
    lead: StaffAccount,
    gateway: StaffAccount,
    operator: StaffAccount,
) -> None:
    import_forms(client, admin, [FORM])
    contact_id = answered_call(client, gateway, operator)
    body = {"answers": ALL_MET | {"greeting": False}, "comment": "без приветствия"}
    first = review(client, lead, contact_id, body, **{"Idempotency-Key": "review-key-1"})
    assert first.status_code == 201, first.text
    got = first.json()
    assert got["score"] == pytest.approx(5 / 6)
    assert (got["form_code"], got["form_version"]) == ("calls", 1)
    assert got["operator"] == operator.username and got["reviewer"] == lead.username
    assert got["answers"]["appeal"] is None and got["comment"] == "без приветствия"
    retry = review(client, lead, contact_id, body, **{"Idempotency-Key": "review-key-1"})
    assert retry.status_code == 201 and retry.json() == got
    twice = review(client, admin, contact_id, {"answers": ALL_MET})
    assert twice.status_code == 409 and twice.json()["code"] == "already_reviewed"


def test_review_refusals(
    client: TestClient,
    admin: StaffAccount,
    lead: StaffAccount,
    gateway: StaffAccount,
    operator: StaffAccount,
) -> None:
    contact_id = answered_call(client, gateway, operator)
    r = review(client, lead, contact_id, {"answers": ALL_MET})
    assert r.status_code == 422 and "form_code" in problems(r)  # no form yet
    import_forms(client, admin, [FORM, FORM | {"code": "other"}])
    r = review(client, lead, contact_id, {"answers": ALL_MET})
    assert r.status_code == 422 and "calls, other" in problems(r)["form_code"]
    body = {"form_code": "calls", "answers": {"greeting": True, "bogus": True}}
    r = review(client, lead, contact_id, body)
    assert r.status_code == 422
    assert set(problems(r)) == {"bogus", "consent", "answer", "appeal"}
    r = review(client, lead, contact_id, {"form_code": "calls", "answers": dict.fromkeys(ALL_MET)})
    assert r.status_code == 422 and "не применимо" in problems(r)["answers"]
    r = review(client, lead, contact_id, {"form_code": "calls", "answers": {"Bad": True}})
    assert r.status_code == 422
    client.post(f"{API}/quality/forms/other/deactivate", headers=admin.headers)
    r = review(client, lead, contact_id, {"form_code": "other", "answers": ALL_MET})
    assert r.status_code == 422 and "отключена" in problems(r)["form_code"]
    r = review(client, lead, 999999, {"answers": ALL_MET})
    assert r.status_code == 404
    waiting = client.post(
        f"{API}/contacts", json={"channel": "phone", "line": "122"}, headers=gateway.headers
    ).json()["id"]
    r = review(client, lead, waiting, {"answers": ALL_MET})
    assert r.status_code == 409 and r.json()["field"] == "contact_id"
    r = review(client, operator, contact_id, {"answers": ALL_MET})
    assert r.status_code == 403


def test_reviews_listing_gives_the_indicator_per_operator_and_centre(
    client: TestClient,
    admin: StaffAccount,
    lead: StaffAccount,
    gateway: StaffAccount,
    make_staff: MakeStaff,
    engine: Engine,
) -> None:
    import_forms(client, admin, [FORM])
    ann = make_staff(username="ann")
    bob = make_staff(username="bob")
    scored = [
        (ann, ALL_MET),  # 1.0
        (ann, ALL_MET | {"greeting": False}),  # 5/6
        (bob, ALL_MET | {"consent": False}),  # 0
        (bob, ALL_MET | {"appeal": True}),  # 1.0
        (bob, ALL_MET | {"answer": False, "appeal": True}),  # 5/8
    ]
    for who, answers in scored:
        contact_id = answered_call(client, gateway, who)
        assert review(client, lead, contact_id, {"answers": answers}).status_code == 201
    r = client.get(f"{API}/quality/reviews", headers=lead.headers)
    assert r.status_code == 200
    listing = r.json()
    assert listing["total"] == 5 and len(listing["items"]) == 5
    per = {s["operator"]: s for s in listing["operators"]}
    assert per["ann"]["reviews"] == 2 and per["ann"]["score"] == pytest.approx((1 + 5 / 6) / 2)
    assert per["bob"]["score"] == pytest.approx((0 + 1 + 5 / 8) / 3)
    centre = (1 + 5 / 6 + 0 + 1 + 5 / 8) / 5
    assert listing["centre"]["score"] == pytest.approx(centre)
    only_bob = client.get(
        f"{API}/quality/reviews", params={"operator": "bob", "limit": 2}, headers=lead.headers
    ).json()
    assert only_bob["total"] == 3 and len(only_bob["items"]) == 2
    assert {i["operator"] for i in only_bob["items"]} == {"bob"}
    # a review counts in its contact's period (as in the KPI reports), not in the review's
    # Irkutsk is UTC+8: 2026-01-31 17:00 UTC is already 1 February there
    january = datetime(2026, 1, 31, 15, 0, tzinfo=UTC)
    with Session(engine) as session:
        old = Contact(
            channel="phone",
            direction="in",
            status="done",
            operator_id=ann.id,
            queued_at=january,
            answered_at=january + timedelta(seconds=5),
            ended_at=january + timedelta(minutes=3),
        )
        late = Contact(
            channel="phone",
            direction="in",
            status="done",
            operator_id=ann.id,
            queued_at=january + timedelta(hours=2),
            answered_at=january + timedelta(hours=2, seconds=5),
            ended_at=january + timedelta(hours=2, minutes=3),
        )
        session.add_all([old, late])
        session.commit()
        old_id, late_id = old.id, late.id
    assert old_id is not None and late_id is not None
    assert review(client, lead, old_id, {"answers": ALL_MET}).status_code == 201
    assert review(client, lead, late_id, {"answers": ALL_MET}).status_code == 201
    past = client.get(
        f"{API}/quality/reviews",
        params={"from": "2026-01-01", "to": "2026-01-31"},
        headers=lead.headers,
    ).json()
    assert [i["contact_id"] for i in past["items"]] == [old_id]
    assert past["total"] == 1 and past["centre"]["score"] == 1.0
    empty = client.get(
        f"{API}/quality/reviews",
        params={"from": "2025-01-01", "to": "2025-12-31"},
        headers=lead.headers,
    ).json()
    assert empty["total"] == 0 and empty["centre"]["score"] is None
    assert client.get(f"{API}/quality/reviews", headers=lead.headers).json()["total"] == 7
    r = client.get(f"{API}/quality/reviews", params={"operator": "ghost"}, headers=lead.headers)
    assert r.status_code == 422 and "ghost" in problems(r)["operator"]
    r = client.get(
        f"{API}/quality/reviews",
        params={"from": "2026-02-02", "to": "2026-02-01"},
        headers=lead.headers,
    )
    assert r.status_code == 422 and "to" in problems(r)
