"""`ekc-admin staffing` against a real backend: the forecast grid, requirements and their
stored copy, and how refusals reach stderr with exit codes."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_core.enums import Role
from tests.test_staffing import contact, insert_rows, local

pytestmark = pytest.mark.client_side

PASSWORD = "пароль-смены"


@pytest.fixture
def runner(live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def login(runner: CliRunner, make_staff, role: Role = Role.shift_lead) -> None:
    account = make_staff(role, password=PASSWORD)
    result = runner.invoke(app, ["login", "-u", account.username, "-p", PASSWORD])
    assert result.exit_code == 0, result.output


def test_forecast_prints_a_weekday_by_hour_grid(runner, make_staff, engine: Engine) -> None:
    wednesday = date(2026, 11, 18)
    rows = [contact(local(wednesday, 10, m), wait=10, talk=200, acw=40) for m in range(7)]
    rows += [contact(local(wednesday, 10, 30), abandoned_after=50)]
    rows += [contact(local(wednesday, 12), direction="out", wait=0, talk=100, acw=20)]
    insert_rows(engine, rows)
    login(runner, make_staff)

    result = runner.invoke(app, ["staffing", "forecast", "--weeks", "1", "--until", "2026-11-23"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "16.11.2026–22.11.2026 (1 нед.)" in lines[0]
    header = next(line for line in lines if line.startswith("Час"))
    assert header.split() == ["Час", "Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс", "Праздн."]
    ten = next(line for line in lines if line.startswith("10 "))
    assert ten.split() == ["10", "0.0", "0.0", "8.0", "0.0", "0.0", "0.0", "0.0", "0.0"]
    start = lines.index(header)
    assert max(len(line) for line in lines[start : start + 26]) <= 80  # header, 24 hours, total
    assert "Время обслуживания (разговор + поствызывная обработка): 240 с" in result.stdout
    assert "Терпение звонящих (для Эрланга A): 120 с" in result.stdout  # (7 × 10 + 50) / 1
    assert "Отвечено: 7 (87.5 %), брошено: 1 (12.5 %)" in result.stdout
    assert "Исходящие звонки: 0.1 в день по 120 с" in result.stdout

    result = runner.invoke(
        app, ["staffing", "forecast", "-w", "1", "--until", "2026-11-23", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["calls"][2][10] == 8


def test_requirements_summary_and_the_stored_copy(runner, make_staff, engine: Engine) -> None:
    today = datetime.now(ZoneInfo("Asia/Irkutsk")).date()
    rows = [
        contact(local(today - timedelta(days=d), h, m))
        for d in range(1, 8)
        for h in range(8, 20)
        for m in range(0, 60, 4)
    ]
    insert_rows(engine, rows)
    login(runner, make_staff, Role.admin)

    args = ["--month", "2026-12", "--weeks", "1", "--sl", "90/15", "--min", "3"]
    result = runner.invoke(app, ["staffing", "requirements", *args, "--shrinkage", "0.25"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Потребность в операторах на 2026-12: Эрланг C, уровень сервиса 90/15" in out
    assert "Неэффективное время 25 %, минимум 3 в час" in out
    day_line = next(line for line in out.splitlines() if line.startswith("01.12.2026"))
    assert day_line.split()[1] == "Вт"
    assert "Наибольшая потребность по дням недели и часам:" in out
    night = next(line for line in out.splitlines() if line.startswith("03 "))
    assert night.split() == ["03", "3", "3", "3", "3", "3", "3", "3", "—"]  # the floor, no holiday
    assert "норма часов месяца на полную ставку 176 ч" in out and "ставки" in out

    result = runner.invoke(app, ["staffing", "show", "--month", "2026-12", "--json"])
    assert result.exit_code == 0, result.output
    stored = json.loads(result.stdout)
    assert min(stored["hourly"]) == 3 and len(stored["hourly"]) == 31 * 24
    assert stored["params"]["request"]["target_service_level"] == 0.9
    assert stored["params"]["request"]["answer_within_seconds"] == 15
    assert f"Итого: {stored['operator_hours']} операторо-часов" in out

    result = runner.invoke(app, ["staffing", "show", "--month", "2026-12"])
    assert result.exit_code == 0, result.output
    assert "Потребность в операторах на 2026-12" in result.stdout


def test_refusals_reach_stderr_with_exit_codes(runner, make_staff) -> None:
    login(runner, make_staff, Role.operator)
    result = runner.invoke(app, ["staffing", "forecast"])
    assert result.exit_code == 4
    assert "Недостаточно прав" in result.stderr and result.stdout == ""

    login(runner, make_staff)
    result = runner.invoke(app, ["staffing", "requirements", "--month", "2026-12", "-w", "2"])
    assert result.exit_code == 1
    assert "в истории нет входящих звонков за 2 нед." in result.stderr
    assert "прогноз не из чего строить" in result.stderr

    result = runner.invoke(app, ["staffing", "requirements", "--month", "2031-01"])
    assert result.exit_code == 1
    assert "нет производственного календаря на 2031 год" in result.stderr

    result = runner.invoke(app, ["staffing", "show", "--month", "2026-11"])
    assert result.exit_code == 1
    assert "не рассчитана" in result.stderr and "HTTP 404" in result.stderr

    result = runner.invoke(app, ["staffing", "requirements", "--month", "2026-12", "--sl", "80"])
    assert result.exit_code == 2
    assert "80/20" in result.stderr
    result = runner.invoke(
        app, ["staffing", "requirements", "--month", "2026-12", "--sl", "80/20", "--target", "0.9"]
    )
    assert result.exit_code == 2
