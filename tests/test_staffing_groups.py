"""Staffing by operator group through the API on both databases: each group's own forecast
and requirement (from the contacts' topics and the routing table in force), the group
filter of the stored requirement, and the roster check's group gaps."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_roster.erlang import required_agents
from ekc_server.models import StaffingRequirement, Topic
from ekc_server.services import staffing
from ekc_server.services.routing import table_in_force
from tests.test_api_rosters import set_staff
from tests.test_staffing import API, TODAY, contact, insert_rows, local

#: per busy hour (08–20) of every day of the week before TODAY: SVO, medicine, no topic
SVO, MEDICINE, NO_TOPIC = 6, 3, 1
AHT = 360.0  # talk 300 + after-call work 60 (the `contact` defaults)


def topic_of(engine: Engine, group: str) -> int:
    """A topic of the reference tree whose group (by the routing table in force) is `group`."""
    with Session(engine) as session:
        table = table_in_force(session)
        for topic in session.exec(select(Topic).order_by(Topic.code)).all():
            if table.group_for_topic(topic.code) == group and topic.id is not None:
                return topic.id
    raise AssertionError(f"no topic of group {group}")


@pytest.fixture
def by_topic(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staffing, "_today_local", lambda: TODAY)
    svo, medicine = topic_of(engine, "svo"), topic_of(engine, "medicine")
    rows: list[dict[str, Any]] = []
    for offset in range(7):
        day = TODAY - timedelta(days=7 - offset)
        for hour in range(8, 20):
            rows += [{**contact(local(day, hour, m)), "topic_id": svo} for m in range(SVO)]
            rows += [
                {**contact(local(day, hour, 10 + m)), "topic_id": medicine} for m in range(MEDICINE)
            ]
            rows += [contact(local(day, hour, 30 + m)) for m in range(NO_TOPIC)]
    insert_rows(engine, rows)


def test_each_group_gets_its_own_forecast_and_erlang_requirement(
    client: TestClient, lead, by_topic
) -> None:
    r = client.post(
        f"{API}/staffing/requirements",
        json={"month": "2026-12", "weeks": 1, "merge_below_erlangs": 0},  # every group alone
        headers=lead.headers,
    )
    assert r.status_code == 200, r.text
    result = r.json()
    groups = {g["code"]: g for g in result["groups"]}
    assert set(groups) == {"svo", "medicine", "general"}  # groups with calls, and general
    assert all(g["merged_into"] == [] for g in groups.values())
    total = SVO + MEDICINE + NO_TOPIC
    assert groups["svo"]["share"] == pytest.approx(SVO / total, abs=1e-3)
    assert groups["general"]["share"] == pytest.approx(NO_TOPIC / total, abs=1e-3)
    assert groups["svo"]["name"] == "СВО"
    tuesday = 0  # 01.12.2026
    for hour in (3, 10):
        calls = SVO if 8 <= hour < 20 else 0
        assert groups["svo"]["calls"][tuesday * 24 + hour] == pytest.approx(calls)
        agents = required_agents(calls, 3600, AHT, target_sl=0.8, answer_within_seconds=20)
        assert groups["svo"]["hourly"][tuesday * 24 + hour] == math.ceil(agents / 0.7)
    # the groups' calls add up to the pooled forecast, hour by hour
    for h in range(31 * 24):
        assert sum(g["calls"][h] for g in groups.values()) == pytest.approx(result["calls"][h])
    # the general group keeps the floor at night
    assert groups["general"]["hourly"][tuesday * 24 + 3] == 2
    for g in groups.values():
        assert len(g["hourly"]) == 31 * 24 and g["operator_hours"] == sum(g["hourly"])
    # three small queues need more operators than one pooled queue
    busy = tuesday * 24 + 10
    assert sum(g["hourly"][busy] for g in groups.values()) > result["hourly"][busy]
    assert sum(g["operator_hours"] for g in groups.values()) > result["operator_hours"]
    assert "groups" not in result["params"]

    one = client.get(
        f"{API}/staffing/requirements/2026-12", params={"group": "svo"}, headers=lead.headers
    )
    assert one.status_code == 200
    assert [g["code"] for g in one.json()["groups"]] == ["svo"]
    assert one.json()["hourly"] == result["hourly"]
    every = client.get(f"{API}/staffing/requirements/2026-12", headers=lead.headers).json()
    assert every["groups"] == result["groups"]


def need(calls: float) -> int:
    """Operators for a queue of `calls` an hour at 80/20 (shrinkage 0.3), worked out apart
    from the service."""
    agents = required_agents(calls, 3600, AHT, target_sl=0.8, answer_within_seconds=20)
    return math.ceil(agents / 0.7 - 1e-9)


@pytest.mark.parametrize(
    ("below", "svo_own"),
    [(1.0, False), (0.5, True)],  # SVO's load is 6 × 360 / 3600 = 0.6 Erlang
)
def test_small_groups_join_their_first_overflow_target_queue(
    client: TestClient, lead, by_topic, below: float, svo_own: bool
) -> None:
    r = client.post(
        f"{API}/staffing/requirements",
        json={"month": "2026-12", "weeks": 1, "merge_below_erlangs": below},
        headers=lead.headers,
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["params"]["request"]["merge_below_erlangs"] == below
    groups = {g["code"]: g for g in result["groups"]}
    busy, night = 10, 3  # Tuesday 01.12.2026
    # medicine: 3 × 360 / 3600 = 0.3 Erlang < both thresholds → its first step's group
    assert groups["medicine"]["merged_into"][busy] == "general"
    assert groups["medicine"]["hourly"][busy] == 0
    # at night no group has calls: every group's (empty) queue is the general one's
    assert groups["svo"]["merged_into"][night] == "general"
    assert groups["general"]["hourly"][night] == 2  # the floor
    if svo_own:
        assert groups["svo"]["merged_into"][busy] == ""
        assert groups["svo"]["hourly"][busy] == need(SVO)
        general_calls = MEDICINE + NO_TOPIC
    else:
        assert groups["svo"]["merged_into"][busy] == "general"
        assert groups["svo"]["hourly"][busy] == 0
        general_calls = SVO + MEDICINE + NO_TOPIC
    assert groups["general"]["hourly"][busy] == max(2, need(general_calls))
    # the calls stay each group's own; the pooled requirement is unchanged
    assert groups["svo"]["calls"][busy] == pytest.approx(SVO)
    assert result["hourly"][busy] == max(2, need(SVO + MEDICINE + NO_TOPIC))
    split = sum(g["operator_hours"] for g in groups.values())
    alone = client.post(
        f"{API}/staffing/requirements",
        json={"month": "2026-12", "weeks": 1, "merge_below_erlangs": 0},
        headers=lead.headers,
    ).json()
    assert result["operator_hours"] <= split < sum(g["operator_hours"] for g in alone["groups"])


def test_a_bad_threshold_is_refused_naming_the_field(client: TestClient, lead) -> None:
    r = client.post(
        f"{API}/staffing/requirements",
        json={"month": "2026-12", "merge_below_erlangs": -1},
        headers=lead.headers,
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "merge_below_erlangs"


def test_an_unknown_group_or_month_is_refused_in_russian(client: TestClient, lead, engine) -> None:
    with Session(engine) as session:
        session.add(StaffingRequirement(month="2027-02", hourly=[1] * 28 * 24, params={}))
        session.commit()
    r = client.get(
        f"{API}/staffing/requirements/2027-02", params={"group": "nope"}, headers=lead.headers
    )
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["loc"][-1] == "group" and "группы «nope» нет" in detail["msg"]
    missing = client.get(f"{API}/staffing/requirements/2027-03", headers=lead.headers)
    assert missing.status_code == 404 and "не рассчитана" in missing.json()["detail"]


MONTH = "2027-02"


def day_hours(value: int) -> list[int]:
    return [value if 8 <= h % 24 < 20 else 0 for h in range(28 * 24)]


def store_groups(engine: Engine) -> None:
    groups = [
        {"code": code, "name": name, "hourly": day_hours(1), "calls": [0.0] * 28 * 24, "share": 0.5}
        for code, name in (("svo", "СВО"), ("medicine", "Здравоохранение"))
    ]
    with Session(engine) as session:
        session.merge(
            StaffingRequirement(month=MONTH, hourly=day_hours(1), params={"groups": groups})
        )
        session.commit()


def test_the_roster_check_names_the_group_hours_nobody_can_take(
    client: TestClient, lead, make_staff, engine
) -> None:
    make_staff(Role.operator, username="both")
    make_staff(Role.operator, username="svo_only")
    set_staff(engine, "both", skills=["svo", "medicine"])
    set_staff(engine, "svo_only", skills=["svo", "languages"])  # not a group: ignored
    store_groups(engine)
    # 1 Feb both on shift (svo_only → СВО, both → medicine); 3 Feb only the two-group person
    shifts = [
        {"username": "both", "on_date": "2027-02-01", "template_code": "Д"},
        {"username": "svo_only", "on_date": "2027-02-01", "template_code": "Д"},
        {"username": "both", "on_date": "2027-02-03", "template_code": "Д"},
    ]
    r = client.post(f"{API}/rosters/{MONTH}/check", json={"shifts": shifts}, headers=lead.headers)
    assert r.status_code == 200, r.text
    gaps = r.json()["group_gaps"]
    on = {(g["group"], g["on_date"]) for g in gaps}
    assert not [g for g in gaps if g["on_date"] == "2027-02-01"]
    day3 = [g for g in gaps if g["on_date"] == "2027-02-03"]
    assert len(day3) == 1 and (day3[0]["from_hour"], day3[0]["to_hour"]) == (8, 20)
    assert day3[0]["short"] == 1 and day3[0]["able"] == 1
    assert ("svo", "2027-02-02") in on and ("medicine", "2027-02-02") in on
    assert {g["group_name"] for g in gaps} == {"СВО", "Здравоохранение"}


def test_staff_of_a_merged_group_count_for_the_queue_its_calls_are_in(
    client: TestClient, lead, make_staff, engine
) -> None:
    make_staff(Role.operator, username="svo_only")
    set_staff(engine, "svo_only", skills=["svo"])
    night = [0 if 8 <= h % 24 < 20 else 1 for h in range(28 * 24)]
    # SVO has its own queue by day; at night its calls are in the general group's queue
    merged = ["" if 8 <= h % 24 < 20 else "general" for h in range(28 * 24)]
    groups = [
        {"code": "svo", "name": "СВО", "hourly": day_hours(1), "calls": [0.0] * 28 * 24,
         "share": 0.9, "merged_into": merged},
        {"code": "general", "name": "Общая группа", "hourly": night, "calls": [0.0] * 28 * 24,
         "share": 0.1},
    ]  # fmt: skip
    shifts = [{"username": "svo_only", "on_date": "2027-02-02", "template_code": "Н"}]

    def general_gaps_on_the_2nd() -> list[dict[str, Any]]:
        r = client.post(
            f"{API}/rosters/{MONTH}/check", json={"shifts": shifts}, headers=lead.headers
        )
        assert r.status_code == 200, r.text
        return [
            g
            for g in r.json()["group_gaps"]
            if g["group"] == "general" and g["on_date"] == "2027-02-02"
        ]

    store = {"groups": groups}
    with Session(engine) as session:
        session.merge(StaffingRequirement(month=MONTH, hourly=[1] * 28 * 24, params=store))
        session.commit()
    # 00–08 nobody is on shift; 20–24 SVO's calls are in the general queue: she takes them
    assert [(g["from_hour"], g["to_hour"]) for g in general_gaps_on_the_2nd()] == [(0, 8)]
    without = [{k: v for k, v in g.items() if k != "merged_into"} for g in groups]
    with Session(engine) as session:
        session.merge(
            StaffingRequirement(month=MONTH, hourly=[1] * 28 * 24, params={"groups": without})
        )
        session.commit()
    gaps = general_gaps_on_the_2nd()  # the same requirement without the rule's mapping
    assert [(g["from_hour"], g["to_hour"], g["able"]) for g in gaps] == [(0, 8, 0), (20, 24, 0)]


def test_generate_covers_every_group_and_says_so(
    client: TestClient, lead, make_staff, engine
) -> None:
    for i in range(3):
        make_staff(Role.operator, username=f"svo{i}")
        set_staff(engine, f"svo{i}", skills=["svo"])
        make_staff(Role.operator, username=f"med{i}")
        set_staff(engine, f"med{i}", skills=["medicine"])
    store_groups(engine)
    r = client.post(
        f"{API}/rosters/{MONTH}/generate", json={"time_limit_seconds": 5}, headers=lead.headers
    )
    assert r.status_code == 200, r.text
    roster = r.json()
    assert roster["violations"] == [] and roster["gaps"] == []
    assert roster["group_gaps"] == []
    assert roster["solver"]["uncovered_group_hours"] == 0
    assert date.fromisoformat(roster["shifts"][0]["on_date"]).month == 2
