"""Staff API: roles, create/edit/deactivate, filters, the all-or-nothing import."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_server.db import session_scope
from ekc_server.demo import DEMO_PASSWORDS, seed_demo
from ekc_server.models import ApiToken, Staff
from tests.conftest import DATA_DIR

PASSWORD = "пароль-сотрудника"


def person(username: str, **extra: Any) -> dict[str, Any]:
    return {"username": username, "full_name": f"Иванова {username}", **extra}


def test_operators_cannot_read_or_change_staff_leads_only_read(client, operator, lead, admin):
    for who, code in ((operator, 403), (lead, 200), (admin, 200)):
        assert client.get("/api/v1/staff", headers=who.headers).status_code == code
        assert client.get("/api/v1/staff/admin", headers=who.headers).status_code == code
    writes = [
        ("POST", "/api/v1/staff", person("new1")),
        ("PATCH", "/api/v1/staff/operator", {"full_name": "Петрова"}),
        ("POST", "/api/v1/staff/operator/deactivate", None),
        ("POST", "/api/v1/staff/import", {"rows": [person("new2")]}),
    ]
    for who in (operator, lead):
        for method, url, body in writes:
            response = client.request(method, url, json=body, headers=who.headers)
            assert response.status_code == 403, (who.username, url, response.text)
            assert "Недостаточно прав" in response.json()["detail"]
    shown = client.get("/api/v1/staff/operator", headers=lead.headers).json()
    assert (shown["full_name"], shown["active"]) == ("Тестовый operator", True)
    assert client.get("/api/v1/staff/new1", headers=admin.headers).status_code == 404


def test_create_show_edit_and_filters(client, admin, lead, engine):
    body = person(
        "ivanova",
        role="operator",
        office_code="mfc_bodaibo",
        skills=["svo", "medicine"],
        phone="8 (3952) 12-34-56",
        email="ivanova@ekc.irkobl.ru",
        employment_rate=0.5,
        week_hours=36,
        night_work=False,
        password=PASSWORD,
    )
    created = client.post("/api/v1/staff", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["phone"] == "+73952123456"
    assert (record["office_code"], record["employment_rate"], record["week_hours"]) == (
        "mfc_bodaibo",
        0.5,
        36,
    )
    assert record["night_work"] is False and record["can_sign_in"] is True
    login = client.post("/api/v1/auth/token", json={"username": "ivanova", "password": PASSWORD})
    assert login.status_code == 200

    again = client.post("/api/v1/staff", json=person("ivanova"), headers=admin.headers)
    assert again.status_code == 409 and "уже есть" in again.json()["detail"]

    bad = client.post(
        "/api/v1/staff",
        json=person("petrov", office_code="mfc_nowhere", skills=["svo", "astrology"]),
        headers=admin.headers,
    )
    assert bad.status_code == 422
    fields = {tuple(d["loc"]): d["msg"] for d in bad.json()["detail"]}
    assert "mfc_nowhere" in fields[("body", "office_code")]
    assert "astrology" in fields[("body", "skills")]

    shown = client.get("/api/v1/staff/ivanova", headers=lead.headers).json()
    assert shown["email"] == "ivanova@ekc.irkobl.ru" and shown["skills"] == ["svo", "medicine"]

    edited = client.patch(
        "/api/v1/staff/ivanova",
        json={"employment_rate": 1.0, "skills": ["housing"], "phone": None, "office_code": None},
        headers=admin.headers,
    )
    assert edited.status_code == 200, edited.text
    after = edited.json()
    assert (after["employment_rate"], after["skills"], after["phone"], after["office_code"]) == (
        1.0,
        ["housing"],
        None,
        None,
    )
    assert after["updated_at"] > record["updated_at"]
    cleared = client.patch(
        "/api/v1/staff/ivanova", json={"full_name": None, "night_work": None}, headers=admin.headers
    )
    assert cleared.status_code == 422
    assert {tuple(d["loc"]) for d in cleared.json()["detail"]} == {
        ("body", "full_name"),
        ("body", "night_work"),
    }

    by_skill = client.get("/api/v1/staff", params={"skill": "housing"}, headers=lead.headers)
    # the conftest accounts have svo+housing; ivanova now only housing
    assert {s["username"] for s in by_skill.json()} == {"ivanova", "lead", "admin"}
    by_role = client.get(
        "/api/v1/staff",
        params={"role": "shift_lead", "office": "ekc_irkutsk"},
        headers=lead.headers,
    )
    assert [s["username"] for s in by_role.json()] == ["lead"]
    unknown_office = client.get("/api/v1/staff", params={"office": "x"}, headers=lead.headers)
    assert unknown_office.status_code == 422
    assert client.get("/api/v1/staff/nobody", headers=lead.headers).json()["detail"] == (
        "сотрудник «nobody» не найден"
    )


def test_deactivate_revokes_tokens_and_is_not_for_oneself(client, admin, make_staff, engine):
    victim = make_staff(Role.operator, username="leaving")
    assert client.get("/api/v1/me", headers=victim.headers).status_code == 200

    response = client.post("/api/v1/staff/leaving/deactivate", headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["active"] is False and response.json()["can_sign_in"] is False
    assert client.get("/api/v1/me", headers=victim.headers).status_code == 401
    with Session(engine) as session:
        tokens = session.exec(select(ApiToken).where(ApiToken.staff_id == victim.id)).all()
        assert tokens and all(t.revoked_at is not None for t in tokens)

    listed = client.get("/api/v1/staff", params={"active": True}, headers=admin.headers).json()
    assert "leaving" not in {s["username"] for s in listed}
    everyone = client.get("/api/v1/staff", headers=admin.headers).json()
    assert "leaving" in {s["username"] for s in everyone}

    own = client.post("/api/v1/staff/admin/deactivate", headers=admin.headers)
    assert own.status_code == 409 and "собственную" in own.json()["detail"]
    own_role = client.patch("/api/v1/staff/admin", json={"role": "operator"}, headers=admin.headers)
    assert own_role.status_code == 422

    back = client.patch("/api/v1/staff/leaving", json={"active": True}, headers=admin.headers)
    assert back.json()["active"] is True


def _staff_snapshot(engine) -> list[tuple[str, str, float, list[str]]]:
    with Session(engine) as session:
        rows = session.exec(select(Staff).order_by(Staff.username)).all()
        return [(s.username, s.full_name, s.employment_rate, list(s.skills)) for s in rows]


def test_import_lists_every_problem_and_writes_nothing(client, admin, make_staff, engine):
    make_staff(Role.gateway, username="telephony", skills=[])
    make_staff(Role.operator, username="existing")
    before = _staff_snapshot(engine)
    rows = [
        person("new1", skills=["svo"], office_code="mfc_mama"),
        person("existing", employment_rate=0.75),
        person("new2", office_code="mfc_atlantis"),
        person("new1"),
        person("gw", role="gateway"),
        person("new3", skills=["svo", "yoga"]),
        person("telephony"),
    ]
    response = client.post("/api/v1/staff/import", json={"rows": rows}, headers=admin.headers)
    assert response.status_code == 422
    problems = {tuple(d["loc"]): d["msg"] for d in response.json()["detail"]}
    assert set(problems) == {
        ("body", "rows", 2, "office_code"),
        ("body", "rows", 3, "username"),
        ("body", "rows", 4, "role"),
        ("body", "rows", 5, "skills"),
        ("body", "rows", 6, "username"),
    }
    assert "mfc_atlantis" in problems[("body", "rows", 2, "office_code")]
    assert problems[("body", "rows", 3, "username")] == (
        "«new1» повторяется (первая запись с этим логином — №1)"
    )
    assert "yoga" in problems[("body", "rows", 5, "skills")]
    assert _staff_snapshot(engine) == before

    schema = client.post(
        "/api/v1/staff/import",
        json={"rows": [person("ok"), {"username": "bad name", "full_name": "X"}]},
        headers=admin.headers,
    )
    assert schema.status_code == 422
    assert schema.json()["detail"][0]["loc"][:4] == ["body", "rows", 1, "username"]
    assert _staff_snapshot(engine) == before


def test_import_upserts_by_username_and_counts(client, admin, make_staff, engine):
    make_staff(Role.operator, username="kept", skills=["svo", "housing"])
    make_staff(Role.operator, username="changed", skills=["svo", "housing"])
    with Session(engine) as session:
        kept = session.exec(select(Staff).where(Staff.username == "kept")).one()
        kept_row = {"username": "kept", "full_name": kept.full_name}
    rows = [
        person("fresh1", skills=["svo", "psych"], employment_rate=0.5, night_work=False),
        person("fresh2", role="shift_lead", office_code="mfc_kirensk", phone="+7 3952 123457"),
        kept_row,
        person("changed", employment_rate=0.75, week_hours=36),
    ]
    dry = client.post(
        "/api/v1/staff/import",
        params={"dry_run": True},
        json={"source": "staff.csv", "rows": rows},
        headers=admin.headers,
    )
    assert dry.json() == {"created": 2, "updated": 1, "unchanged": 1}
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Staff)).one() == 3

    done = client.post("/api/v1/staff/import", json={"rows": rows}, headers=admin.headers)
    assert done.status_code == 200, done.text
    assert done.json() == {"created": 2, "updated": 1, "unchanged": 1}
    fresh2 = client.get("/api/v1/staff/fresh2", headers=admin.headers).json()
    assert (fresh2["role"], fresh2["office_code"], fresh2["phone"]) == (
        "shift_lead",
        "mfc_kirensk",
        "+73952123457",
    )
    assert fresh2["can_sign_in"] is False
    changed = client.get("/api/v1/staff/changed", headers=admin.headers).json()
    # fields the file did not give stay as they were
    assert (changed["employment_rate"], changed["week_hours"], changed["skills"]) == (
        0.75,
        36,
        ["svo", "housing"],
    )
    assert changed["role"] == "operator"

    again = client.post("/api/v1/staff/import", json={"rows": rows}, headers=admin.headers)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 4}


def test_demo_staff_have_realistic_terms_and_work_contacts(client, engine):
    with session_scope(engine) as session:
        seed_demo(session=session, data_dir=DATA_DIR, citizens=20, contacts=60, days=10)
    token = client.post(
        "/api/v1/auth/token",
        json={"username": "lead1", "password": DEMO_PASSWORDS[Role.shift_lead]},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    operators = client.get("/api/v1/staff", params={"role": "operator"}, headers=headers).json()
    assert len(operators) == 50
    rates = sorted(o["employment_rate"] for o in operators)
    assert rates.count(1.0) >= 40 and {0.5, 0.75} <= set(rates)
    assert 1 <= sum(not o["night_work"] for o in operators) <= 15
    assert sorted(o["username"] for o in operators if o["week_hours"] == 36) == [
        "operator12",
        "operator38",
    ]
    people = client.get("/api/v1/staff", headers=headers).json()
    staff = [p for p in people if p["role"] != "gateway"]
    assert len({p["phone"] for p in staff}) == len({p["email"] for p in staff}) == len(staff)
    assert all(p["email"].endswith("@ekc122.ru") for p in staff)
    remote = [p for p in staff if p["office_code"] == "mfc_bodaibo"]
    assert remote and all(p["phone"].startswith("+739561") for p in remote)
    assert all(p["phone"].startswith("+73952") for p in staff if p["office_code"] == "ekc_irkutsk")
