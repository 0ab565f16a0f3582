"""`ekc-admin staff …` and `ekc-admin shifts …` against a real backend: whole flows with
exit codes, stdout and stderr."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from sqlmodel import Session, select
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_admin.staff import staff_table
from ekc_core.enums import Role
from ekc_core.workforce import StaffRecord
from ekc_server.models import Staff

pytestmark = pytest.mark.client_side

PASSWORD = "пароль-админа"
EXAMPLE = Path(__file__).parent.parent / "data" / "demo" / "staff_import_example.csv"


@pytest.fixture
def cli(live_server, tmp_path, monkeypatch, make_staff):
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    make_staff(Role.admin, username="boss", password=PASSWORD)
    make_staff(Role.shift_lead, username="lead1", password=PASSWORD)
    make_staff(Role.operator, username="oper1", password=PASSWORD)
    runner = CliRunner()
    assert runner.invoke(app, ["login", "-u", "boss", "-p", PASSWORD]).exit_code == 0
    return runner


def login(cli, username):
    result = cli.invoke(app, ["login", "-u", username, "-p", PASSWORD])
    assert result.exit_code == 0, result.output


def usernames(engine) -> set[str]:
    with Session(engine) as session:
        return set(session.exec(select(Staff.username)).all())


def test_staff_add_list_show_edit_deactivate(cli, engine):
    added = cli.invoke(
        app,
        [
            "staff", "add", "ivanova.ap",
            "--name", "Иванова Анна Петровна",
            "--role", "старший смены",
            "--office", "mfc_bodaibo",
            "--skill", "svo", "--skill", "medicine,psych",
            "--rate", "0,75",
            "--week-hours", "36",
            "--no-night",
            "--phone", "8 (39561) 5-12-34",
            "--email", "ivanova@ekc122.ru",
            "--password-prompt",
        ],
        input="новый-пароль-1\nновый-пароль-1\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Добавлен сотрудник ivanova.ap (Иванова Анна Петровна)" in added.stdout

    taken = cli.invoke(app, ["staff", "add", "ivanova.ap", "--name", "Другая"])
    assert taken.exit_code == 1
    assert "учётная запись «ivanova.ap» уже есть (HTTP 409)" in taken.stderr
    bad = cli.invoke(app, ["staff", "add", "x", "--name", "X", "--rate", "1,5"])
    assert bad.exit_code == 2 and "ставка больше 0 и не больше 1" in bad.output
    unknown_office = cli.invoke(
        app, ["staff", "add", "y", "--name", "Y", "--office", "mfc_nowhere"]
    )
    assert unknown_office.exit_code == 1
    assert "office_code: нет офиса «mfc_nowhere»" in unknown_office.stderr
    assert "y" not in usernames(engine)

    listed = cli.invoke(app, ["staff", "list", "--skill", "psych"])
    assert listed.exit_code == 0, listed.output
    assert "Сотрудники (1)" in listed.stdout
    assert "Иванова А. П." in listed.stdout and "+73956151234" in listed.stdout
    assert "ст.см." in listed.stdout and "0,75" in listed.stdout

    rows = json.loads(cli.invoke(app, ["staff", "list", "--role", "оператор", "--json"]).stdout)
    assert [r["username"] for r in rows] == ["oper1"]

    shown = json.loads(cli.invoke(app, ["staff", "show", "ivanova.ap", "--json"]).stdout)
    assert shown["staff"]["skills"] == ["svo", "medicine", "psych"]
    assert (shown["staff"]["week_hours"], shown["staff"]["night_work"]) == (36, False)
    assert shown["absences"] == [] and shown["preferences"] == []

    edited = cli.invoke(
        app, ["staff", "edit", "ivanova.ap", "--rate", "1", "--night", "--office", "ekc_irkutsk"]
    )
    assert edited.exit_code == 0, edited.output
    assert "Сохранено: ivanova.ap" in edited.stdout
    human = cli.invoke(app, ["staff", "show", "ivanova.ap"])
    assert human.exit_code == 0
    for text in ("старший смены", "ekc_irkutsk", "svo, medicine, psych", "Отсутствий нет."):
        assert text in human.stdout
    assert "нечего менять" in cli.invoke(app, ["staff", "edit", "ivanova.ap"]).stderr

    # the new lead signs in with the password set at creation, reads but cannot change
    login(cli, "lead1")
    assert cli.invoke(app, ["staff", "show", "ivanova.ap"]).exit_code == 0
    refused = cli.invoke(app, ["staff", "edit", "ivanova.ap", "--rate", "0,5"])
    assert refused.exit_code == 4 and "Недостаточно прав" in refused.stderr
    login(cli, "oper1")
    assert cli.invoke(app, ["staff", "list"]).exit_code == 4

    login(cli, "boss")
    missing = cli.invoke(app, ["staff", "show", "nobody"])
    assert missing.exit_code == 1
    assert "сотрудник «nobody» не найден (HTTP 404)" in missing.stderr
    kept = cli.invoke(app, ["staff", "deactivate", "ivanova.ap"], input="n\n")
    assert kept.exit_code == 1 and "отменено" in kept.stderr
    done = cli.invoke(app, ["staff", "deactivate", "ivanova.ap", "--yes"])
    assert done.exit_code == 0 and "отключена, токены отозваны" in done.stdout
    active = json.loads(cli.invoke(app, ["staff", "list", "--json"]).stdout)
    assert "ivanova.ap" not in {r["username"] for r in active}
    everyone = json.loads(cli.invoke(app, ["staff", "list", "--all", "--json"]).stdout)
    assert {r["username"]: r["active"] for r in everyone}["ivanova.ap"] is False
    relogin = cli.invoke(app, ["login", "-u", "ivanova.ap", "-p", "новый-пароль-1"])
    assert relogin.exit_code == 3 and "отключена" in relogin.stderr


def write_cp1251(path: Path, text: str) -> None:
    path.write_bytes(text.replace("\n", "\r\n").encode("cp1251"))


HEADER = "Логин;ФИО;Роль;Офис;Навыки;Ставка;Ночь;Часов в неделю;Телефон\n"


def test_import_windows_1251_file_line_by_line_then_fixed(cli, engine, tmp_path):
    before = usernames(engine)
    source = tmp_path / "сотрудники.csv"
    write_cp1251(
        source,
        HEADER + "petrov;Петров Пётр Петрович;оператор;ekc_irkutsk;svo, medicine;1;да;40;\n"
        'sidorova;"Сидорова\nМария";оператор;ekc_irkutsk;svo;полставки;может быть;40;\n'
        "bad login;Орлов Олег;уборщик;ekc_irkutsk;svo;0,5;нет;50;12\n"
        "petrov;Петров-двойник;оператор;ekc_irkutsk;svo;1;да;40;\n",
    )
    result = cli.invoke(app, ["staff", "import", str(source)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert f"{source}:3: Ставка: «полставки»: ожидается число, например 1 или 0,5" in lines
    assert f"{source}:3: Ночь: «может быть»: ожидается да или нет" in lines
    assert any(line.startswith(f"{source}:5: Роль: «уборщик»: неизвестная роль") for line in lines)
    assert f"{source}:5: Часов в неделю: «50»: больше 0 и не больше 40 часов" in lines
    assert any(line.startswith(f"{source}:5: Логин: только латинские буквы") for line in lines)
    assert any(line.startswith(f"{source}:5: Телефон: ") for line in lines)
    assert f"{source}:6: Логин: «petrov» уже есть в строке 2" in lines
    assert not any(f"{source}:2:" in line for line in lines)
    assert usernames(engine) == before

    # both kinds at once: a format problem (found here) and an unknown office (found by the
    # server for the rows that are fine here) come in one report
    write_cp1251(
        source,
        HEADER + "orlov;Орлов Олег;оператор;mfc_atlantis;svo;1;да;40;\n"
        "sidorova;Сидорова Мария;оператор;ekc_irkutsk;svo;полставки;да;40;\n",
    )
    result = cli.invoke(app, ["staff", "import", str(source)])
    assert result.exit_code == 1
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert any(line.startswith(f"{source}:2: Офис: нет офиса «mfc_atlantis»") for line in lines)
    assert f"{source}:3: Ставка: «полставки»: ожидается число, например 1 или 0,5" in lines
    assert "Ошибки (2), ничего не записано" in result.stderr
    assert usernames(engine) == before

    # well-formed, but only the server knows the offices, the skills and who is who
    write_cp1251(
        source,
        HEADER + "petrov;Петров Пётр Петрович;оператор;ekc_irkutsk;svo, medicine;1;да;40;\n"
        "orlov;Орлов Олег;оператор;mfc_atlantis;svo|yoga;0,5;нет;36;\n",
    )
    result = cli.invoke(app, ["staff", "import", str(source)])
    assert result.exit_code == 1, result.output
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert any(line.startswith(f"{source}:3: Офис: нет офиса «mfc_atlantis»") for line in lines)
    assert any(line.startswith(f"{source}:3: Навыки: неизвестные навыки: yoga") for line in lines)
    assert "Ошибки (2), ничего не записано" in result.stderr
    assert usernames(engine) == before

    write_cp1251(
        source,
        HEADER + "petrov;Петров Пётр Петрович;оператор;ekc_irkutsk;svo, medicine;1;да;40;\n"
        "orlov;Орлов Олег Олегович;старший смены;mfc_kirensk;svo|social;0,5;нет;36;"
        "8 (3952) 25-01-22\n"
        "oper1;Тестовый oper1;оператор;;svo, psych;;;;\n",
    )
    dry = cli.invoke(app, ["staff", "import", str(source), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "было бы: создано 2, обновлено 1, без изменений 0" in dry.stdout
    assert usernames(engine) == before
    done = cli.invoke(app, ["staff", "import", str(source)])
    assert done.exit_code == 0, done.output
    assert "Импорт из сотрудники.csv: создано 2, обновлено 1, без изменений 0." in done.stdout
    orlov = json.loads(cli.invoke(app, ["staff", "show", "orlov", "--json"]).stdout)["staff"]
    assert (orlov["role"], orlov["employment_rate"], orlov["night_work"], orlov["phone"]) == (
        "shift_lead",
        0.5,
        False,
        "+73952250122",
    )
    again = cli.invoke(app, ["staff", "import", str(source)])
    assert "создано 0, обновлено 0, без изменений 3" in again.stdout

    shipped = cli.invoke(app, ["staff", "import", str(EXAMPLE)])
    assert shipped.exit_code == 0, shipped.output
    assert "создано 5, обновлено 0, без изменений 0" in shipped.stdout
    popova = json.loads(cli.invoke(app, ["staff", "show", "popova.ns", "--json"]).stdout)["staff"]
    assert (popova["employment_rate"], popova["week_hours"], popova["night_work"]) == (
        0.5,
        36,
        False,
    )

    # the list fits an 80-column terminal without cutting anything but long names and offices
    everyone = json.loads(cli.invoke(app, ["staff", "list", "--json"]).stdout)
    everyone[0]["office_code"] = "mfc_irkutsk_universitetsky"
    wide = Console(file=io.StringIO(), width=200, record=True)
    wide.print(staff_table([StaffRecord.model_validate(r) for r in everyone], "Сотрудники"))
    lines = wide.export_text().splitlines()
    assert len(lines) == len(everyone) + 5 and max(len(line.rstrip()) for line in lines) <= 80
    assert any("+73956151234" in line for line in lines)


def test_templates_absences_and_preferences(cli, engine):
    login(cli, "lead1")
    listed = cli.invoke(app, ["shifts", "templates"])
    assert listed.exit_code == 0, listed.output
    assert "Шаблоны смен (3)" in listed.stdout and "Ночная 12 ч" in listed.stdout
    added = cli.invoke(
        app,
        ["shifts", "templates", "add", "В", "--name", "Вечерняя",
         "--from", "14:00", "--to", "23:00", "--break", "30"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Добавлен шаблон В «Вечерняя» 14:00–23:00: 8,5 ч работы, 1 ч ночью." in added.stdout
    twice = cli.invoke(
        app, ["shifts", "templates", "add", "В", "--name", "x", "--from", "8", "--to", "9"]
    )
    assert twice.exit_code == 1 and "шаблон смены с кодом «В» уже есть" in twice.stderr
    bad_time = cli.invoke(app, ["shifts", "templates", "edit", "В", "--to", "24:30"])
    assert bad_time.exit_code == 2 and "ЧЧ:ММ" in bad_time.output
    edited = cli.invoke(app, ["shifts", "templates", "edit", "В", "--to", "0:00"])
    assert edited.exit_code == 0 and "00:00 (+1)" in edited.stdout
    assert cli.invoke(app, ["shifts", "templates", "disable", "В"]).exit_code == 0
    codes = [t["code"] for t in json.loads(
        cli.invoke(app, ["shifts", "templates", "list", "--all", "--json"]).stdout
    )]  # fmt: skip
    assert sorted(codes) == ["В", "Д", "Н", "Р"]
    assert "Вечерняя" not in cli.invoke(app, ["shifts", "templates"]).stdout
    missing = cli.invoke(app, ["shifts", "templates", "disable", "Ж"])
    assert missing.exit_code == 1 and "нет шаблона смены «Ж»" in missing.stderr

    vacation = cli.invoke(
        app,
        ["shifts", "absence", "add", "oper1", "--kind", "vacation", "--from", "01.12.2026",
         "--to", "2026-12-14", "--note", "ежегодный"],
    )  # fmt: skip
    assert vacation.exit_code == 0, vacation.output
    assert "отпуск 01.12.2026–14.12.2026 — oper1" in vacation.stdout
    clash = cli.invoke(
        app,
        ["shifts", "absence", "add", "oper1", "--kind", "больничный", "--from", "2026-12-10"],
    )
    assert clash.exit_code == 1
    assert "пересекается с уже внесённым: отпуск 01.12.2026–14.12.2026" in clash.stderr
    nobody = cli.invoke(
        app, ["shifts", "absence", "add", "ghost", "--kind", "sick", "--from", "2026-12-01"]
    )
    assert nobody.exit_code == 1 and "сотрудник «ghost» не найден" in nobody.stderr
    wrong_kind = cli.invoke(
        app, ["shifts", "absence", "add", "oper1", "--kind", "рыбалка", "--from", "2026-12-20"]
    )
    assert wrong_kind.exit_code == 2
    month = cli.invoke(app, ["shifts", "absence", "list", "--month", "2026-12"])
    assert month.exit_code == 0
    assert "oper1" in month.stdout and "14" in month.stdout and "ежегодный" in month.stdout
    assert "нет" in cli.invoke(app, ["shifts", "absence", "list", "--month", "2027-01"]).stdout

    prefer = cli.invoke(
        app, ["shifts", "prefer", "oper1", "--work", "--date", "31.12.2026", "--shift", "Н"]
    )
    assert prefer.exit_code == 0, prefer.output
    assert "работать" in prefer.stdout and "31.12.2026" in prefer.stdout
    no_shift = cli.invoke(
        app, ["shifts", "prefer", "oper1", "--off", "--weekday", "вс", "--shift", "Z"]
    )
    assert no_shift.exit_code == 1 and "нет шаблона смены «Z»" in no_shift.stderr
    both = cli.invoke(app, ["shifts", "prefer", "oper1", "--off", "--work", "--weekday", "пн"])
    assert both.exit_code == 2

    # an operator keeps their own wishes only
    login(cli, "oper1")
    own = cli.invoke(
        app, ["shifts", "prefer", "oper1", "--off", "--weekday", "вс", "--note", "дети"]
    )
    assert own.exit_code == 0, own.output
    foreign = cli.invoke(app, ["shifts", "prefer", "lead1", "--off", "--weekday", "пн"])
    assert foreign.exit_code == 4
    mine = json.loads(cli.invoke(app, ["shifts", "preferences", "--json"]).stdout)
    assert sorted((p["kind"], p["weekday"]) for p in mine) == [("off", 6), ("work", None)]
    shown = cli.invoke(app, ["shifts", "preferences", "oper1"])
    assert "каждый вс" in shown.stdout and "дети" in shown.stdout
    assert cli.invoke(app, ["shifts", "absence", "remove", "1"]).exit_code == 4

    login(cli, "lead1")
    card = json.loads(cli.invoke(app, ["staff", "show", "oper1", "--json"]).stdout)
    assert [a["kind"] for a in card["absences"]] == ["vacation"]
    assert len(card["preferences"]) == 2
    absence_id = card["absences"][0]["id"]
    removed = cli.invoke(app, ["shifts", "absence", "remove", str(absence_id)])
    assert removed.exit_code == 0 and f"№{absence_id} удалено" in removed.stdout
    for pref in card["preferences"]:
        assert cli.invoke(app, ["shifts", "unprefer", str(pref["id"])]).exit_code == 0
    gone = cli.invoke(app, ["shifts", "unprefer", str(card["preferences"][0]["id"])])
    assert gone.exit_code == 1 and "не найдено" in gone.stderr
    final = json.loads(cli.invoke(app, ["staff", "show", "oper1", "--json"]).stdout)
    assert final["absences"] == [] and final["preferences"] == []


def test_utf8_bom_comma_file_with_english_headers(tmp_path):
    from ekc_admin.csvfile import read_csv
    from ekc_admin.staff import rows_of
    from ekc_admin.staff_values import COLUMNS

    source = tmp_path / "staff.csv"
    source.write_bytes(
        (
            "\ufeffUsername,Full name,Role,Office,Skills,Rate,Night_work,Week_hours,Phone,"
            "E-mail\r\n"
            'kim,Ким Виктор Ильич,shift_lead,mfc_mama,"svo,medicine",0.75,no,35,'
            "+7 3952 25-01-22,kim@ekc122.ru\r\n"
            "lee,Ли Анна,Администратор,,mfc|general,50%,да,,,\r\n"
            ",,,,,,,,,\r\n"
        ).encode()
    )
    table = read_csv(source, aliases=COLUMNS, required=("username", "full_name"))
    rows = rows_of(table)
    assert table.problems == []
    assert [r.line for r in table.rows] == [2, 3]
    assert [line for line, _ in rows] == [2, 3]
    kim, lee = (record for _, record in rows)
    assert (kim.role, kim.office_code, kim.skills, kim.employment_rate) == (
        Role.shift_lead,
        "mfc_mama",
        ["svo", "medicine"],
        0.75,
    )
    assert (kim.night_work, kim.week_hours, kim.phone) == (False, 35, "+73952250122")
    assert (lee.role, lee.skills, lee.employment_rate, lee.night_work) == (
        Role.admin,
        ["mfc", "general"],
        0.5,
        True,
    )
    assert lee.model_fields_set == {
        "username", "full_name", "role", "skills", "employment_rate", "night_work"
    }  # fmt: skip

    source.write_text("Логин;Отдел\nkim;svo\n", encoding="utf-8")
    broken = read_csv(source, aliases=COLUMNS, required=("username", "full_name"))
    assert broken.problems == [
        f"{source}:1: Отдел: неизвестный столбец (ожидаются: логин, фио, роль, офис, навыки, "
        "ставка, ночь, часов в неделю, телефон, email)",
        f"{source}:1: фио: нет столбца",
    ]
