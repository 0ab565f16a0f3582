"""`ekc-admin report` against the real backend: the KPI table with misses marked, JSON, CSV,
XLSX written whole, the terminal chart, the other reports, and refusals with exit codes.

Calls of two local days (Irkutsk), every indicator worked out by hand:
- 02.11.2026: 12 calls, 10 answered after 10 s and 2 after 30 s, each 300 s talk + 60 s
  after-call work → SL 10/12 = 83.3 %, answered 100 %, AHT 6:00 (misses ≤ 5:00).
- 03.11.2026: 2 answered after 10 s (200 + 40 s), 2 abandoned after 30 s → SL 2/4 = 50 %,
  abandoned 50 %, AHT 4:00.
- both days: SL 12/16 = 75.0 %, abandoned 2/16 = 12.5 %, AHT (12·360 + 2·240)/14 = 342.9 s
  → 5:43.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_admin.report_render import MISS, NUMERIC
from ekc_admin.report_xlsx import CHART_SHEET, DATA_SHEET
from ekc_core.enums import Role
from ekc_core.reports import Report
from ekc_server.models import Office
from tests.test_staffing import contact, insert_rows, local

pytestmark = pytest.mark.client_side

PASSWORD = "пароль-отчёта"
DAYS = ["--from", "2026-11-02", "--to", "03.11.2026"]


@pytest.fixture
def runner(live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


@pytest.fixture
def calls(engine: Engine) -> None:
    first, second = date(2026, 11, 2), date(2026, 11, 3)
    rows = [contact(local(first, 10, m), wait=10, talk=300, acw=60) for m in range(10)]
    rows += [contact(local(first, 11, m), wait=30, talk=300, acw=60) for m in range(2)]
    rows += [contact(local(second, 9, m), wait=10, talk=200, acw=40) for m in range(2)]
    rows += [contact(local(second, 9, 10 + m), abandoned_after=30) for m in range(2)]
    insert_rows(engine, rows)


def login(runner: CliRunner, make_staff, role: Role = Role.shift_lead) -> None:
    account = make_staff(role, password=PASSWORD)
    result = runner.invoke(app, ["login", "-u", account.username, "-p", PASSWORD])
    assert result.exit_code == 0, result.output


def line_of(text: str, start: str) -> str:
    """The table line whose first cell starts with `start` (frame stripped)."""
    return next(line for line in text.splitlines() if line.strip("│┃ ").startswith(start))


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("│┃").split("│" if "│" in line else "┃")]


def test_kpi_by_day_as_table_json_csv_xlsx_and_chart(
    runner, make_staff, calls, tmp_path: Path, monkeypatch
) -> None:
    login(runner, make_staff)
    result = runner.invoke(app, ["report", "kpi", *DAYS, "--by", "day"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0] == "Показатели контакт-центра: 02.11.2026–03.11.2026"
    # two rows of 19 indicators: turned, one indicator a line, the days across
    assert cells(line_of(out, "Показатель")) == [
        "Показатель", "02.11.2026", "03.11.2026", "Итого", "Цель"
    ]  # fmt: skip
    assert cells(line_of(out, "Уровень сервиса 80/20")) == [
        "Уровень сервиса 80/20", "83.3 %", f"50.0 % {MISS}", f"75.0 % {MISS}", "≥ 80.0 %"
    ]  # fmt: skip
    assert cells(line_of(out, "Доля пропущенных")) == [
        "Доля пропущенных", "0.0 %", f"50.0 % {MISS}", f"12.5 % {MISS}", "≤ 8.0 %"
    ]  # fmt: skip
    assert cells(line_of(out, "Среднее время обслуживания")) == [
        "Среднее время обслуживания", f"6:00 {MISS}", "4:00", f"5:43 {MISS}", "≤ 5:00"
    ]  # fmt: skip
    assert cells(line_of(out, "Поступило звонков"))[1:4] == ["12", "4", "16"]
    assert f"{MISS} — хуже цели: 8" in out  # SL 2, answer rate 2, abandoned 2, AHT 2
    assert "Примечание:" in out
    assert result.stderr == ""

    result = runner.invoke(app, ["report", "kpi", *DAYS, "--by", "day", "--json"])
    assert result.exit_code == 0, result.output
    report = Report.model_validate_json(result.stdout)
    assert report.group_by == "day" and len(report.rows) == 2
    assert report.total is not None and report.total["service_level"] == 0.75

    result = runner.invoke(app, ["report", "kpi", *DAYS, "--by", "day", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["group"] for r in rows] == ["2026-11-02", "2026-11-03", "Итого"]
    assert float(rows[0]["service_level"]) == pytest.approx(10 / 12, abs=1e-6)
    assert float(rows[1]["abandon_rate"]) == 0.5

    folder = tmp_path / "reports"
    folder.mkdir()
    args = ["report", "kpi", *DAYS, "--by", "day", "-f", "xlsx", "-o", f"{folder}/", "--chart"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = folder / "kpi-2026-11-02_2026-11-03-by-day.xlsx"
    assert f"Отчёт записан: {saved} (2 строки)" in result.stdout
    assert [p.name for p in folder.iterdir()] == [saved.name]  # no temporary file left
    chart = "Уровень сервиса 80/20, % (цель 80 %): 02.11.2026–03.11.2026"
    assert chart in result.stdout
    book = load_workbook(saved)
    sheet = book[DATA_SHEET]
    assert [s.title for s in book.chartsheets] == [CHART_SHEET]
    sl = next(c.column for c in sheet[1] if c.value == "Уровень сервиса 80/20")
    assert sheet.cell(row=2, column=sl).value == 0.8  # the target row
    cell = sheet.cell(row=3, column=sl)
    assert cell.value == pytest.approx(10 / 12) and cell.number_format == "0.0%"

    monkeypatch.chdir(folder)  # xlsx without -o: the report's own name, here
    result = runner.invoke(app, ["report", "kpi", "--month", "2026-11", "-f", "xlsx"])
    assert result.exit_code == 0, result.output
    assert (folder / "kpi-2026-11.xlsx").is_file()
    assert "(1 строка)" in result.stdout

    result = runner.invoke(
        app, ["report", "kpi", "--month", "2026-11", "--columns", "service_level,aht"]
    )
    assert result.exit_code == 0, result.output
    assert "01.11.2026–30.11.2026" in result.stdout
    assert f"75.0 % {MISS}" in result.stdout and "Доля пропущенных" not in result.stdout


def test_the_other_reports_print_their_title_and_table(runner, make_staff, calls) -> None:
    login(runner, make_staff, Role.admin)
    commands = [
        ["report", "operators", *DAYS],
        ["report", "topics", "--month", "2026-11"],
        ["report", "appeals", "--on", "2026-11-03"],
        ["report", "plan-vs-fact", "--date", "2026-11-02"],
        ["report", "plan-vs-fact", "--month", "2026-11"],
    ]
    for args in commands:
        as_json = runner.invoke(app, [*args, "--json"])
        assert as_json.exit_code == 0, (args, as_json.output)
        report = Report.model_validate(json.loads(as_json.stdout))
        table = runner.invoke(app, args)
        assert table.exit_code == 0, (args, table.output)
        first = table.stdout.splitlines()[0]
        assert first.startswith(report.title), (args, first)
        assert first.count(f"{report.period_to:%d.%m.%Y}") == 1, first  # the period, once
        numeric = [c for c in report.columns if c.kind in NUMERIC]
        for column in numeric[:3]:  # headings may wrap; their first word is there
            assert column.title.split()[0] in table.stdout, table.stdout
    plan = runner.invoke(app, ["report", "plan-vs-fact", "--date", "2026-11-02", "--json"])
    hours = Report.model_validate_json(plan.stdout)
    assert len(hours.rows) == 24
    assert hours.rows[10]["offered"] == 10  # the 10 calls queued 10:00-10:09


def test_refusals_and_bad_options_reach_stderr_with_exit_codes(
    runner, make_staff, tmp_path: Path
) -> None:
    login(runner, make_staff, Role.operator)
    result = runner.invoke(app, ["report", "kpi"])
    assert result.exit_code == 4
    assert "отчёты доступны только старшим смены и администраторам" in result.stderr
    assert result.stdout == ""

    login(runner, make_staff)
    bad = {
        ("report", "kpi", "--from", "2026-11-03", "--to", "2026-11-01"): "позже --to",
        ("report", "kpi", "--by", "year"): "--by: одно из day, week, month",
        ("report", "kpi", "--from", "3 ноября"): "--from: дата «3 ноября»",
        ("report", "kpi", "--month", "2026-13"): "--month: «2026-13»",
        ("report", "kpi", "--month", "2026-11", "--to", "2026-11-30"): "--month или --from",
        ("report", "kpi", "--short-abandon", "700"): "--short-abandon: от 0 до 600",
        ("report", "kpi", "--json", "--format", "xlsx"): "--json и --format",
        ("report", "kpi", "--format", "pdf"): "--format: нужен xlsx, csv, json",
        ("report", "kpi", "-o", "kpi.txt"): "формат по расширению не понять",
        ("report", "kpi", "--json", "--chart"): "--chart и json в stdout",
        ("report", "kpi", "--series", "nope"): "--series: нет столбца «nope»",
        ("report", "plan-vs-fact", "--date", "2026-11-02", "--month", "2026-11"): "выберите",
    }
    for args, message in bad.items():
        result = runner.invoke(app, list(args))
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert result.stdout == "", args

    missing = tmp_path / "нет" / "kpi.xlsx"
    result = runner.invoke(app, ["report", "kpi", "-o", str(missing)])
    assert result.exit_code == 1
    assert f"не удалось записать {missing}: нет папки" in result.stderr
    assert not missing.parent.exists()

    result = runner.invoke(app, ["report", "kpi", "--from", "2020-01-01", "--to", "2026-11-30"])
    assert result.exit_code == 1
    assert "сервер отклонил данные" in result.stderr and "период слишком длинный" in result.stderr


def test_video_consultations_by_office_and_by_month(runner, make_staff, engine: Engine) -> None:
    pytest.importorskip(
        "ekc_server.services.report_video", reason="GET /reports/video comes with branch feedback"
    )
    with Session(engine) as session:
        offices = {
            o.code: o.id
            for o in session.exec(select(Office).where(col(Office.kind) == "mfc")).all()
        }
    kirensk, mama = offices["mfc_kirensk"], offices["mfc_mama"]
    day = date(2026, 11, 10)
    rows = [
        contact(local(day, 10 + i), channel="video", wait=0, talk=600 * (i + 1), acw=None)
        | {"office_id": kirensk}
        for i in range(3)
    ]  # 10, 20 and 30 minutes: 3 consultations, 1:00:00 in all, 20:00 on average
    rows.append(
        contact(local(day, 15), channel="video", wait=0, talk=300, acw=None) | {"office_id": mama}
    )
    insert_rows(engine, rows)
    login(runner, make_staff)

    result = runner.invoke(app, ["report", "video", "--month", "2026-11", "--chart"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0].endswith(": 01.11.2026–30.11.2026")
    by_code = {row[1]: row for row in map(cells, out.splitlines()) if len(row) > 4}
    assert by_code["mfc_kirensk"][2:5] == ["3", "1:00:00", "20:00"]  # name, code, count, …
    assert by_code["mfc_mama"][0] == "МФЦ «Мои Документы», рп. Мама"  # the name leads
    assert by_code["mfc_mama"][2:5] == ["1", "5:00", "5:00"]
    assert cells(line_of(out, "Итого"))[2] == "4"
    assert f"Видеоконсультации провели 2 из {len(offices)} МФЦ." in out
    assert "Консультаций: 01.11.2026–30.11.2026" in out  # the chart of the count per office

    result = runner.invoke(
        app, ["report", "video", "--from", "2026-10-01", "--to", "2026-11-30", "--by", "month"]
    )
    assert result.exit_code == 0, result.output
    assert cells(line_of(result.stdout, "2026-11"))[1] == "4"
    result = runner.invoke(app, ["report", "video", "--by", "day"])
    assert result.exit_code == 2 and "--by: одно из office, month" in result.stderr
