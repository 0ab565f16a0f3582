"""`ekc-admin roster …` against a real backend: exit codes, stdout and stderr."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from icalendar import Calendar
from openpyxl import load_workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_core.enums import Role
from ekc_server.db import create_db_engine
from ekc_server.models import Roster, StaffingRequirement

pytestmark = pytest.mark.client_side

PASSWORD = "пароль-смены"
MONTH = "2027-02"


@pytest.fixture
def runner(live_server, tmp_path, monkeypatch, make_staff, db_url):
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    monkeypatch.setenv("COLUMNS", "200")
    make_staff(Role.shift_lead, username="lead", password=PASSWORD)
    for i in range(8):
        make_staff(Role.operator, username=f"op{i}")
    cli = CliRunner()
    assert cli.invoke(app, ["login", "-u", "lead", "-p", PASSWORD]).exit_code == 0
    return cli


def store_requirement(db_url: str, per_hour: int) -> None:
    """`per_hour` every hour but the first night (00–08 of the 1st), which only January's
    roster (absent here) could staff."""
    hourly = [0] * 8 + [per_hour] * (28 * 24 - 8)
    engine = create_db_engine(db_url)
    with Session(engine) as session:
        session.add(StaffingRequirement(month=MONTH, hourly=hourly, params={}))
        session.commit()
    engine.dispose()


def test_generate_show_check_change_export_publish(runner, db_url, tmp_path):
    store_requirement(db_url, 1)
    result = runner.invoke(app, ["roster", "generate", "-m", MONTH, "--time-limit", "2"])
    assert result.exit_code == 0, result.output
    assert "Черновик графика на 2027-02 сохранён (версия 1)" in result.stdout
    assert "покрытие полное" in result.stdout
    assert "Нарушений ТК РФ нет, потребность покрыта." in result.stdout

    shown = runner.invoke(app, ["roster", "show", "-m", MONTH])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    grid = {line.split()[0]: line for line in lines if line.startswith("op")}
    assert set(grid) == {f"op{i}" for i in range(8)}
    assert all("/" in line for line in grid.values())  # hours/norm per person
    coverage = [line for line in lines if line.endswith("макс. 1")]
    assert len(coverage) == 28 and not [line for line in coverage if "!" in line]

    assert runner.invoke(app, ["roster", "check", "-m", MONTH]).exit_code == 0

    exported = runner.invoke(app, ["roster", "export", "-m", MONTH, "-f", "csv"])
    assert exported.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(exported.stdout), delimiter=";"))
    assert rows and {r["Смена"] for r in rows} <= {"Д", "Н", "Р"}
    day_shift = next(r for r in rows if r["Смена"] == "Д")
    assert day_shift["Начало"].endswith("08:00") and day_shift["Часы"] == "11"
    assert {r["Ночные часы"] for r in rows if r["Смена"] == "Н"} == {"8"}

    # an unlawful change: the day after a day shift that is followed by a day off
    taken = {(r["Логин"], r["Дата"]) for r in rows}
    who, day = next(
        (r["Логин"], r["Дата"])
        for r in rows
        if r["Смена"] == "Д"
        and r["Дата"] < f"{MONTH}-28"
        and (r["Логин"], f"{MONTH}-{int(r['Дата'][-2:]) + 1:02d}") not in taken
    )
    next_day = f"{int(day[-2:]) + 1:02d}.02.2027"
    refused = runner.invoke(app, ["roster", "assign", who, next_day, "Д"])
    assert refused.exit_code == 1
    assert "не сохранено — нарушения" in refused.stderr
    assert "(ст.107 ТК РФ)" in refused.stderr and "--force" in refused.stderr
    assert refused.stdout == ""

    # a hand-edited file with that change, checked without saving: exit 6, violations listed
    edited = tmp_path / "edited.csv"
    edited_rows = [*rows, {**day_shift, "Логин": who, "Дата": f"2027-02-{next_day[:2]}"}]
    with edited.open("w", encoding="cp1251", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(edited_rows)
    checked = runner.invoke(app, ["roster", "check", "-m", MONTH, "--file", str(edited)])
    assert checked.exit_code == 6
    added_line = len(edited_rows) + 1  # the header is line 1
    assert f"{edited}:{added_line}: {who} {next_day} min_rest (ст.107 ТК РФ)" in checked.stdout

    broken = tmp_path / "broken.csv"
    broken.write_text("username;date;shift\nop1;31.02.2027;Д\n;2027-02-03;Н\n", encoding="utf-8")
    bad = runner.invoke(app, ["roster", "check", "-m", MONTH, "--file", str(broken)])
    assert bad.exit_code == 1
    assert f"{broken}:2: date: «31.02.2027»" in bad.stderr
    assert f"{broken}:3: username: пусто" in bad.stderr

    xlsx = tmp_path / "roster.xlsx"
    assert (
        runner.invoke(
            app, ["roster", "export", "-m", MONTH, "-f", "xlsx", "-o", str(xlsx)]
        ).exit_code
        == 0
    )
    book = load_workbook(xlsx)
    assert book.sheetnames == ["График 2027-02", "Смены", "Покрытие"]
    assert book["Смены"].max_row == len(rows) + 1

    folder = tmp_path / "ics"
    result = runner.invoke(app, ["roster", "export", "-m", MONTH, "-f", "ics", "-o", str(folder)])
    assert result.exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == [f"op{i}.ics" for i in range(8)]
    events = Calendar.from_ical((folder / "op1.ics").read_bytes()).walk("VEVENT")
    assert len(events) == sum(1 for r in rows if r["Логин"] == "op1")
    starts = [e.decoded("dtstart") for e in events]
    assert all(isinstance(s, datetime) and str(s.tzinfo) == "Asia/Irkutsk" for s in starts)
    assert all(isinstance(s, datetime) and s.hour in (8, 9, 20) for s in starts)

    # a lawful edit and its undo: the day shift becomes a day off, then the day shift again
    day_text = f"{day[-2:]}.02.2027"
    off = runner.invoke(app, ["roster", "assign", who, day_text, "-"])
    assert off.exit_code == 0, off.output
    assert f"{day_text}: {who} — выходной. Версия графика 2." in off.stdout
    back = runner.invoke(app, ["roster", "assign", who, day, "Д"])
    assert back.exit_code == 0 and f"{who} — Д. Версия графика 3." in back.stdout

    published = runner.invoke(app, ["roster", "publish", "-m", MONTH])
    assert published.exit_code == 0, published.output
    assert "опубликован (версия 4)" in published.stdout


def test_bad_input_exits_non_zero_and_saves_nothing(runner, db_url):
    missing = runner.invoke(app, ["roster", "generate", "-m", MONTH, "--time-limit", "1"])
    assert missing.exit_code == 1
    assert "ekc-admin staffing requirements --month 2027-02" in missing.stderr

    store_requirement(db_url, 9)  # 9 operators every hour from 8 people
    impossible = runner.invoke(app, ["roster", "generate", "-m", MONTH, "--time-limit", "1"])
    assert impossible.exit_code == 1
    assert "потребность невыполнима" in impossible.stderr
    assert "требуют больше операторов, чем всего сотрудников (8)" in impossible.stderr
    assert "первый — 01.02 08:00, нужно 9" in impossible.stderr

    assert runner.invoke(app, ["roster", "show", "-m", "2027-2"]).exit_code == 2
    assert runner.invoke(app, ["roster", "show", "-m", MONTH]).exit_code == 1
    assert runner.invoke(app, ["roster", "assign", "op1", "2027-02-30", "Д"]).exit_code == 2
    assert runner.invoke(app, ["roster", "export", "-m", MONTH, "-f", "pdf"]).exit_code == 2
    engine = create_db_engine(db_url)
    with Session(engine) as session:
        assert session.exec(select(Roster)).all() == []
    engine.dispose()
