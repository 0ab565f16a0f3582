"""Offers by group (issue 14, point 3): a scripted day with 3 groups and 6 operators.

A routing table with three working groups (СВО, ЖКХ, the general group; the topic tree's
other groups are named without staff or contacts) is imported through the API, six
operators and a lead are made, contacts arrive at chosen times, and the routing's clock
(`app.state.clock`) is moved to several moments: who is offered what, in which order, with
which reason; a version that changes with time alone, the long poll waking on it, ETag/304;
the claim rule and two concurrent claims with exactly one winner. Runs on SQLite and, with
`EKC_TEST_DATABASE_URL`, on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ekc_core.enums import Role
from ekc_server.routes.contacts import OFFERS_POLL_SECONDS, pause
from ekc_server.services import offers as offers_service

API = "/api/v1"

TABLE = """general: general
groups:
  - code: svo
    name: СВО
    overflow:
      - {after: 60, to: [general]}
      - {after: 180, to: everyone}
  - code: housing
    name: ЖКХ
    overflow:
      - {after: 30, to: [general]}
      - {after: 120, to: everyone}
    lines:
      "117": [{after: 10, to: everyone}]
  - code: general
    name: Общая группа
    overflow:
      - {after: 90, to: everyone}
  # the topic tree's other groups: no operators, no contacts in this script
  - {code: medicine, name: Здравоохранение}
  - {code: social, name: Соцзащита}
  - {code: transport, name: Транспорт}
  - {code: emergency, name: Экстренные ситуации}
  - {code: psych, name: Психологическая помощь}
  - {code: mfc, name: МФЦ}
topics: {}
"""

#: who is in which groups: two multi-skilled, one with no skills at all (→ general)
OPERATORS = {
    "a": ["svo"],
    "b": ["svo", "housing"],
    "c": ["housing"],
    "d": ["general"],
    "e": [],
    "f": ["housing", "general", "not-a-group"],
}

SVO_NAME = "Служба по контракту и поддержка участников СВО"

#: the arrivals: name → (seconds after T0, fields of the post)
ARRIVALS: dict[str, tuple[int, dict[str, Any]]] = {
    "c1": (0, {"line": "122", "handoff": {"detected_topic": "svo.contract"}}),
    "c2": (5, {"line": "122", "handoff": {"detected_topic": "жкх"}}),  # a name, any case
    "c3": (10, {"channel": "email", "sender": "a@b.ru", "text": "Добрый день, вопрос"}),
    "c4": (20, {"line": "117", "handoff": {"detected_topic": "HOUSING"}}),
    "c5": (40, {"line": "122", "handoff": {"detected_topic": SVO_NAME.lower()}}),
    "c6": (50, {"line": "122", "handoff": {"detected_topic": "погода на завтра"}}),
}  # fmt: skip


class Clock:
    """The routing's clock in this test: T0 plus the seconds the script sets."""

    def __init__(self, t0: datetime) -> None:
        self.t0 = t0
        self.seconds = 0.0

    def __call__(self) -> datetime:
        return self.t0 + timedelta(seconds=self.seconds)


