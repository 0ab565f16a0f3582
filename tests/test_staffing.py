"""Staffing: the calls-per-hour forecast from hand-made contacts, and required operators per
hour (Erlang C / A, back office, shrinkage, floor), through the API on both databases."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_roster.erlang import required_agents
from ekc_server.models import Contact, StaffingRequirement
from ekc_server.services import staffing

API = "/api/v1"
IRKUTSK = ZoneInfo("Asia/Irkutsk")

#: "today" of the requirement tests: the history window is the week 16–22.11.2026 (Mon–Sun)
TODAY = date(2026, 11, 23)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), IRKUTSK)


def contact(
    at: datetime,
    *,
    channel: str = "phone",
    direction: str = "in",
    wait: float | None = 10,
    talk: float | None = 300,
    acw: float | None = 60,
    abandoned_after: float | None = None,
) -> dict[str, Any]:
    """One contact row: queued at `at`; answered after `wait` s, talk, after-call work; or
    abandoned after `abandoned_after` s."""
    queued = at.astimezone(UTC)
    row: dict[str, Any] = {
        "channel": channel,
        "line": "122" if channel == "phone" else None,
        "direction": direction,
        "status": "done",
        "abandoned": False,
        "queued_at": queued,
        "answered_at": None,
        "ended_at": None,
        "wrapup_ended_at": None,
    }
    if abandoned_after is not None:
        row.update(
            status="abandoned", abandoned=True, ended_at=queued + timedelta(seconds=abandoned_after)
        )
        return row
    if wait is None:
        row["status"] = "queued"
        return row
    answered = queued + timedelta(seconds=wait)
    row["answered_at"] = answered
    if talk is not None:
        row["ended_at"] = answered + timedelta(seconds=talk)
        if acw is not None:
            row["wrapup_ended_at"] = row["ended_at"] + timedelta(seconds=acw)
    return row


def insert_rows(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        session.execute(insert(Contact), rows)
        session.commit()


def get_forecast(client: TestClient, who, **params) -> dict[str, Any]:
    r = client.get(f"{API}/staffing/forecast", params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


# --- forecast ---------------------------------------------------------------------------------


def test_forecast_means_per_weekday_and_hour_holidays_apart(
    client: TestClient, engine: Engine, lead
) -> None:
    # window: 3 weeks 02.11–22.11.2026 (Mon–Sun); 04.11 (Wednesday) is a public holiday
    mondays = [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    rows = [contact(local(mondays[0], 10, m)) for m in (5, 40)]
    rows += [contact(local(mondays[1], 10, m)) for m in (1, 2, 3, 59)]
    # the third Monday has no calls at 10:00: it still counts in the mean
    rows += [contact(local(date(2026, 11, 4), 12, m)) for m in range(5)]  # the holiday
    rows += [contact(local(date(2026, 11, 11), 12, m)) for m in range(3)]  # ordinary Wednesday
    rows.append(contact(local(date(2026, 11, 22), 23, 30)))  # Sunday 23:30 Irkutsk = 15:30 UTC
    rows.append(contact(local(date(2026, 11, 1), 23, 59)))  # before the window
    rows.append(contact(local(date(2026, 11, 23), 0, 10)))  # `until` itself is not included
    insert_rows(engine, rows)

    p = get_forecast(client, lead, weeks=3, until="2026-11-23")

    assert (p["from_date"], p["to_date"], p["weeks"]) == ("2026-11-02", "2026-11-22", 3)
    assert len(p["calls"]) == 7 and all(len(day) == 24 for day in p["calls"])
    assert p["calls"][0][10] == pytest.approx(6 / 3)
    assert p["calls"][2][12] == pytest.approx(3 / 2)  # two ordinary Wednesdays
    assert p["holiday_calls"][12] == pytest.approx(5.0)  # one holiday
    assert p["calls"][6][23] == pytest.approx(1 / 3)
    assert p["holiday_calls"][10] == 0
    assert sum(map(sum, p["calls"])) == pytest.approx(2 + 1.5 + 1 / 3)
    assert p["inbound_calls"] == 15
    assert (p["answered_calls"], p["abandoned_calls"]) == (15, 0)
    assert p["patience_seconds"] is None


def test_forecast_without_a_holiday_takes_sunday_for_holidays(
    client: TestClient, engine: Engine, admin
) -> None:
    insert_rows(engine, [contact(local(date(2026, 11, 22), h)) for h in (9, 9, 14)])
    p = get_forecast(client, admin, weeks=1, until="2026-11-23")
    assert p["holiday_calls"] == p["calls"][6]
    assert p["holiday_calls"][9] == 2 and p["holiday_calls"][14] == 1


def test_forecast_handle_time_patience_and_non_queue_work(
    client: TestClient, engine: Engine, lead
) -> None:
    day = date(2026, 11, 18)
    rows = [
        contact(local(day, 9), wait=10, talk=200, acw=40),  # 240 s handled, waited 10
        contact(local(day, 9), wait=30, talk=100, acw=None),  # no wrap-up end: 100 s, waited 30
        contact(local(day, 9), wait=5, talk=None),  # still talking: waited 5, no handle time
        contact(local(day, 10), abandoned_after=45),
        contact(local(day, 11), abandoned_after=25),
        contact(local(day, 11), wait=None),  # still in the queue: offered only
        # outgoing calls: 7 in the week, 1 per day
        *[contact(local(day, 12), direction="out", wait=0, talk=100, acw=20) for _ in range(5)],
        *[contact(local(day, 13), direction="out", wait=0, talk=200, acw=20) for _ in range(2)],
        # written channels: 14 in the week, handle time of those with both timestamps
        *[contact(local(day, 14), channel="email", wait=300, talk=500, acw=100) for _ in range(3)],
        contact(local(day, 15), channel="web_chat", wait=60, talk=200, acw=None),
        *[contact(local(day, 16), channel="social", wait=None) for _ in range(10)],
    ]
    insert_rows(engine, rows)

    p = get_forecast(client, lead, weeks=1, until="2026-11-23")

    assert p["inbound_calls"] == 6
    assert (p["answered_calls"], p["abandoned_calls"]) == (3, 2)
    assert p["aht_seconds"] == pytest.approx((240 + 100) / 2)
    assert p["patience_seconds"] == pytest.approx((10 + 30 + 5 + 45 + 25) / 2)
    assert p["outbound_per_day"] == pytest.approx(1.0)
    assert p["outbound_aht_seconds"] == pytest.approx((5 * 120 + 2 * 220) / 7, abs=0.05)
    assert p["written_per_day"] == pytest.approx(2.0)
    assert p["written_aht_seconds"] == pytest.approx((3 * 600 + 200) / 4)


def test_forecast_with_no_handled_contacts_uses_the_documented_defaults(
    client: TestClient, engine: Engine, lead
) -> None:
    insert_rows(engine, [contact(local(date(2026, 11, 20), 9), wait=None)])
    p = get_forecast(client, lead, weeks=1, until="2026-11-23")
    assert p["inbound_calls"] == 1 and p["answered_calls"] == 0
    assert p["aht_seconds"] == staffing.DEFAULT_AHT_SECONDS
    assert p["outbound_aht_seconds"] == staffing.DEFAULT_OUTBOUND_AHT_SECONDS
    assert p["written_aht_seconds"] == staffing.DEFAULT_WRITTEN_AHT_SECONDS
    assert p["outbound_per_day"] == 0 and p["written_per_day"] == 0


# --- requirements -----------------------------------------------------------------------------

#: the seeded week: inbound calls per hour 08–19 (Sunday fewer), none at night
WEEKDAY_CALLS, SUNDAY_CALLS = 20, 10
AHT = 300 + 60
OUTBOUND_PER_DAY, OUTBOUND_AHT = 40, 300 + 60
WRITTEN_PER_DAY, WRITTEN_AHT = 2, 500 + 100


@pytest.fixture
def history(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """One week of history before TODAY (16–22.11.2026) with known volumes and handle times;
    in each busy hour two callers hang up after 60 s (patience = waited / abandoned)."""
    monkeypatch.setattr(staffing, "_today_local", lambda: TODAY)
    rows: list[dict[str, Any]] = []
    for offset in range(7):
        day = TODAY - timedelta(days=7 - offset)
        per_hour = SUNDAY_CALLS if day.weekday() == 6 else WEEKDAY_CALLS
        for hour in range(8, 20):
            rows += [contact(local(day, hour, m)) for m in range(per_hour - 2)]
            rows += [contact(local(day, hour, 59), abandoned_after=60) for _ in range(2)]
        rows += [
            contact(local(day, 10), direction="out", wait=0, talk=300, acw=60)
            for _ in range(OUTBOUND_PER_DAY)
        ]
        rows += [
            contact(local(day, 11), channel="email", wait=120, talk=500, acw=100)
            for _ in range(WRITTEN_PER_DAY)
        ]
    insert_rows(engine, rows)


def post_requirements(client: TestClient, who, **body):
    return client.post(f"{API}/staffing/requirements", json=body, headers=who.headers)


def computed(client: TestClient, who, **body) -> dict[str, Any]:
    r = post_requirements(client, who, **body)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_requirements_follow_erlang_c_back_office_shrinkage_and_floor(
    client: TestClient, engine: Engine, lead, history
) -> None:
    result = computed(client, lead, month="2026-12", weeks=1)

    assert result["month"] == "2026-12"
    assert len(result["hourly"]) == len(result["calls"]) == 31 * 24
    assert result["operator_hours"] == sum(result["hourly"])
    # computed independently: back office = (40 × 360 + 2 × 600) s a day over 12 hours (08–20)
    back_office = (OUTBOUND_PER_DAY * OUTBOUND_AHT + WRITTEN_PER_DAY * WRITTEN_AHT) / 3600 / 12

    def expected(calls: float, hour: int) -> int:
        agents = required_agents(calls, 3600, AHT, target_sl=0.8, answer_within_seconds=20)
        extra = back_office if 8 <= hour < 20 else 0.0
        return max(2, math.ceil((agents + extra) / (1 - 0.3)))

    hourly, calls = result["hourly"], result["calls"]
    tuesday, sunday = 0, 5  # 01.12.2026 is a Tuesday, 06.12 a Sunday
    for hour in range(24):
        day_calls = WEEKDAY_CALLS if 8 <= hour < 20 else 0
        assert calls[tuesday * 24 + hour] == day_calls
        assert hourly[tuesday * 24 + hour] == expected(day_calls, hour), hour
        sunday_calls = SUNDAY_CALLS if 8 <= hour < 20 else 0
        assert hourly[sunday * 24 + hour] == expected(sunday_calls, hour), hour
    # the back office tips the busy hours over a whole operator
    agents = required_agents(WEEKDAY_CALLS, 3600, AHT)
    assert hourly[tuesday * 24 + 10] > math.ceil(agents / 0.7)
    # nights: no calls, no back office → the floor
    assert hourly[tuesday * 24 + 3] == 2 and hourly[tuesday * 24 + 21] == 2

    params = result["params"]
    assert params["aht_seconds"] == AHT and params["aht_source"] == "history"
    assert params["calendar"]["status"] == "official"
    assert params["calendar"]["norm_hours"] == 176  # December 2026: 22 working days
    assert params["back_office_hours_per_day"] == pytest.approx(back_office * 12, abs=1e-3)
    assert params["profile"]["from_date"] == "2026-11-16"
    assert params["warnings"] == []
    assert "calls" not in params


def test_requirements_options_change_the_result(client: TestClient, lead, history) -> None:
    base = computed(client, lead, month="2026-12", weeks=1)
    tuned = computed(
        client,
        lead,
        month="2026-12",
        weeks=1,
        growth=2.0,
        aht_seconds=200,
        shrinkage=0,
        min_per_hour=0,
        target_service_level=0.9,
        answer_within_seconds=10,
        back_office_from=0,
        back_office_to=24,
    )
    back_office = (OUTBOUND_PER_DAY * OUTBOUND_AHT + WRITTEN_PER_DAY * WRITTEN_AHT) / 3600 / 24
    agents = required_agents(2 * WEEKDAY_CALLS, 3600, 200, target_sl=0.9, answer_within_seconds=10)
    assert tuned["calls"][10] == 2 * WEEKDAY_CALLS
    assert tuned["hourly"][10] == math.ceil(agents + back_office)
    assert tuned["hourly"][3] == math.ceil(back_office)  # no calls, back office all day
    assert tuned["params"]["aht_source"] == "request"
    assert tuned["operator_hours"] != base["operator_hours"]


def test_erlang_a_uses_the_history_patience_and_needs_no_more_than_erlang_c(
    client: TestClient, lead, history
) -> None:
    # five times the history: 100 calls an hour, 10 Erlangs, where abandonment matters
    common: dict[str, Any] = {"month": "2026-12", "weeks": 1, "growth": 5.0, "min_per_hour": 0}
    erlang_c = computed(client, lead, **common, shrinkage=0)
    erlang_a = computed(client, lead, **common, shrinkage=0, model="erlang_a")
    # waited in a busy hour: 18 answered × 10 s + 2 abandoned × 60 s (Sunday 8 × 10 + 2 × 60),
    # over the 2 abandoned calls of each of the 7 × 12 busy hours
    waited = 12 * (6 * (18 * 10 + 2 * 60) + (8 * 10 + 2 * 60))
    assert erlang_a["params"]["patience_seconds"] == pytest.approx(waited / (7 * 12 * 2), abs=0.05)
    assert erlang_a["params"]["patience_source"] == "history"
    patience = erlang_a["params"]["patience_seconds"]
    assert all(a <= c for a, c in zip(erlang_a["hourly"], erlang_c["hourly"], strict=True))
    assert erlang_a["operator_hours"] < erlang_c["operator_hours"]
    back_office = (OUTBOUND_PER_DAY * OUTBOUND_AHT + WRITTEN_PER_DAY * WRITTEN_AHT) / 3600 / 12
    agents_a = required_agents(5 * WEEKDAY_CALLS, 3600, AHT, patience_seconds=patience)
    agents_c = required_agents(5 * WEEKDAY_CALLS, 3600, AHT)
    assert agents_a < agents_c
    assert erlang_a["hourly"][10] == math.ceil(agents_a + back_office)
    assert erlang_c["hourly"][10] == math.ceil(agents_c + back_office)

    explicit = computed(client, lead, **common, model="erlang_a", patience_seconds=30)
    assert explicit["params"]["patience_seconds"] == 30
    assert explicit["params"]["patience_source"] == "request"
    agents = required_agents(5 * WEEKDAY_CALLS, 3600, AHT, patience_seconds=30)
    assert explicit["hourly"][10] == math.ceil((agents + back_office) / 0.7)


def test_holidays_take_the_holiday_profile_and_a_preliminary_year_warns(
    client: TestClient, lead, history
) -> None:
    # 2027 is preliminary; 01–08.01 are public holidays; the history has none → Sunday
    result = computed(client, lead, month="2027-01", weeks=1)
    calls = result["calls"]
    friday_holiday, friday = 0, 14  # 01.01.2027 and 15.01.2027 are Fridays
    assert calls[friday_holiday * 24 + 10] == SUNDAY_CALLS
    assert calls[friday * 24 + 10] == WEEKDAY_CALLS
    assert result["params"]["calendar"]["holidays"][:2] == ["2027-01-01", "2027-01-02"]
    assert result["params"]["calendar"]["status"] == "preliminary"
    assert any("предварительный" in w for w in result["params"]["warnings"])


def test_requirements_are_stored_replaced_and_read_back(
    client: TestClient, engine: Engine, lead, admin, history
) -> None:
    first = computed(client, lead, month="2026-12", weeks=1)
    second = computed(client, admin, month="2026-12", weeks=1, min_per_hour=5)
    assert second["hourly"] != first["hourly"]
    assert min(second["hourly"]) == 5

    r = client.get(f"{API}/staffing/requirements/2026-12", headers=lead.headers)
    assert r.status_code == 200, r.text
    assert r.json() == second
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(StaffingRequirement)).one() == 1
        row = session.get(StaffingRequirement, "2026-12")
        assert row is not None
        assert row.hourly == second["hourly"] and row.created_by_id == admin.id
        assert row.params["request"]["min_per_hour"] == 5

    r = client.get(f"{API}/staffing/requirements/2026-11", headers=lead.headers)
    assert r.status_code == 404
    assert "не рассчитана" in r.json()["detail"]


def test_requirements_refuse_what_they_cannot_compute(
    client: TestClient, engine: Engine, lead, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staffing, "_today_local", lambda: TODAY)
    r = post_requirements(client, lead, month="2026-12", weeks=4)
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert "в истории нет входящих звонков за 4 нед." in detail["msg"]
    assert "прогноз не из чего строить" in detail["msg"]

    # calls in the history but nobody hung up: no patience for Erlang A
    insert_rows(engine, [contact(local(date(2026, 11, 20), 10))])
    r = post_requirements(client, lead, month="2026-12", weeks=1, model="erlang_a")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "patience_seconds"]
    assert "терпение" in r.json()["detail"][0]["msg"]

    r = post_requirements(client, lead, month="2031-03", weeks=1)
    assert r.status_code == 422
    assert "нет производственного календаря на 2031 год" in r.json()["detail"][0]["msg"]

    r = post_requirements(client, lead, month="2026-12", back_office_from=20, back_office_to=8)
    assert r.status_code == 422
    r = post_requirements(client, lead, month="2026-13")
    assert r.status_code == 422
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(StaffingRequirement)).one() == 0


def test_operators_may_not_see_or_compute_staffing(client: TestClient, make_staff) -> None:
    operator = make_staff(Role.operator)
    assert client.get(f"{API}/staffing/forecast", headers=operator.headers).status_code == 403
    r = post_requirements(client, operator, month="2026-12")
    assert r.status_code == 403
    assert "Недостаточно прав" in r.json()["detail"]
    r = client.get(f"{API}/staffing/requirements/2026-12", headers=operator.headers)
    assert r.status_code == 403
    assert client.get(f"{API}/staffing/forecast").status_code == 401


def test_the_holiday_profile_takes_every_holiday_of_the_past_year_and_names_them(
    client: TestClient, engine: Engine, lead
) -> None:
    """Not only the holidays inside the weekday window: every public holiday of the year
    before `until` that the history covers (it starts on 12.06.2026 here)."""
    rows = [contact(local(date(2026, 6, 12), 12, m)) for m in range(4)]  # Russia Day
    rows += [contact(local(date(2026, 11, 4), 12, m)) for m in range(2)]  # in the window
    rows += [contact(local(date(2026, 11, 16), 12, m)) for m in range(7)]  # a Monday
    insert_rows(engine, rows)

    p = get_forecast(client, lead, weeks=3, until="2026-11-23")
    assert p["holiday_dates"] == ["2026-06-12", "2026-11-04"]
    assert p["holiday_calls"][12] == pytest.approx((4 + 2) / 2)
    assert p["calls"][0][12] == pytest.approx(7 / 3)  # weekdays: the 3-week window only

    empty = get_forecast(client, lead, weeks=1, until="2026-06-12")  # before the history
    assert empty["holiday_dates"] == [] and empty["holiday_calls"] == empty["calls"][6]
