"""No 500 on any input: one test per class of 500 found on main (and by the fuzzer), on SQLite
and PostgreSQL, each checking the 4xx, its Russian message and the field it names."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ortools.sat.python import cp_model
from sqlalchemy import Engine, func, text
from sqlmodel import Session, select

from ekc_core.enums import Role
from ekc_server.error_handlers import install_error_handlers
from ekc_server.models import AuditLog, Contact, StaffingRequirement
from tests.conftest import MakeStaff, StaffAccount

API = "/api/v1"
BIG = 2**63  # past SQLite's and PostgreSQL's 64-bit integers
INT4 = 2**31  # past a PostgreSQL integer column


def problems(response: httpx.Response) -> dict[str, str]:
    """`field → message` of a 422 answer (the last element of each `loc`)."""
    assert response.status_code == 422, response.text
    return {str(e["loc"][-1]): e["msg"] for e in response.json()["detail"]}


def new_citizen(client: TestClient, who: StaffAccount) -> int:
    r = client.post(f"{API}/citizens", json={"last_name": "Сидорова"}, headers=who.headers)
    assert r.status_code == 201, r.text
    citizen_id: int = r.json()["id"]
    return citizen_id


# --- ids, offsets and other integers ------------------------------------------------------


@pytest.mark.parametrize("value", [BIG, INT4, 0])
def test_ids_out_of_range_are_refused_in_path_query_and_body(
    client: TestClient, admin: StaffAccount, value: int
) -> None:
    h = admin.headers
    assert "citizen_id" in problems(client.get(f"{API}/citizens/{value}", headers=h))
    assert "contact_id" in problems(client.post(f"{API}/contacts/{value}/end", headers=h))
    assert "citizen_id" in problems(client.get(f"{API}/appeals?citizen_id={value}", headers=h))
    assert "staff_id" in problems(client.get(f"{API}/audit?staff_id={value}", headers=h))
    body = {"citizen_id": value, "kind": "complaint", "topic_code": "svo", "summary": "—"}
    assert "citizen_id" in problems(client.post(f"{API}/appeals", json=body, headers=h))
    body = {"version": 1, "last_name": "Ли"}
    assert "citizen_id" in problems(client.patch(f"{API}/citizens/{value}", json=body, headers=h))


def test_offsets_and_counters_are_bounded(client: TestClient, admin: StaffAccount) -> None:
    h = admin.headers
    citizen = new_citizen(client, admin)
    msg = problems(client.get(f"{API}/citizens/{citizen}/history?offset={BIG}", headers=h))
    assert msg["offset"] == "должно быть не больше 2147483647"
    assert "offset" in problems(client.get(f"{API}/audit?offset={BIG}", headers=h))
    assert "since" in problems(client.get(f"{API}/kb/changes?since={BIG}", headers=h))
    body = {"version": BIG, "last_name": "Ли"}
    assert "version" in problems(client.patch(f"{API}/citizens/{citizen}", json=body, headers=h))
    body = {"code": "x.y", "name": "Тема", "sort_order": BIG}
    assert "sort_order" in problems(client.post(f"{API}/topics", json=body, headers=h))
    # inside the bounds: answered normally
    r = client.get(f"{API}/citizens/{citizen}/history?offset=2147483647", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["page"]["items"] == []


def test_integers_past_64_bits_get_a_russian_message(
    client: TestClient, admin: StaffAccount
) -> None:
    r = client.get(f"{API}/citizens/{10**30}", headers=admin.headers)
    assert problems(r)["citizen_id"] == "должно быть не больше 2147483647"


# --- dates and points in time ---------------------------------------------------------------


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1999-12-31T23:59:59Z"]
)
def test_points_in_time_outside_years_2000_2100_are_refused(
    client: TestClient, operator: StaffAccount, admin: StaffAccount, moment: str
) -> None:
    citizen = new_citizen(client, operator)
    body = {
        "citizen_id": citizen,
        "kind": "complaint",
        "topic_code": "svo",
        "summary": "—",
        "received_at": moment,
    }
    r = client.post(f"{API}/appeals", json=body, headers=operator.headers)
    assert problems(r)["received_at"] == "дата вне допустимого диапазона: годы 2000–2100"
    body = {"citizen_id": citizen, "reason": "перезвонить", "due_at": moment}
    r = client.post(f"{API}/callbacks", json=body, headers=operator.headers)
    assert "due_at" in problems(r)
    r = client.get(f"{API}/audit", params={"since": moment}, headers=admin.headers)
    assert "since" in problems(r)
    r = client.post(
        f"{API}/contacts", json={"channel": "email", "queued_at": moment}, headers=operator.headers
    )
    assert "queued_at" in problems(r)


def test_dates_outside_years_2000_2100_are_refused(
    client: TestClient, lead: StaffAccount, operator: StaffAccount
) -> None:
    h = lead.headers
    r = client.get(f"{API}/staffing/forecast?until=0001-01-01", headers=h)
    assert problems(r)["until"] == "дата вне допустимого диапазона: годы 2000–2100"
    absence = {"kind": "vacation", "start_date": "9999-12-30", "end_date": "9999-12-31"}
    r = client.post(f"{API}/staff/{operator.username}/absences", json=absence, headers=h)
    assert set(problems(r)) == {"start_date", "end_date"}
    wish = {"kind": "off", "on_date": "1900-01-01"}
    r = client.post(f"{API}/staff/{operator.username}/preferences", json=wish, headers=h)
    assert "on_date" in problems(r)
    r = client.get(f"{API}/rosters/0001-01", headers=h)
    assert "month" in problems(r)
    r = client.post(f"{API}/staffing/requirements", json={"month": "9999-12"}, headers=h)
    assert "годы 2000–2100" in problems(r)["month"]
    # the edges themselves are accepted
    r = client.get(f"{API}/staffing/forecast?until=2000-01-01", headers=h)
    assert r.status_code == 200, r.text


def test_impossible_dates_get_a_russian_message(client: TestClient, admin: StaffAccount) -> None:
    r = client.get(f"{API}/audit?since=2026-02-30T10:00:00%2B08:00", headers=admin.headers)
    msg = problems(r)["since"]
    assert msg.startswith("неверная дата и время"), msg
    r = client.get(f"{API}/staffing/forecast?until=2026-02-30", headers=admin.headers)
    assert problems(r)["until"].startswith("неверная дата"), r.text


# --- control characters ---------------------------------------------------------------------


def test_nul_and_control_characters_are_refused_everywhere(
    client: TestClient, admin: StaffAccount
) -> None:
    h = admin.headers
    r = client.post(f"{API}/citizens", json={"last_name": "a\u0000b"}, headers=h)
    assert problems(r)["last_name"] == "недопустимый управляющий символ U+0000 в позиции 2"
    r = client.post(
        f"{API}/citizens", json={"last_name": "Ли", "address": "ул.\u001b[31m"}, headers=h
    )
    assert "address" in problems(r)
    r = client.post(
        f"{API}/citizens",
        content=rb'{"last_name": "\ud800"}',
        headers={**h, "Content-Type": "application/json"},
    )
    assert problems(r)["last_name"] == "недопустимый символ U+D800 в позиции 1"
    assert "username" in problems(client.get(f"{API}/staff/%00", headers=h))
    assert "article_id" in problems(client.get(f"{API}/kb/articles/a%01b", headers=h))
    assert "name" in problems(client.get(f"{API}/citizens?name=%00", headers=h))
    r = client.post(f"{API}/contacts", json={"channel": "email", "text": "\u0000"}, headers=h)
    assert "text" in problems(r)
    r = client.post(
        f"{API}/citizens",
        json={"last_name": "Ли"},
        headers={**h, "Idempotency-Key": "key-\u0007-12345"},
    )
    assert "Idempotency-Key" in problems(r)


def test_tabs_and_line_breaks_are_text(client: TestClient, operator: StaffAccount) -> None:
    body = {"channel": "email", "text": "строка 1\r\n\tстрока 2\n"}
    r = client.post(f"{API}/contacts", json=body, headers=operator.headers)
    assert r.status_code == 201, r.text
    assert r.json()["text"] == body["text"]


# --- specific 500s found on main ------------------------------------------------------------


def test_an_empty_external_id_is_none(
    client: TestClient, gateway: StaffAccount, engine: Engine
) -> None:
    answers = [
        client.post(
            f"{API}/contacts",
            json={"channel": "email", "external_id": blank},
            headers=gateway.headers,
        )
        for blank in ("", "", "   ")
    ]
    assert [a.status_code for a in answers] == [201, 201, 201], answers[-1].text
    assert len({a.json()["id"] for a in answers}) == 3
    assert all(a.json()["external_id"] is None for a in answers)
    with Session(engine) as session:
        stored = session.exec(select(Contact.external_id)).all()
    assert stored == [None, None, None]


def test_appeals_of_an_unknown_citizen_are_404_and_not_audited(
    client: TestClient, operator: StaffAccount, engine: Engine
) -> None:
    r = client.get(f"{API}/appeals?citizen_id=999999", headers=operator.headers)
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == "гражданин 999999 не найден"
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(AuditLog)).one() == 0
    citizen = new_citizen(client, operator)
    r = client.get(f"{API}/appeals?citizen_id={citizen}", headers=operator.headers)
    assert r.status_code == 200, r.text


def test_a_roster_the_solver_did_not_improve_is_saved_and_read(
    client: TestClient,
    lead: StaffAccount,
    make_staff: MakeStaff,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CP-SAT runs out of time without a solution: the first roster is kept, and its report
    has no NaN (PostgreSQL refuses NaN in a JSON column, and so does a JSON answer)."""
    for i in range(8):
        make_staff(Role.operator, username=f"op{i}")
    month = "2027-02"
    with Session(engine) as session:
        session.add(StaffingRequirement(month=month, hourly=[1] * (28 * 24), params={}))
        session.commit()

    def out_of_time(self: cp_model.CpSolver, *args: Any, **kwargs: Any) -> Any:
        return cp_model.UNKNOWN

    monkeypatch.setattr(cp_model.CpSolver, "solve", out_of_time)
    r = client.post(
        f"{API}/rosters/{month}/generate", json={"time_limit_seconds": 1}, headers=lead.headers
    )
    assert r.status_code == 200, r.text
    solver = r.json()["solver"]
    assert solver["objective"] is None and solver["best_bound"] is None
    assert "CP-SAT не улучшил первое решение за отведённое время" in solver["notes"]
    again = client.get(f"{API}/rosters/{month}", headers=lead.headers)
    assert again.status_code == 200, again.text
    assert again.json()["solver"]["objective"] is None


