"""`ekc-admin kb …` against a real backend: import formats, errors with lines, rollback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_core.enums import Role

PASSWORD = "пароль-админа"


@pytest.fixture
def admin_cli(live_server, tmp_path, monkeypatch, make_staff):
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    make_staff(Role.admin, username="kbadmin", password=PASSWORD)
    runner = CliRunner()
    assert runner.invoke(app, ["login", "-u", "kbadmin", "-p", PASSWORD]).exit_code == 0
    return runner


def write_cp1251(path, text: str) -> None:
    path.write_bytes(text.replace("\n", "\r\n").encode("cp1251"))


def test_import_a_windows_1251_file_then_rollback(admin_cli, tmp_path):
    source = tmp_path / "статьи.csv"
    write_cp1251(
        source,
        "Код;Заголовок;Текст;Тематика;Теги\n"
        'kb-1;Не вывозят мусор;"Позвоните\nрегиональному оператору";housing.tko;'
        "мусор, ТКО\n"
        "kb-2;Нет отопления;Заявка в УК;housing.heating;\n",
    )
    dry = admin_cli.invoke(app, ["kb", "import", str(source), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "добавлено" in dry.stdout and "ничего не изменено" in dry.stdout
    batches = json.loads(admin_cli.invoke(app, ["kb", "batches", "--json"]).stdout)
    assert batches == []

    done = admin_cli.invoke(app, ["kb", "import", str(source)])
    assert done.exit_code == 0, done.output
    assert "Опубликован пакет №" in done.stdout
    (batch,) = json.loads(admin_cli.invoke(app, ["kb", "batches", "--json"]).stdout)
    assert (batch["added"], batch["source_name"]) == (2, "статьи.csv")

    found = admin_cli.invoke(app, ["kb", "search", "мусор", "--json"])
    assert json.loads(found.stdout)[0]["id"] == "kb-1"

    write_cp1251(source, "Код;Заголовок;Текст\nkb-1;Мусор не вывозят неделю;Новый текст\n")
    refused = admin_cli.invoke(app, ["kb", "import", str(source), "--sync"], input="n\n")
    assert refused.exit_code == 1
    assert "Удалить статей: 1?" in refused.stdout
    assert len(json.loads(admin_cli.invoke(app, ["kb", "batches", "--json"]).stdout)) == 1
    changed = admin_cli.invoke(app, ["kb", "import", str(source), "--sync", "--yes"])
    assert changed.exit_code == 0, changed.output
    history = json.loads(admin_cli.invoke(app, ["kb", "history", "kb-1", "--json"]).stdout)
    assert [v["version"] for v in history] == [2, 1]
    second = json.loads(admin_cli.invoke(app, ["kb", "batches", "--json"]).stdout)[0]["id"]
    undone = admin_cli.invoke(app, ["kb", "rollback", str(second)])
    assert undone.exit_code == 0, undone.output
    exported = admin_cli.invoke(app, ["kb", "export"])
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [(a["id"], a["title"]) for a in lines] == [
        ("kb-1", "Не вывозят мусор"),
        ("kb-2", "Нет отопления"),
    ]
    assert lines[0]["body"] == "Позвоните\nрегиональному оператору"
    reimport = tmp_path / "export.jsonl"
    reimport.write_text(exported.stdout, encoding="utf-8")
    again = admin_cli.invoke(app, ["kb", "import", str(reimport), "--dry-run"])
    assert again.exit_code == 0, again.output
    assert "ничего не изменено" in again.stdout


def test_every_problem_with_file_and_line_and_nothing_written(admin_cli, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(
        "id;title;body;topic;agency\n"
        'ok-1;Хорошо;"в две\nстроки";housing.tko;\n'
        "ok-2;;текст;;\n"
        "ok-3;Тема;текст;no.topic;nobody\n",
        encoding="utf-8",
    )
    result = admin_cli.invoke(app, ["kb", "import", str(source)])
    assert result.exit_code == 1
    assert f"{source}:4: title: поле обязательно" in result.stderr
    assert f"{source}:5: topic: нет тематики «no.topic»" in result.stderr
    assert f"{source}:5: agency: нет ведомства «nobody»" in result.stderr
    assert json.loads(admin_cli.invoke(app, ["kb", "batches", "--json"]).stdout) == []


def test_unreadable_encoding_is_refused(admin_cli, tmp_path):
    source = tmp_path / "kb.csv"
    source.write_bytes("id,title,body\nkb-1,Заголовок,Текст\n".encode("utf-16"))
    result = admin_cli.invoke(app, ["kb", "import", str(source)])
    assert result.exit_code == 1
    assert "кодировка" in result.stderr


def test_export_csv_and_xlsx_round_trip(admin_cli, tmp_path):
    source = tmp_path / "kb.jsonl"
    source.write_text(
        json.dumps(
            {
                "id": "kb-9",
                "title": "Запись к врачу",
                "body": "Госуслуги",
                "tags": ["врач", "запись"],
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    assert admin_cli.invoke(app, ["kb", "import", str(source)]).exit_code == 0
    csv_file = tmp_path / "out.csv"
    assert (
        admin_cli.invoke(app, ["kb", "export", "--format", "csv", "-o", str(csv_file)]).exit_code
        == 0
    )
    assert csv_file.read_bytes().startswith("\ufeffid;title".encode())
    xlsx = tmp_path / "out.xlsx"
    assert (
        admin_cli.invoke(app, ["kb", "export", "--format", "xlsx", "-o", str(xlsx)]).exit_code == 0
    )
    again = admin_cli.invoke(app, ["kb", "import", str(xlsx), "--dry-run"])
    assert again.exit_code == 0, again.output
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in again.stdout.splitlines()
        if line.count("│") >= 3
    }
    assert (rows["добавлено"], rows["изменено"], rows["без изменений"]) == ("0", "0", "1")


def test_search_with_filters(admin_cli, tmp_path):
    source = tmp_path / "kb.jsonl"
    source.write_text(
        "\n".join(
            json.dumps(a, ensure_ascii=False)
            for a in [
                {
                    "id": "a-1",
                    "title": "Перерасчёт за вывоз мусора",
                    "body": "Заявление РТ-НЭО.",
                    "topic": "housing.tko",
                },
                {
                    "id": "a-2",
                    "title": "Перерасчёт за отопление",
                    "body": "Акт о некачественной услуге.",
                    "topic": "housing.heating",
                },
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    assert admin_cli.invoke(app, ["kb", "import", str(source)]).exit_code == 0
    both = json.loads(admin_cli.invoke(app, ["kb", "search", "перерасчет", "--json"]).stdout)
    assert sorted(h["id"] for h in both) == ["a-1", "a-2"]
    only = admin_cli.invoke(
        app, ["kb", "search", "перерасчет", "--json", "--topic", "housing.heating"]
    )
    assert [h["id"] for h in json.loads(only.stdout)] == ["a-2"]


# --- issue 13: imports that meet an admin halfway ---


def test_topic_and_agency_by_name_and_a_mapping_file(admin_cli, tmp_path):
    source = tmp_path / "old-system.csv"
    source.write_text(
        "id;title;body;topic;agency\n"
        "kb-1;Запись к врачу;Через регистратуру;  медицина ;"
        "Министерство здравоохранения Иркутской области\n"
        "kb-2;Нет воды;Заявка в УК;ЖКХ (старая система);минздрав ио\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "map.csv"
    mapping.write_text("их название;наш код\nЖКХ (старая система);housing\n", encoding="utf-8")
    without = admin_cli.invoke(app, ["kb", "import", str(source)])
    assert without.exit_code == 1
    assert f"{source}:3: topic: нет тематики «ЖКХ (старая система)»" in without.stderr
    assert "Опубликован" not in without.stdout

    done = admin_cli.invoke(app, ["kb", "import", str(source), "--map", str(mapping)])
    assert done.exit_code == 0, done.output
    assert "Опубликован пакет №" in done.stdout and done.stderr == ""
    exported = admin_cli.invoke(app, ["kb", "export", "--format", "jsonl"])
    rows = {r["id"]: r for r in map(json.loads, exported.stdout.splitlines())}
    assert (rows["kb-1"]["topic"], rows["kb-1"]["agency"]) == ("medicine", "minzdrav_io")
    assert (rows["kb-2"]["topic"], rows["kb-2"]["agency"]) == ("housing", "minzdrav_io")


def test_every_problem_of_a_file_and_its_map_in_one_report(admin_cli, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(
        "id;title;body;topic;agency;audience\n"
        "kb-1;Один;текст;Бизнесс;;\n"
        "kb-1;Повтор;текст;;;всем\n"
        "kb-3;;текст;;Минздрав;\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "map.csv"
    mapping.write_text("Соцзащита;socia\n", encoding="utf-8")
    result = admin_cli.invoke(app, ["kb", "import", str(source), "--map", str(mapping)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "Ошибки (6), ничего не записано:"
    assert lines[1:] == [
        f"  {source}:2: topic: нет тематики «Бизнесс»; похожие: «Бизнес» (business), "
        + lines[1].split("(business), ", 1)[1],
        f"  {source}:3: audience: «всем»: допустимо citizens, svo_families, pensioners, "
        "families_with_children, disabled, business, operators",
        f"  {source}:3: id: «kb-1» уже встречался ({source}:2)",
        f"  {source}:4: title: поле обязательно",
        f"  {source}:4: agency: нет ведомства «Минздрав»; похожие: «Минздрав ИО» (minzdrav_io)",
        f"  {mapping}:1: code: нет тематики или ведомства с кодом «socia»; похожие: "
        + lines[6].split("похожие: ", 1)[1],
    ]
    assert "(social)" in lines[6]
    assert json.loads(admin_cli.invoke(app, ["kb", "batches", "--json"]).stdout) == []


def test_encoding_refusal_names_line_and_byte(admin_cli, tmp_path):
    source = tmp_path / "kb.csv"
    source.write_bytes("id;title;body\nkb-1;Вода;Текст\n".encode() + b"kb-2;\x98;x\n")
    result = admin_cli.invoke(app, ["kb", "import", str(source)])
    assert result.exit_code == 1
    assert result.stdout == ""
    flat = " ".join(result.stderr.split())
    assert f"{source}:3: неизвестная кодировка" in flat
    assert "байт 45 от начала файла, 6-й в строке 3" in flat
