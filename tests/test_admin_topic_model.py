"""`ekc-admin routing retrain|models|guess` against a real backend (live_server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_core.enums import Role
from ekc_core.settings import ServerSettings
from tests.test_api_topic_models import SCRAMBLE, load_corpus, relabel
from tests.test_api_topic_models import reference as reference  # the fixture

PASSWORD = "пароль-модели"


@pytest.fixture
def settings(db_url: str, tmp_path: Path, reference: Path) -> ServerSettings:
    return ServerSettings(data_dir=tmp_path, database_url=db_url, reference_dir=reference)


@pytest.fixture
def cli(live_server, tmp_path, monkeypatch, make_staff):
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    make_staff(Role.admin, username="trainer", password=PASSWORD)
    make_staff(Role.shift_lead, username="tester", password=PASSWORD)
    make_staff(Role.operator, username="reader", password=PASSWORD)
    return CliRunner()


def login(cli: CliRunner, username: str) -> None:
    result = cli.invoke(app, ["login", "-u", username, "-p", PASSWORD])
    assert result.exit_code == 0, result.output


def test_retrain_models_and_guess(cli: CliRunner, engine: Engine) -> None:
    login(cli, "trainer")
    none = cli.invoke(app, ["routing", "models"])
    assert none.exit_code == 0 and "ещё нет" in none.stdout
    empty = cli.invoke(app, ["routing", "retrain"])
    assert empty.exit_code == 1 and "не на чем учиться" in empty.stderr

    load_corpus(engine)
    first = cli.invoke(app, ["routing", "retrain"])
    assert first.exit_code == 0, first.output
    assert "Версия 1 действует: первая модель." in first.stdout
    assert first.stderr == ""

    relabel(engine, SCRAMBLE)
    worse = cli.invoke(app, ["routing", "retrain"])
    assert worse.exit_code == 0, worse.output
    assert "Версия 2 сохранена, но не действует" in worse.stdout
    assert "хуже действующей версии 1" in " ".join(worse.stdout.split())
    listed = json.loads(cli.invoke(app, ["routing", "models", "--json"]).stdout)
    assert [(m["version"], m["active"]) for m in listed] == [(2, False), (1, True)]
    assert listed[1]["holdout"]["n"] == 8

    login(cli, "tester")
    guess = cli.invoke(app, ["routing", "guess", "Батареи холодные, управляющая компания молчит"])
    assert guess.exit_code == 0, guess.output
    assert "Тематика: housing (ЖКХ)" in guess.stdout and "Группа: housing" in guess.stdout
    assert "Модель: версия 1" in guess.stdout
    blank = cli.invoke(app, ["routing", "guess", "  "])
    assert blank.exit_code == 2 and "пустой текст" in blank.stderr

    login(cli, "reader")
    refused = cli.invoke(app, ["routing", "guess", "нет воды"])
    assert refused.exit_code == 4  # operators may not
    assert cli.invoke(app, ["routing", "retrain"]).exit_code == 4
