"""Roster API on SQLite and PostgreSQL: generate against a stored requirement, read with the
check, hand edits re-checked before saving, publish, roles, bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_server.models import Roster, RosterShift, Staff, StaffAbsence, StaffingRequirement
from ekc_server.services.rosters import notice_warning

MONTH = "2027-02"  # 28 days; February 2027 starts on a Monday
API = "/api/v1"


def require(
    engine: Engine, per_hour: int, month: str = MONTH, days: int = 28, first_night: int = 0
) -> None:
    """`per_hour` every hour but the first night (00–08 of the 1st, `first_night`): only the
    previous month's roster can staff it, and most tests here have none."""
    hourly = [first_night] * 8 + [per_hour] * (days * 24 - 8)
    with Session(engine) as session:
        session.merge(StaffingRequirement(month=month, hourly=hourly, params={}))
        session.commit()


def set_staff(engine: Engine, username: str, **fields: object) -> None:
    with Session(engine) as session:
        staff = session.exec(select(Staff).where(Staff.username == username)).one()
        for key, value in fields.items():
            setattr(staff, key, value)
        session.add(staff)
        session.commit()


@pytest.fixture
def crew(make_staff, engine):
    """Eight operators, one of them not allowed nights; one on vacation 8–14 February."""
    people = [make_staff(Role.operator, username=f"op{i}") for i in range(8)]
    set_staff(engine, "op7", night_work=False)
    with Session(engine) as session:
        session.add(
            StaffAbsence(
                staff_id=people[0].id,
                kind="vacation",
                start_date=date(2027, 2, 8),
                end_date=date(2027, 2, 14),
            )
        )
        session.commit()
    return people


def generate(client, lead, **body):
    body.setdefault("time_limit_seconds", 2)
    return client.post(f"{API}/rosters/{MONTH}/generate", json=body, headers=lead.headers)


def test_generate_saves_a_lawful_gap_free_draft(client, lead, crew, engine):
    require(engine, 1)
    response = generate(client, lead)
    assert response.status_code == 200, response.text
    roster = response.json()
    assert (roster["status"], roster["version"], roster["month"]) == ("draft", 1, MONTH)
    assert roster["violations"] == [] and roster["gaps"] == []
    assert roster["solver"]["phase"] == "hard"
    assert roster["solver"]["first_gap_free_seconds"] is not None
    assert len(roster["required"]) == len(roster["covered"]) == 28 * 24
    assert all(c >= r for c, r in zip(roster["covered"], roster["required"], strict=True))
    shifts = roster["shifts"]
    assert not [s for s in shifts if s["username"] == "op7" and s["template_code"] == "Н"]
    assert not [
        s for s in shifts if s["username"] == "op0" and "2027-02-08" <= s["on_date"] <= "2027-02-14"
    ]
    people = {p["username"]: p for p in roster["people"]}
    assert set(people) == {f"op{i}" for i in range(8)}  # operators only: not the lead
    assert all(p["hours"] <= p["norm_hours"] for p in people.values())
    with Session(engine) as session:
        assert len(session.exec(select(RosterShift)).all()) == len(shifts)

    again = generate(client, lead)
    assert again.status_code == 409 and "--replace" in again.json()["detail"]
    replaced = generate(client, lead, replace=True)
    assert replaced.status_code == 200 and replaced.json()["version"] == 2

    read = client.get(f"{API}/rosters/{MONTH}", headers=lead.headers).json()
    assert read["shifts"] == replaced.json()["shifts"]


