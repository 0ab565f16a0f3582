"""`ekc-admin routing show|import|versions` against a real backend (live_server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_core.enums import Role

PASSWORD = "пароль-маршрутов"
SHIPPED = Path(__file__).resolve().parent.parent / "data" / "reference" / "routing.yaml"


@pytest.fixture
def cli(live_server, tmp_path, monkeypatch, make_staff):
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    make_staff(Role.admin, username="router", password=PASSWORD)
    make_staff(Role.operator, username="routop", password=PASSWORD)
    return CliRunner()


def login(cli: CliRunner, username: str) -> None:
    result = cli.invoke(app, ["login", "-u", username, "-p", PASSWORD])
    assert result.exit_code == 0, result.output


def test_show_check_import_and_versions(cli: CliRunner, tmp_path: Path) -> None:
    login(cli, "routop")
    shown = cli.invoke(app, ["routing", "show"])
    assert shown.exit_code == 0, shown.output
    assert "версия 0" in shown.stdout and "СВО" in shown.stdout
    assert "через 60 с → general; через 180 с → все" in shown.stdout
    refused = cli.invoke(app, ["routing", "import", str(SHIPPED)])
    assert refused.exit_code == 4  # admins only

    login(cli, "router")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SHIPPED.read_text(encoding="utf-8").replace("to: [general]}", "to: [generl]}", 1),
        encoding="utf-8",
    )
    result = cli.invoke(app, ["routing", "import", str(bad)])
    assert result.exit_code == 1
    assert "ничего не записано" in result.stderr
    assert "bad.yaml:11: to: нет группы «generl»" in result.stderr
    assert json.loads(cli.invoke(app, ["routing", "show", "--json"]).stdout)["version"] == 0

    good = tmp_path / "good.yaml"
    good.write_text(
        SHIPPED.read_text(encoding="utf-8").replace(
            "{after: 20, to: everyone}", "{after: 15, to: everyone}"
        ),
        encoding="utf-8",
    )
    checked = cli.invoke(app, ["routing", "import", str(good), "--dry-run"])
    assert checked.exit_code == 0, checked.output
    assert "не записана" in checked.stdout
    stored = cli.invoke(app, ["routing", "import", str(good)])
    assert stored.exit_code == 0, stored.output
    assert "Записана версия 1" in stored.stdout
    versions = json.loads(cli.invoke(app, ["routing", "versions", "--json"]).stdout)
    assert [(v["version"], v["source_name"]) for v in versions] == [(1, "good.yaml")]
    as_file = cli.invoke(app, ["routing", "show", "--file"])
    assert as_file.stdout == good.read_text(encoding="utf-8")


def test_set_changes_the_table_in_force_without_a_file(cli: CliRunner) -> None:
    login(cli, "router")
    misuse = cli.invoke(app, ["routing", "set", "--overflow", "svo=60"])
    assert misuse.exit_code == 2
    assert "--overflow «svo=60»: шаг «60»: нужно ГРУППА[@ЛИНИЯ]=СЕКУНДЫ:ГРУППЫ" in misuse.stderr
    nothing = cli.invoke(app, ["routing", "set"])
    assert nothing.exit_code == 2 and "нечего менять" in nothing.stderr

    refused = cli.invoke(app, ["routing", "set", "--topic", "mfc=ghost"])
    assert refused.exit_code == 1
    assert "topics.mfc: нет группы «ghost»" in refused.stderr
    assert "ничего не записано" in refused.stderr

    changed = cli.invoke(
        app,
        [
            "routing",
            "set",
            "--topic",
            "mfc=general",
            "--overflow",
            "psych=20:social+general,60:everyone",
            "--overflow",
            "psych@117=10:everyone",
            "--base",
            "0",
        ],
    )
    assert changed.exit_code == 0, changed.output
    assert "Записана версия 1" in changed.stdout
    assert "через 20 с → social, general; через 60 с → все" in changed.stdout
    assert "117: через 10 с → все" in changed.stdout
    table = json.loads(cli.invoke(app, ["routing", "show", "--json"]).stdout)
    assert table["topics"]["mfc.appointment"] == "general"

    stale = cli.invoke(app, ["routing", "set", "--topic", "mfc=-", "--base", "0"])
    assert stale.exit_code == 1 and "в силе версия 1" in stale.stderr
    back = cli.invoke(app, ["routing", "set", "--topic", "mfc=-", "--overflow", "psych@117=-"])
    assert back.exit_code == 0, back.output
    table = json.loads(cli.invoke(app, ["routing", "show", "--json"]).stdout)
    assert table["version"] == 2 and table["topics"]["mfc.appointment"] == "mfc"
    assert next(g for g in table["groups"] if g["code"] == "psych")["lines"] == {}