class Day:
    def __init__(self, client: TestClient, make_staff: Callable[..., Any], admin, gateway) -> None:
        self.client = client
        r = client.post(
            f"{API}/routing", headers=admin.headers, json={"text": TABLE, "source_name": "t.yaml"}
        )
        assert r.status_code == 200 and r.json()["version"] == 1, r.text
        self.staff = {n: make_staff(Role.operator, skills=s) for n, s in OPERATORS.items()}
        self.staff["lead"] = make_staff(Role.shift_lead, skills=[])
        # T0 an hour ago: every arrival is in the past of the backend's own clock
        self.clock = Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
        client.app.state.clock = self.clock  # type: ignore[attr-defined]
        self.ids: dict[str, int] = {}
        self.names: dict[int, str] = {}
        for name, (at, fields) in ARRIVALS.items():
            body = {"channel": "phone", "caller_number": "89025551234", **fields}
            body["queued_at"] = (self.clock.t0 + timedelta(seconds=at)).isoformat()
            r = client.post(f"{API}/contacts", json=body, headers=gateway.headers)
            assert r.status_code == 201, r.text
            self.ids[name] = r.json()["id"]
            self.names[r.json()["id"]] = name

    def at(self, seconds: float) -> None:
        self.clock.seconds = seconds

    def offers(self, who: str, **params: Any) -> dict[str, Any]:
        r = self.client.get(
            f"{API}/contacts/offers",
            params={"wait": 0, **params},
            headers=self.staff[who].headers,
        )
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    def seen(self, who: str) -> list[str]:
        return [self.names[c["id"]] for c in self.offers(who)["contacts"]]

    def reasons(self, who: str) -> dict[str, str]:
        return {self.names[c["id"]]: c["route_reason"] for c in self.offers(who)["contacts"]}

    def claim(self, who: str, contact: str) -> int:
        r = self.client.post(
            f"{API}/contacts/{self.ids[contact]}/claim", headers=self.staff[who].headers
        )
        return int(r.status_code)


@pytest.fixture
def day(client: TestClient, make_staff, admin, gateway) -> Day:
    return Day(client, make_staff, admin, gateway)


def test_each_operator_is_offered_their_groups_first_then_overflow_when_due(day: Day) -> None:
    day.at(55)
    assert day.seen("a") == ["c1", "c5", "c4"]  # c4: line 117 goes to everyone after 10 s
    assert day.seen("b") == ["c1", "c2", "c4", "c5"]  # both of their groups, oldest first
    assert day.seen("c") == ["c2", "c4"]
    assert day.seen("d") == ["c3", "c6", "c2", "c4"]  # own, then ЖКХ by overflow
    assert day.seen("e") == day.seen("d")  # no skills: the general group
    assert day.seen("f") == ["c2", "c3", "c4", "c6"]  # all their own
    assert day.seen("lead") == ["c1", "c2", "c3", "c4", "c5", "c6"]

    assert day.reasons("a") == {
        "c1": "СВО, по теме помощника",
        "c5": "СВО, по теме помощника",
        "c4": "переполнение из ЖКХ через 10 с",
    }
    assert day.reasons("d") == {
        "c3": "Общая группа, тема не определена",
        "c6": "Общая группа, тема не определена",  # an unknown topic falls through
        "c2": "переполнение из ЖКХ через 30 с",
        "c4": "переполнение из ЖКХ через 10 с",
    }
    groups = {day.names[c["id"]]: c["group_code"] for c in day.offers("lead")["contacts"]}
    assert groups == {
        "c1": "svo",
        "c2": "housing",
        "c3": "general",
        "c4": "housing",
        "c5": "svo",
        "c6": "general",
    }

    day.at(65)  # c1 has waited 65 s: СВО overflows to the general group
    assert day.seen("d") == ["c3", "c6", "c1", "c2", "c4"]
    assert day.seen("f") == ["c2", "c3", "c4", "c6", "c1"]
    assert day.seen("c") == ["c2", "c4"]  # not to ЖКХ

    day.at(100)  # c3 has waited 90 s: the general group's contact goes to everyone
    assert day.seen("a") == ["c1", "c5", "c3", "c4"]
    assert day.seen("c") == ["c2", "c4", "c3"]

    day.at(130)  # c2 has waited 125 s: ЖКХ to everyone
    assert day.seen("a") == ["c1", "c5", "c2", "c3", "c4"]

    day.at(185)  # c1 has waited 185 s: СВО to everyone
    assert day.seen("c") == ["c2", "c4", "c1", "c3", "c6"]
    assert day.reasons("c")["c1"] == "переполнение из СВО через 180 с"

    assert day.offers("c", limit=2)["contacts"][1]["id"] == day.ids["c4"]