def test_changes_are_rechecked_and_refused_when_unlawful(client, lead, crew, engine):
    require(engine, 1)
    roster = generate(client, lead).json()
    # someone's day shift followed by a day off
    taken = {(s["username"], date.fromisoformat(s["on_date"])) for s in roster["shifts"]}
    who, day = next(
        (u, d)
        for u, d in sorted(taken)
        if d.day < 28
        and (u, date(d.year, d.month, d.day + 1)) not in taken
        and any(
            s["username"] == u and s["on_date"] == d.isoformat() and s["template_code"] == "Д"
            for s in roster["shifts"]
        )
    )
    next_day = date(day.year, day.month, day.day + 1)

    refused = client.post(
        f"{API}/rosters/{MONTH}/assign",
        json={"username": who, "on_date": next_day.isoformat(), "template_code": "Д"},
        headers=lead.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "roster_rules"
    messages = [d["msg"] for d in refused.json()["detail"]]
    assert any("отдых после смены «Д»" in m and "(ст.107 ТК РФ)" in m for m in messages)
    assert client.get(f"{API}/rosters/{MONTH}", headers=lead.headers).json()["version"] == 1

    forced = client.post(
        f"{API}/rosters/{MONTH}/assign",
        json={
            "username": who,
            "on_date": next_day.isoformat(),
            "template_code": "Д",
            "force": True,
            "version": 1,
        },
        headers=lead.headers,
    )
    assert forced.status_code == 200
    assert forced.json()["version"] == 2
    assert any(
        v["rule"] == "min_rest" and v["username"] == who for v in forced.json()["violations"]
    )
    check = client.post(f"{API}/rosters/{MONTH}/check", headers=lead.headers).json()
    assert any(v["rule"] == "min_rest" for v in check["violations"])

    stale = client.post(
        f"{API}/rosters/{MONTH}/assign",
        json={
            "username": who,
            "on_date": next_day.isoformat(),
            "template_code": None,
            "version": 1,
        },
        headers=lead.headers,
    )
    assert stale.status_code == 409

    # publishing an unlawful roster needs force
    refused_publish = client.post(f"{API}/rosters/{MONTH}/publish", json={}, headers=lead.headers)
    assert refused_publish.status_code == 422
    undo = client.post(
        f"{API}/rosters/{MONTH}/assign",
        json={"username": who, "on_date": next_day.isoformat(), "template_code": None},
        headers=lead.headers,
    )
    assert undo.status_code == 200 and undo.json()["violations"] == []
    published = client.post(f"{API}/rosters/{MONTH}/publish", json={}, headers=lead.headers)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert generate(client, lead, replace=True).status_code == 409  # never overwritten
    again = client.post(f"{API}/rosters/{MONTH}/publish", json={}, headers=lead.headers)
    assert again.status_code == 409 and "уже опубликован" in again.text
    nothing = client.post(
        f"{API}/rosters/{MONTH}/assign",
        json={"username": who, "on_date": day.isoformat(), "template_code": "Д"},
        headers=lead.headers,
    )
    assert nothing.status_code == 422 and "менять нечего" in nothing.text
    after_publishing = client.post(
        f"{API}/rosters/{MONTH}/assign",
        json={"username": who, "on_date": day.isoformat(), "template_code": None},
        headers=lead.headers,
    )
    assert after_publishing.status_code == 200
    assert any("сообщите сотрудникам" in w for w in after_publishing.json()["warnings"])


def test_swap_exchanges_a_shift_and_a_day_off(client, lead, crew, engine):
    require(engine, 1)
    roster = generate(client, lead).json()
    on = "2027-02-20"
    working = {s["username"]: s["template_code"] for s in roster["shifts"] if s["on_date"] == on}
    off = sorted({f"op{i}" for i in range(8)} - set(working))
    a = next(u for u in sorted(working) if working[u] == "Д")
    response = client.post(
        f"{API}/rosters/{MONTH}/swap",
        json={"first": a, "second": off[0], "on_date": on, "force": True},
        headers=lead.headers,
    )
    assert response.status_code == 200, response.text
    after = {
        s["username"]: s["template_code"] for s in response.json()["shifts"] if s["on_date"] == on
    }
    assert a not in after and after[off[0]] == "Д"
    assert response.json()["covered"] == roster["covered"]  # the same hours stay staffed


def test_a_hand_made_roster_is_checked_and_imported(client, lead, crew, engine):
    shifts = [
        {"username": "op1", "on_date": "2027-02-01", "template_code": "Н"},
        {"username": "op1", "on_date": "2027-02-02", "template_code": "Д"},
        {"username": "op7", "on_date": "2027-02-03", "template_code": "Н"},
    ]
    checked = client.post(
        f"{API}/rosters/{MONTH}/check", json={"shifts": shifts}, headers=lead.headers
    ).json()
    found = {(v["username"], v["on_date"], v["rule"], v["article"]) for v in checked["violations"]}
    assert found == {
        ("op1", "2027-02-02", "consecutive_shifts", "ст.103 ТК РФ"),
        ("op7", "2027-02-03", "night_work", "ст.96 ТК РФ"),
    }
    refused = client.put(f"{API}/rosters/{MONTH}", json={"shifts": shifts}, headers=lead.headers)
    assert refused.status_code == 422
    with Session(engine) as session:
        assert session.exec(select(Roster)).all() == []

    unknown = client.put(
        f"{API}/rosters/{MONTH}",
        json={
            "shifts": [{"username": "nobody", "on_date": "2027-02-01", "template_code": "Д"}],
            "force": True,
        },
        headers=lead.headers,
    )
    assert unknown.status_code == 422 and "nobody" in unknown.text

    good = client.put(f"{API}/rosters/{MONTH}", json={"shifts": shifts[:1]}, headers=lead.headers)
    assert good.status_code == 200 and good.json()["solver"]["phase"] == "import"


def test_bad_input_is_refused_and_nothing_saved(client, lead, make_staff, engine):
    no_requirement = generate(client, lead)
    assert no_requirement.status_code == 422
    assert "staffing requirements --month 2027-02" in no_requirement.text

    require(engine, 1)
    no_staff = generate(client, lead)
    assert no_staff.status_code == 422 and "нет ни одного активного сотрудника" in no_staff.text

    make_staff(Role.operator, username="solo")
    impossible = generate(client, lead)
    assert impossible.status_code == 422
    assert "потребность невыполнима" in impossible.text and "суммы норм" in impossible.text

    missing_year = client.post(
        f"{API}/rosters/2031-01/generate", json={"time_limit_seconds": 1}, headers=lead.headers
    )
    assert missing_year.status_code == 422 and "2031" in missing_year.text
    bad_month = client.get(f"{API}/rosters/2027-13", headers=lead.headers)
    assert bad_month.status_code == 422
    assert client.get(f"{API}/rosters/{MONTH}", headers=lead.headers).status_code == 404
    with Session(engine) as session:
        assert session.exec(select(Roster)).all() == []


def test_roles(client, lead, operator, engine, crew):
    require(engine, 1)
    assert generate(client, operator).status_code == 403
    assert generate(client, lead).status_code == 200
    draft = client.get(f"{API}/rosters/{MONTH}", headers=operator.headers)
    assert draft.status_code == 403  # a draft is for leads
    client.post(f"{API}/rosters/{MONTH}/publish", json={"force": True}, headers=lead.headers)
    assert client.get(f"{API}/rosters/{MONTH}", headers=operator.headers).status_code == 200
    assert (
        client.post(
            f"{API}/rosters/{MONTH}/assign",
            json={"username": "op1", "on_date": "2027-02-03", "template_code": None},
            headers=operator.headers,
        ).status_code
        == 403
    )


def test_publishing_less_than_a_month_ahead_is_warned() -> None:
    assert notice_warning(date(2027, 2, 1), today=date(2026, 12, 31)) == []
    assert notice_warning(date(2027, 2, 1), today=date(2027, 1, 1)) == []
    late = notice_warning(date(2027, 2, 1), today=date(2027, 1, 2))
    assert len(late) == 1 and "ст.103" in late[0] and "01.01.2027" in late[0]
    assert "через 30 дн." in late[0]


def test_the_previous_months_roster_carries_over_the_month_boundary(client, lead, crew, engine):
    """January's last night shift staffs 1 February 00–08 and keeps its person off that
    morning (without it those hours are a gap: tests/test_roster_lead.py)."""
    january = [
        {"username": "op1", "on_date": "2027-01-31", "template_code": "Н"},
        {"username": "op2", "on_date": "2027-01-29", "template_code": "Д"},
    ]
    saved = client.put(f"{API}/rosters/2027-01", json={"shifts": january}, headers=lead.headers)
    assert saved.status_code == 200, saved.text
    require(engine, 1, first_night=1)
    roster = generate(client, lead).json()
    assert roster["violations"] == [] and roster["gaps"] == []
    assert roster["required"][:8] == [1] * 8
    assert roster["covered"][:8] == [1] * 8  # by op1's night shift from 31 January
    op1 = sorted(s["on_date"] for s in roster["shifts"] if s["username"] == "op1")
    assert not op1 or op1[0] >= "2027-02-02"  # 22 h of rest after 08:00 on 1 February
    assert not any("ночная смена прошлого месяца" in w for w in roster["warnings"])


def test_two_leads_generating_the_same_month_get_one_draft_and_one_conflict(
    client, lead, make_staff, crew, engine
):
    other = make_staff(Role.shift_lead, username="lead2")
    require(engine, 1)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda who: generate(client, who), [lead, other]))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    with Session(engine) as session:
        assert len(session.exec(select(Roster)).all()) == 1


def test_staff_and_roster_changes_are_audited(client, lead, admin, crew, engine):
    created = client.post(
        f"{API}/staff",
        json={"username": "newbie", "full_name": "Новикова Нина Олеговна", "role": "operator"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    require(engine, 1)
    roster = generate(client, lead).json()
    one = roster["shifts"][0]
    changed = client.post(
        f"{API}/rosters/{MONTH}/assign",
        json={"username": one["username"], "on_date": one["on_date"], "template_code": None},
        headers=lead.headers,
    )
    assert changed.status_code == 200
    client.post(f"{API}/rosters/{MONTH}/publish", json={"force": True}, headers=lead.headers)

    rows = client.get(f"{API}/audit", headers=admin.headers).json()
    mine = [(r["action"], r["staff_username"], r["details"]) for r in rows]
    assert ("create_staff", admin.username, {"username": "newbie", "role": "operator"}) in mine
    by_action = {a: (who, d) for a, who, d in mine}
    assert by_action["save_roster"] == (lead.username, {"month": MONTH, "phase": "hard"})
    assert by_action["change_roster"][1]["edits"] == [[one["username"], one["on_date"], None]]
    assert by_action["publish_roster"] == (lead.username, {"month": MONTH, "forced": True})