# --- framework errors in Russian ------------------------------------------------------------


def test_framework_errors_speak_russian(client: TestClient, operator: StaffAccount) -> None:
    h = operator.headers
    r = client.get(f"{API}/no-such-thing", headers=h)
    assert r.status_code == 404
    assert r.json() == {
        "detail": "адрес не найден: проверьте путь запроса (API находится под /api/v1)",
        "code": "http_404",
    }
    r = client.delete(f"{API}/me", headers=h)
    assert r.status_code == 405
    assert r.json()["detail"] == "метод не поддерживается по этому адресу"
    assert r.headers["allow"] == "GET"
    json_headers = {**h, "Content-Type": "application/json"}
    r = client.post(f"{API}/citizens", content=b"\xff\xfe{", headers=json_headers)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("неверный запрос: тело не удалось разобрать")
    r = client.post(f"{API}/citizens", content=b'{"last_name": "x",', headers=json_headers)
    assert problems(r)[str(len('{"last_name": "x",'))] == "неверный JSON"


# --- unexpected errors ------------------------------------------------------------------------


def _failing_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    return app


def test_an_unexpected_error_is_a_logged_json_500(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(_failing_app(), raise_server_exceptions=False) as client:
        r = client.get("/boom")
    assert r.status_code == 500
    assert r.json()["code"] == "internal_error"
    assert r.json()["detail"].startswith("внутренняя ошибка сервера")
    (record,) = [r for r in caplog.records if r.name == "ekc_server"]
    assert record.getMessage() == "unexpected error in GET /boom"
    assert record.exc_info is not None and "a bug" in str(record.exc_info[1])


def test_the_connection_survives_a_500(
    live_server: str, make_staff: MakeStaff, db_url: str, engine: Engine
) -> None:
    """The real server keeps the keep-alive connection after a 500: the next request goes on
    the same TCP connection (same client port)."""
    admin = make_staff(Role.admin)

    def port(response: httpx.Response) -> int:
        address = response.extensions["network_stream"].get_extra_info("client_addr")
        return int(address[1])

    with httpx.Client(base_url=live_server, headers=admin.headers) as http:
        first = http.get(f"{API}/me")
        assert first.status_code == 200
        ports = [port(first)]
        with engine.begin() as conn:  # the database loses a table under the running server
            conn.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
        try:
            broken = http.get(f"{API}/citizens", params={"name": "Ли"})  # writes an audit row
        finally:
            with engine.begin() as conn:
                conn.execute(text("ALTER TABLE audit_log_away RENAME TO audit_log"))
        assert broken.status_code == 500, broken.text
        assert broken.json()["code"] == "internal_error"
        ports.append(port(broken))
        after = http.get(f"{API}/me")
        assert after.status_code == 200
        ports.append(port(after))
    assert len(set(ports)) == 1, ports
