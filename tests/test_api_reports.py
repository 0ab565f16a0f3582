"""The report endpoints (`GET /api/v1/reports/...`) over the hand-made day of `test_kpi`,
in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from ekc_core.reports import Report
from ekc_core.settings import ServerSettings
from ekc_server.app import create_app
from ekc_server.models import CallbackTask, Citizen, Roster, RosterShift, StaffingRequirement, Topic
from ekc_server.models_performance import AgentStateEvent
from ekc_server.services.kpi_sql import local_midnight
from tests.conftest import StaffAccount
from tests.test_kpi import DAY, T0, Made, call, make_day

API = "/api/v1/reports"
DAY_Q = {"from": DAY.isoformat(), "to": DAY.isoformat()}


def _report(client: TestClient, lead: StaffAccount, path: str, **params: str) -> Report:
    response = client.get(f"{API}/{path}", params=params, headers=lead.headers)
    assert response.status_code == 200, response.text
    return Report.model_validate(response.json())


@pytest.fixture
def day(engine: Engine) -> Made:
    with Session(engine) as session:
        made = make_day(session)
        medicine = session.exec(select(Topic).where(Topic.code == "medicine")).one()
        call(session, T0 + timedelta(minutes=50), wait=5, topic_id=medicine.id)
        session.commit()
    return made


def test_kpi_report_total_and_rows_by_line(
    client: TestClient, lead: StaffAccount, day: Made
) -> None:
    report = _report(client, lead, "kpi", **DAY_Q)
    assert report.kind == "kpi" and report.group_by is None
    assert report.total is not None
    # the hand-made day plus one call answered in 5 s: 11 of 13 in time
    assert report.total["service_level"] == pytest.approx(11 / 13)
    assert report.total["answer_rate"] == pytest.approx(12 / 13)
    assert report.rows == [report.total]
    col = report.column("service_level")
    assert (col.target, col.better) == (0.8, "higher")
    assert report.misses(report.total) == [
        "written_in_time",
        "overdue_appeals",
        "complaint_share",
        "csat",
        "loyalty",
    ]

    by_line = _report(client, lead, "kpi", by="line", **DAY_Q)
    # outgoing, written and video contacts have no line: their own row, last
    assert [r["group"] for r in by_line.rows] == ["линия 117", "линия 122", "без линии"]
    assert by_line.total is not None and by_line.total["offered"] == 13
    assert sum(int(r["offered"] or 0) for r in by_line.rows) == 13

    without_rule = _report(client, lead, "kpi", short_abandon="0", **DAY_Q)
    assert without_rule.total is not None and without_rule.total["offered"] == 15

    by_day = _report(client, lead, "kpi", by="day", **{"from": "2026-11-09", "to": "2026-11-11"})
    assert [r["group"] for r in by_day.rows] == ["2026-11-09", "2026-11-10", "2026-11-11"]
    assert by_day.rows[0]["service_level"] is None
    assert by_day.rows[1]["offered"] == 13


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"from": "2026-11-10", "to": "2026-11-01"}, "from", "позже"),
        ({"from": "2024-01-01", "to": "2026-11-01"}, "to", "слишком длинный"),
        ({"from": "2026-13-01", "to": "2026-11-01"}, "from", ""),
        ({"from": "2026-11-01"}, "to", ""),
        ({"from": "2026-11-01", "to": "2026-11-02", "by": "year"}, "by", ""),
        ({"from": "2026-11-01", "to": "2026-11-02", "short_abandon": "-1"}, "short_abandon", ""),
    ],
)
def test_bad_periods_are_422_naming_the_field(
    client: TestClient,
    lead: StaffAccount,
    params: dict[str, str],
    field: str,
    words: str,
) -> None:
    response = client.get(f"{API}/kpi", params=params, headers=lead.headers)
    assert response.status_code == 422, response.text
    body = response.json()
    text = str(body)
    assert field in text
    assert words in text
    assert any("а" <= ch <= "я" for ch in text)  # a Russian message


def test_reports_are_for_leads_and_admins(
    client: TestClient, operator: StaffAccount, admin: StaffAccount
) -> None:
    assert client.get(f"{API}/kpi", params=DAY_Q, headers=operator.headers).status_code == 403
    assert client.get(f"{API}/kpi", params=DAY_Q, headers=admin.headers).status_code == 200


def test_operators_report(
    client: TestClient, lead: StaffAccount, engine: Engine, day: Made
) -> None:
    with Session(engine) as session:
        citizen = Citizen(last_name="Петров")
        session.add(citizen)
        session.flush()
        assert citizen.id is not None
        due = T0 + timedelta(hours=3)
        for done_at in (due - timedelta(minutes=5), due + timedelta(hours=1), None):
            session.add(
                CallbackTask(
                    citizen_id=citizen.id,
                    phone="+73952000000",
                    reason="перезвонить",
                    due_at=due,
                    assignee_id=day.operator_a,
                    status="done" if done_at else "open",
                    completed_at=done_at,
                )
            )
        session.commit()
    report = _report(client, lead, "operators", **DAY_Q)
    rows = {r["login"]: r for r in report.rows}
    a, b = rows["kpi_a"], rows["kpi_b"]
    assert (a["contacts"], a["calls_in"], a["calls_out"], a["written"]) == (9, 6, 3, 0)
    assert a["aht"] == pytest.approx(150.0)
    assert a["acw_share"] == pytest.approx(30 / 150)
    assert (a["callbacks_due"], a["callbacks_kept"]) == (3, 1)
    assert a["callbacks_kept_share"] == pytest.approx(1 / 3)
    # b: 120+30 ×2, 200+60; the one in after-call work and the stale one are left out
    assert b["aht"] == pytest.approx((150 + 150 + 260) / 3)
    assert b["callbacks_due"] == 0 and b["callbacks_kept_share"] is None
    assert a["csat"] == pytest.approx(3 / 5)  # the five answers are on a's calls
    assert report.total is not None and report.total["calls_in"] == 11


def test_topics_report_names_the_contract_service_share(
    client: TestClient, lead: StaffAccount, day: Made
) -> None:
    report = _report(client, lead, "topics", **DAY_Q)
    rows = {r["code"]: r for r in report.rows}
    assert rows["svo"]["calls_in"] == 4
    assert rows["svo"]["calls_share"] == pytest.approx(4 / 5)
    assert rows["medicine"]["calls_share"] == pytest.approx(1 / 5)
    assert (rows["svo"]["appeals"], rows["svo"]["complaints"]) == (4, 1)
    assert any("80.0 %" in note and "(4 из 5)" in note for note in report.notes)
    assert any("без тематики: 7" in note for note in report.notes)


def test_appeals_report_on_a_day(client: TestClient, lead: StaffAccount, day: Made) -> None:
    # A (open) and the complaint were never forwarded: their forward term, 17 November 12:00
    # Irkutsk, is due in the week of Monday the 16th and overdue from the 18th; C was
    # forwarded (answer by January); B is resolved
    monday = _report(client, lead, "appeals", on="2026-11-16")
    assert monday.total is not None
    assert (monday.total["open"], monday.total["due_this_week"], monday.total["overdue"]) == (
        3,
        2,
        0,
    )
    later = _report(client, lead, "appeals", on="2026-11-18")
    assert later.total is not None
    assert (later.total["open"], later.total["due_this_week"], later.total["overdue"]) == (3, 0, 2)
    assert later.rows[0]["agency"] == "ведомство не указано"
    before = _report(client, lead, "appeals", on="2026-11-09")
    assert before.rows == [] and before.total is not None and before.total["open"] == 0


def test_plan_vs_fact_for_a_day_and_a_month(
    client: TestClient, lead: StaffAccount, engine: Engine, day: Made
) -> None:
    with Session(engine) as session:
        hourly = [2 if 8 <= i % 24 < 20 else 1 for i in range(30 * 24)]
        session.add(StaffingRequirement(month="2026-11", hourly=hourly))
        roster = Roster(month="2026-11", status="published")
        session.add(roster)
        session.flush()
        assert roster.id is not None
        for staff_id in (day.operator_a, day.operator_b):
            session.add(
                RosterShift(roster_id=roster.id, staff_id=staff_id, on_date=DAY, template_code="Д")
            )
        base = local_midnight(DAY)
        for minute, state in (
            (9 * 60 + 30, "ready"),
            (600, "away"),
            (615, "ready"),
            (660, "offline"),
        ):
            session.add(
                AgentStateEvent(
                    staff_id=day.operator_a, state=state, at=base + timedelta(minutes=minute)
                )
            )
        session.commit()
    report = _report(client, lead, "plan-vs-fact", date=DAY.isoformat())
    rows = {r["hour"]: r for r in report.rows}
    assert len(rows) == 24
    assert (rows["07:00"]["required"], rows["07:00"]["rostered"]) == (1, 0)
    assert (rows["10:00"]["required"], rows["10:00"]["rostered"]) == (2, 2)
    assert (rows["09:00"]["signed_in"], rows["09:00"]["working"]) == (0.5, 0.5)
    assert (rows["10:00"]["signed_in"], rows["10:00"]["working"]) == (1.0, 0.75)
    assert rows["11:00"]["signed_in"] == 0
    assert rows["10:00"]["offered"] == 13 and rows["10:00"]["handled_by"] == 2
    assert rows["10:00"]["service_level"] == pytest.approx(11 / 13)
    assert rows["11:00"]["offered"] == 0 and rows["11:00"]["service_level"] is None
    assert report.total is not None
    assert report.total["short_roster"] == 12  # the 12 hours outside 08–20 have nobody
    assert report.total["required"] == 12 * 2 + 12 * 1

    month = _report(client, lead, "plan-vs-fact", month="2026-11")
    rows = {r["hour"]: r for r in month.rows}
    assert rows["10:00"]["required"] == 2
    assert rows["10:00"]["rostered"] == pytest.approx(round(2 / 30, 2))
    assert month.period_from == date(2026, 11, 1) and month.period_to == date(2026, 11, 30)


@pytest.mark.parametrize(
    "params",
    [{}, {"date": "2026-11-10", "month": "2026-11"}, {"month": "2026-13"}, {"month": "11-2026"}],
)
def test_plan_vs_fact_wants_a_date_or_a_month(
    client: TestClient, lead: StaffAccount, params: dict[str, str]
) -> None:
    response = client.get(f"{API}/plan-vs-fact", params=params, headers=lead.headers)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "by", ["day", "week", "month", "hour", "line", "channel", "office", "operator", "topic"]
)
def test_every_dimension_adds_up_to_the_total(
    client: TestClient, lead: StaffAccount, day: Made, by: str
) -> None:
    report = _report(client, lead, "kpi", by=by, **DAY_Q)
    assert report.group_by == by and report.total is not None
    for key in ("offered", "answered", "abandoned", "outbound", "written", "video"):
        assert sum(int(r[key] or 0) for r in report.rows) == report.total[key], key
    assert report.total["offered"] == 13 and report.total["answered"] == 12
    assert report.total["service_level"] == pytest.approx(11 / 13)


def test_the_servers_short_abandon_threshold_is_its_default(
    settings: ServerSettings, engine: Engine, lead: StaffAccount, day: Made
) -> None:
    counting_all = settings.model_copy(update={"kpi_short_abandon_seconds": 0})
    with TestClient(create_app(counting_all, engine=engine)) as client:
        report = _report(client, lead, "kpi", **DAY_Q)
        assert report.total is not None and report.total["offered"] == 15
        assert any("Короткие сбросы не исключаются" in note for note in report.notes)
        again = _report(client, lead, "kpi", short_abandon="5", **DAY_Q)
        assert again.total is not None and again.total["offered"] == 13


def test_the_previous_months_last_night_shift_staffs_the_first_morning(
    client: TestClient, lead: StaffAccount, engine: Engine, day: Made
) -> None:
    with Session(engine) as session:
        october = Roster(month="2026-10", status="published")
        november = Roster(month="2026-11", status="draft")  # a draft is not the plan
        session.add_all([october, november])
        session.flush()
        assert october.id is not None and november.id is not None
        session.add(
            RosterShift(
                roster_id=october.id,
                staff_id=day.operator_a,
                on_date=date(2026, 10, 31),
                template_code="Н",
            )
        )
        session.add(
            RosterShift(
                roster_id=november.id,
                staff_id=day.operator_b,
                on_date=date(2026, 11, 1),
                template_code="Д",
            )
        )
        session.commit()
    report = _report(client, lead, "plan-vs-fact", date="2026-11-01")
    rostered = {r["hour"]: r["rostered"] for r in report.rows}
    assert [rostered[f"{h:02d}:00"] for h in range(24)] == [1] * 8 + [0] * 16
    assert any("Опубликованного графика на этот месяц нет" in n for n in report.notes)
