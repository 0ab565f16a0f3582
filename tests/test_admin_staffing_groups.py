"""`ekc-admin staffing show --group` and the group lines of `roster check | generate`
against a real backend: exit codes, stdout and stderr."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_core.enums import Role
from ekc_server.models import StaffingRequirement
from tests.test_api_rosters import set_staff
from tests.test_staffing_groups import MONTH, day_hours, store_groups

pytestmark = pytest.mark.client_side

PASSWORD = "пароль-смены"


@pytest.fixture
def runner(live_server, tmp_path, monkeypatch, make_staff, engine: Engine) -> CliRunner:
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    monkeypatch.setenv("COLUMNS", "200")
    make_staff(Role.shift_lead, username="lead", password=PASSWORD)
    cli = CliRunner()
    assert cli.invoke(app, ["login", "-u", "lead", "-p", PASSWORD]).exit_code == 0
    store_groups(engine)
    return cli


def test_show_prints_the_groups_table_and_one_group(runner: CliRunner) -> None:
    result = runner.invoke(app, ["staffing", "show", "-m", MONTH])
    assert result.exit_code == 0, result.output
    assert "По группам операторов (каждая группа — своя очередь):" in result.stdout
    svo = next(line for line in result.stdout.splitlines() if line.startswith("СВО (svo)"))
    # peak 1, operator-hours 1 a day 08–20, its own queue in every hour (no merging stored)
    assert svo.split()[-4:] == ["1", str(28 * 12), str(28 * 24), "ч"]
    assert (
        "Сумма по группам: 672 операторо-часов; одна общая очередь: 336. "
        "Разделение на группы стоит 336 операторо-часов (+100%)." in result.stdout
    )

    one = runner.invoke(app, ["staffing", "show", "-m", MONTH, "--group", "medicine"])
    assert one.exit_code == 0, one.output
    assert one.stdout.startswith("Группа операторов: Здравоохранение (medicine), доля звонков 50%")
    assert "Итого: 336 операторо-часов" in one.stdout
    assert "По группам операторов" not in one.stdout

    as_json = runner.invoke(app, ["staffing", "show", "-m", MONTH, "-g", "svo", "--json"])
    assert as_json.exit_code == 0
    assert [g["code"] for g in json.loads(as_json.stdout)["groups"]] == ["svo"]

    unknown = runner.invoke(app, ["staffing", "show", "-m", MONTH, "--group", "nope"])
    assert unknown.exit_code == 1
    assert "группы «nope» нет в потребности на 2027-02" in unknown.stderr
    assert unknown.stdout == ""


def test_show_says_where_a_group_s_calls_go_in_the_hours_it_has_no_queue(
    runner: CliRunner, engine: Engine
) -> None:
    n = 28 * 24
    merged = ["" if 8 <= h % 24 < 20 else "general" for h in range(n)]
    merged[2 * 24 + 8] = "general"  # 03.02 08–09 too
    groups = [
        {"code": "svo", "name": "СВО", "hourly": day_hours(1), "calls": [0.0] * n,
         "share": 0.9, "merged_into": merged},
        {"code": "general", "name": "Общая группа", "hourly": [1] * n, "calls": [0.0] * n,
         "share": 0.1},
        {"code": "mfc", "name": "МФЦ", "hourly": [0] * n, "calls": [0.0] * n, "share": 0.0,
         "merged_into": ["general"] * n},
    ]  # fmt: skip
    params = {"request": {"merge_below_erlangs": 1.0}, "groups": groups}
    with Session(engine) as session:
        session.merge(StaffingRequirement(month=MONTH, hourly=[1] * n, params=params))
        session.commit()
    result = runner.invoke(app, ["staffing", "show", "-m", MONTH])
    assert result.exit_code == 0, result.output
    assert "группа с нагрузкой меньше 1 Эрл в час своей очереди не получает" in result.stdout
    svo = next(line for line in result.stdout.splitlines() if line.startswith("СВО (svo)"))
    assert svo.split()[-2:] == [str(28 * 12 - 1), "ч"]  # hours with its own queue
    assert (
        "  СВО (svo) → Общая группа (general): 00–08, 20–24 ежедневно; 08–09 в части дней "
        "— 337 часов месяца" in result.stdout
    )
    assert "Без звонков в истории: МФЦ (mfc)" in result.stdout
    assert "МФЦ (mfc) →" not in result.stdout
    assert "Сумма по группам: 1008 операторо-часов; одна общая очередь: 672." in result.stdout

    one = runner.invoke(app, ["staffing", "show", "-m", MONTH, "-g", "svo"])
    assert one.exit_code == 0, one.output
    assert "Без своей очереди: СВО (svo) → general: 00–08, 20–24 ежедневно" in one.stdout


def test_requirements_refuse_a_negative_threshold(runner: CliRunner) -> None:
    result = runner.invoke(app, ["staffing", "requirements", "-m", MONTH, "--merge-below", "-1"])
    assert result.exit_code == 2
    assert "merge_below_erlangs" in result.stderr
    assert result.stdout == ""


def test_roster_check_names_each_group_short_and_exits_6(
    runner: CliRunner, make_staff, engine: Engine, tmp_path
) -> None:
    make_staff(Role.operator, username="both")
    make_staff(Role.operator, username="svo_only")
    set_staff(engine, "both", skills=["svo", "medicine"])
    set_staff(engine, "svo_only", skills=["svo"])
    # 1 February both work, 2 February only `both`, then nobody
    lines = ["Логин;Дата;Смена", f"svo_only;{MONTH}-01;Д", f"both;{MONTH}-01;Д"]
    lines.append(f"both;{MONTH}-02;Д")
    path = tmp_path / "roster.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = runner.invoke(app, ["roster", "check", "-m", MONTH, "-f", str(path)])
    assert result.exit_code == 6, result.output
    out = result.stdout
    assert "Группы без покрытия: 2 группы" in out
    assert "(сотрудник с несколькими группами считается в одной из них за раз)" in out
    svo = next(line for line in out.splitlines() if line.strip().startswith("СВО (svo):"))
    assert "… и ещё" in svo  # compact: 8 runs, then how many more
    assert result.stderr == ""

    as_json = runner.invoke(app, ["roster", "check", "-m", MONTH, "-f", str(path), "--json"])
    assert as_json.exit_code == 6
    gaps = json.loads(as_json.stdout)["group_gaps"]
    day2 = [g for g in gaps if g["on_date"] == f"{MONTH}-02"]
    assert len(day2) == 1 and day2[0]["short"] == 1 and day2[0]["able"] == 1

    # the saved draft: `roster show` lists the same groups after the findings
    assert (
        runner.invoke(app, ["roster", "import", "-m", MONTH, str(path), "--force"]).exit_code == 0
    )
    shown = runner.invoke(app, ["roster", "show", "-m", MONTH])
    assert shown.exit_code == 0, shown.output
    assert "Группы без покрытия: 2 группы" in shown.stdout


def test_generate_reports_group_coverage(runner: CliRunner, make_staff, engine: Engine) -> None:
    for i in range(3):
        make_staff(Role.operator, username=f"svo{i}")
        set_staff(engine, f"svo{i}", skills=["svo"])
        make_staff(Role.operator, username=f"med{i}")
        set_staff(engine, f"med{i}", skills=["medicine"])
    result = runner.invoke(app, ["roster", "generate", "-m", MONTH, "--time-limit", "5"])
    assert result.exit_code == 0, result.output
    assert "Покрытие групп: все группы покрыты в каждый час." in result.stdout
    assert runner.invoke(app, ["roster", "check", "-m", MONTH]).exit_code == 0
