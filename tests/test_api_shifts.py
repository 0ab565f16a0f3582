"""Shift templates, absences and preferences: roles, validation, overlaps."""

from __future__ import annotations

from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_server.models import Staff, StaffAbsence, StaffPreference


def test_default_templates_are_seeded_with_hours(client, operator):
    response = client.get("/api/v1/shift-templates", headers=operator.headers)
    assert response.status_code == 200
    by_code = {t["code"]: t for t in response.json()}
    assert set(by_code) == {"Д", "Н", "Р"}
    day, night, eight = by_code["Д"], by_code["Н"], by_code["Р"]
    assert (day["name"], day["starts_at"], day["ends_at"]) == ("Дневная 12 ч", "08:00", "20:00")
    assert (day["work_hours"], day["night_hours"]) == (11.0, 0.0)
    assert (night["work_hours"], night["night_hours"]) == (11.0, 8.0)
    assert (eight["work_hours"], eight["break_minutes"]) == (8.0, 60)


def test_templates_writes_by_leads_duplicates_and_edits(client, operator, lead, admin):
    body = {"code": "В", "name": "Вечерняя", "starts_at": "14:00", "ends_at": "23:00"}
    refused = client.post("/api/v1/shift-templates", json=body, headers=operator.headers)
    assert refused.status_code == 403

    created = client.post("/api/v1/shift-templates", json=body, headers=lead.headers)
    assert created.status_code == 201, created.text
    assert (created.json()["work_hours"], created.json()["night_hours"]) == (9.0, 1.0)
    duplicate = client.post(
        "/api/v1/shift-templates", json={**body, "name": "Другая"}, headers=admin.headers
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == "шаблон смены с кодом «В» уже есть"

    too_long_break = client.patch(
        "/api/v1/shift-templates/В",
        json={"break_minutes": 240, "ends_at": "16:00"},
        headers=lead.headers,
    )
    assert too_long_break.status_code == 422
    assert "перерыв не короче самой смены" in too_long_break.text
    bad_time = client.patch(
        "/api/v1/shift-templates/В", json={"starts_at": "25:00"}, headers=lead.headers
    )
    assert bad_time.status_code == 422 and "ЧЧ:ММ" in bad_time.text

    moved = client.patch(
        "/api/v1/shift-templates/В",
        json={"starts_at": "15:00", "ends_at": "00:00", "break_minutes": 30},
        headers=admin.headers,
    )
    assert moved.status_code == 200
    assert (moved.json()["work_hours"], moved.json()["night_hours"]) == (8.5, 2.0)
    assert (
        client.patch(
            "/api/v1/shift-templates/В", json={"active": False}, headers=operator.headers
        ).status_code
        == 403
    )
    disabled = client.patch(
        "/api/v1/shift-templates/В", json={"active": False}, headers=lead.headers
    )
    assert disabled.json()["active"] is False
    active = client.get(
        "/api/v1/shift-templates", params={"active": True}, headers=operator.headers
    )
    assert "В" not in {t["code"] for t in active.json()}
    missing = client.patch("/api/v1/shift-templates/Ж", json={"name": "x"}, headers=lead.headers)
    assert missing.status_code == 404 and "«Ж»" in missing.json()["detail"]


def test_absences_overlap_month_and_roles(client, operator, lead, make_staff, engine):
    other = make_staff(Role.operator, username="other")
    url = "/api/v1/staff/operator/absences"
    vacation = {"kind": "vacation", "start_date": "2026-12-01", "end_date": "2026-12-14"}
    assert client.post(url, json=vacation, headers=operator.headers).status_code == 403

    created = client.post(url, json={**vacation, "note": "ежегодный"}, headers=lead.headers)
    assert created.status_code == 201, created.text
    first_id = created.json()["id"]
    assert created.json()["username"] == "operator"

    clash = client.post(
        url,
        json={"kind": "sick", "start_date": "2026-11-28", "end_date": "2026-12-01"},
        headers=lead.headers,
    )
    assert clash.status_code == 409
    assert clash.json()["detail"] == (
        "период 28.11.2026–01.12.2026 пересекается с уже внесённым: "
        f"отпуск 01.12.2026–14.12.2026 (№{first_id}) у «operator»"
    )
    next_day = client.post(
        url,
        json={"kind": "day_off", "start_date": "2026-12-15", "end_date": "2026-12-15"},
        headers=lead.headers,
    )
    assert next_day.status_code == 201
    january = client.post(
        "/api/v1/staff/other/absences",
        json={"kind": "study", "start_date": "2027-01-10", "end_date": "2027-01-20"},
        headers=lead.headers,
    )
    assert january.status_code == 201
    backwards = client.post(
        url,
        json={"kind": "other", "start_date": "2027-02-10", "end_date": "2027-02-01"},
        headers=lead.headers,
    )
    assert backwards.status_code == 422 and "раньше даты начала" in backwards.text
    assert (
        client.post("/api/v1/staff/ghost/absences", json=vacation, headers=lead.headers).status_code
        == 404
    )

    december = client.get("/api/v1/absences", params={"month": "2026-12"}, headers=lead.headers)
    assert [(a["username"], a["kind"]) for a in december.json()] == [
        ("operator", "vacation"),
        ("operator", "day_off"),
    ]
    assert (
        client.get(
            "/api/v1/absences", params={"month": "2027-13"}, headers=lead.headers
        ).status_code
        == 422
    )
    assert client.get("/api/v1/absences", headers=operator.headers).status_code == 403
    own = client.get(url, headers=operator.headers)
    assert [a["kind"] for a in own.json()] == ["vacation", "day_off"]
    assert client.get("/api/v1/staff/other/absences", headers=operator.headers).status_code == 403
    assert client.get("/api/v1/staff/other/absences", headers=other.headers).json()[0]["kind"] == (
        "study"
    )

    assert (
        client.delete(f"/api/v1/absences/{first_id}", headers=operator.headers).status_code == 403
    )
    assert client.delete(f"/api/v1/absences/{first_id}", headers=lead.headers).status_code == 204
    assert client.delete(f"/api/v1/absences/{first_id}", headers=lead.headers).status_code == 404
    with Session(engine) as session:
        kinds = sorted(a.kind for a in session.exec(select(StaffAbsence)).all())
    assert kinds == ["day_off", "study"]


def test_preferences_own_for_operators_anyone_for_leads(client, operator, lead, make_staff, engine):
    other = make_staff(Role.operator, username="other")
    mine = "/api/v1/staff/operator/preferences"
    weekday_off = {"kind": "off", "weekday": 6, "note": "воскресенье с детьми"}
    created = client.post(mine, json=weekday_off, headers=operator.headers)
    assert created.status_code == 201, created.text
    pref_id = created.json()["id"]
    assert client.post(mine, json=weekday_off, headers=operator.headers).status_code == 409

    wants_nights = {"kind": "work", "on_date": "2026-12-31", "template_code": "Н"}
    foreign = client.post(
        "/api/v1/staff/other/preferences", json=wants_nights, headers=operator.headers
    )
    assert foreign.status_code == 403
    by_lead = client.post(
        "/api/v1/staff/other/preferences", json=wants_nights, headers=lead.headers
    )
    assert by_lead.status_code == 201

    day_only = make_staff(Role.operator, username="dayonly")
    with Session(engine) as session:
        row = session.get(Staff, day_only.id)
        assert row is not None
        row.night_work = False
        session.add(row)
        session.commit()
    refused = client.post(
        "/api/v1/staff/dayonly/preferences", json=wants_nights, headers=lead.headers
    )
    assert refused.status_code == 422 and "ст.96" in refused.text

    unknown = client.post(
        mine, json={"kind": "work", "weekday": 1, "template_code": "Z"}, headers=operator.headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "template_code"]
    both = client.post(
        mine, json={"kind": "off", "weekday": 1, "on_date": "2026-12-01"}, headers=operator.headers
    )
    assert both.status_code == 422 and "либо дату, либо день недели" in both.text
    neither = client.post(mine, json={"kind": "off"}, headers=operator.headers)
    assert neither.status_code == 422
    bad_day = client.post(mine, json={"kind": "off", "weekday": 7}, headers=operator.headers)
    assert bad_day.status_code == 422

    assert [p["id"] for p in client.get(mine, headers=operator.headers).json()] == [pref_id]
    assert (
        client.get("/api/v1/staff/other/preferences", headers=operator.headers).status_code == 403
    )
    everyone = client.get("/api/v1/preferences", headers=lead.headers).json()
    assert [(p["username"], p["kind"]) for p in everyone] == [
        ("operator", "off"),
        ("other", "work"),
    ]
    only_mine = client.get("/api/v1/preferences", headers=operator.headers).json()
    assert [p["username"] for p in only_mine] == ["operator"]

    theirs = by_lead.json()["id"]
    assert client.delete(f"/api/v1/preferences/{theirs}", headers=operator.headers).status_code == (
        403
    )
    assert client.delete(
        f"/api/v1/preferences/{pref_id}", headers=operator.headers
    ).status_code == (204)
    assert client.delete(f"/api/v1/preferences/{theirs}", headers=other.headers).status_code == 204
    with Session(engine) as session:
        assert session.exec(select(StaffPreference)).all() == []