def test_the_version_changes_with_time_alone_and_the_poll_wakes_up(day: Day) -> None:
    day.at(55)
    before = day.offers("d")
    assert day.offers("d") == before  # the same moment, the same answer
    day.at(59)
    assert day.offers("d")["version"] == before["version"]  # nothing new for d yet
    headers = {**day.staff["d"].headers, "If-None-Match": f'"{before["version"]}"'}
    r = day.client.get(f"{API}/contacts/offers", params={"wait": 0}, headers=headers)
    assert r.status_code == 304 and r.headers["ETag"] == f'"{before["version"]}"'

    def later() -> None:
        time.sleep(0.3)
        day.at(61)  # nothing in the database changes: c1 overflows to the general group

    thread = threading.Thread(target=later)
    thread.start()
    try:
        r = day.client.get(f"{API}/contacts/offers", params={"wait": 20}, headers=headers)
    finally:
        thread.join()
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["version"] != before["version"]
    assert [day.names[c["id"]] for c in after["contacts"]] == ["c3", "c6", "c1", "c2", "c4"]
    assert r.headers["ETag"] == f'"{after["version"]}"'


def test_a_waiting_poll_sleeps_until_the_next_overflow_moment() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert pause(10, None, now) == OFFERS_POLL_SECONDS
    assert pause(0.1, None, now) == 0.1
    assert pause(10, now + timedelta(seconds=0.25), now) == pytest.approx(0.251)
    assert pause(10, now - timedelta(seconds=1), now) == pytest.approx(0.001)  # overdue
    assert pause(10, now + timedelta(seconds=5), now) == OFFERS_POLL_SECONDS


def test_an_operator_claims_only_what_is_offered_to_them_a_lead_anything(day: Day) -> None:
    day.at(55)
    r = day.client.post(f"{API}/contacts/{day.ids['c1']}/claim", headers=day.staff["c"].headers)
    assert r.status_code == 409
    assert "ещё не предложен вашим группам" in r.json()["detail"]
    assert "СВО" in r.json()["detail"]
    r = day.client.post(f"{API}/contacts/{day.ids['c3']}/take", headers=day.staff["c"].headers)
    assert r.status_code == 409
    assert day.claim("d", "c4") == 200  # offered by overflow: theirs to take
    assert day.claim("lead", "c6") == 200  # a lead helps out with anything
    assert day.seen("e") == ["c3", "c2"]
    day.at(185)
    assert day.claim("c", "c1") == 200  # now it is everyone's


def test_two_concurrent_claims_have_exactly_one_winner(day: Day) -> None:
    day.at(55)
    for contact in ("c1", "c5"):
        with ThreadPoolExecutor(max_workers=2) as pool:
            codes = list(pool.map(lambda who, c=contact: day.claim(who, c), ["a", "b"]))
        assert sorted(codes) == [200, 409], codes
    assert "c1" not in day.seen("a") and "c1" not in day.seen("b")


def test_the_queue_is_everything_waiting_with_group_and_reason(day: Day) -> None:
    day.at(55)
    r = day.client.get(f"{API}/contacts/queue", headers=day.staff["c"].headers)
    assert r.status_code == 200
    rows = r.json()
    assert [day.names[c["id"]] for c in rows] == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert rows[0]["group_code"] == "svo" and rows[0]["route_reason"] == "СВО, по теме помощника"
    assert rows[0]["caller_number"] == "+7 902 ***-**-34"
    r = day.client.get(
        f"{API}/contacts/queue", params={"group": "svo"}, headers=day.staff["c"].headers
    )
    assert [day.names[c["id"]] for c in r.json()] == ["c1", "c5"]


def test_a_backlog_of_other_groups_never_hides_an_operators_own(
    day: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offers_service, "OFFERS_MAX", 3)  # c1, c2, c3 are the oldest three
    day.at(25)
    assert day.seen("lead") == ["c1", "c2", "c3"]  # a lead is offered the oldest
    assert day.seen("c") == ["c2", "c4"]  # housing: c4 is beyond the oldest three
