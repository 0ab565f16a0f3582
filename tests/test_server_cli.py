"""`ekc-server` commands against a real database file: seed and the first admin."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ekc_core.client import EkcClient
from ekc_server.cli import app
from tests.localserver import running_server


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("EKC_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EKC_DATABASE_URL", raising=False)
    return tmp_path


@pytest.mark.integration
def test_seed_then_bootstrap_admin_who_can_sign_in(env):
    runner = CliRunner()
    seeded = runner.invoke(app, ["db", "seed"])
    assert seeded.exit_code == 0, seeded.output
    assert "topics 142" in seeded.stdout
    created = runner.invoke(app, ["staff", "add-admin", "chief", "--password", "длинный-пароль"])
    assert created.exit_code == 0, created.output
    twice = runner.invoke(app, ["staff", "add-admin", "chief", "--password", "длинный-пароль"])
    assert twice.exit_code == 1
    assert "уже есть" in twice.stderr
    short = runner.invoke(app, ["staff", "add-admin", "other", "--password", "short"])
    assert short.exit_code == 1
    gateway = runner.invoke(app, ["staff", "add-gateway", "telephony"])
    assert gateway.exit_code == 0
    assert "ekc-admin tokens create --user telephony" in gateway.stdout

    with running_server(f"sqlite:///{env / 'ekc.db'}", env) as url, EkcClient(url) as client:
        client.login("chief", "длинный-пароль")
        me = client.me()
        assert (me.username, me.role.value) == ("chief", "admin")
        assert len(client.topics()) == 142


def test_demo_seed_if_empty_skips_the_second_time(env):
    runner = CliRunner()
    first = runner.invoke(
        app, ["db", "seed", "--demo", "--if-empty", "--citizens", "40", "--contacts", "200"]
    )
    assert first.exit_code == 0, first.output
    assert "граждан 40," in first.stdout
    assert "Модель тематик: версия 1 (" in first.stdout and "), действует" in first.stdout
    second = runner.invoke(app, ["db", "seed", "--demo", "--if-empty"])
    assert second.exit_code == 0
    assert "Демо-данные уже загружены" in second.stdout
    third = runner.invoke(app, ["db", "seed", "--demo"])
    assert third.exit_code == 1
    assert "демо-данные загружаются только в пустую базу" in third.stderr


def test_seed_adds_shipped_articles_once_and_keeps_admin_edits(env):
    from sqlmodel import Session, select

    from ekc_server.db import create_db_engine
    from ekc_server.models import KbArticle

    runner = CliRunner()
    first = runner.invoke(app, ["db", "seed"])
    assert "добавлено статей из поставки 159" in first.stdout
    engine = create_db_engine(f"sqlite:///{env / 'ekc.db'}")
    with Session(engine) as session:  # an admin's edit and an admin's deletion
        edited = session.get(KbArticle, "kb-housing-001")
        deleted = session.get(KbArticle, "kb-housing-002")
        assert edited is not None and deleted is not None
        edited.title = "Правка администратора"
        deleted.deleted = True
        session.add(edited)
        session.add(deleted)
        session.commit()
    again = runner.invoke(app, ["db", "seed"])
    assert again.exit_code == 0, again.output
    assert "добавлено статей из поставки 0" in again.stdout
    assert "правки администраторов сохранены (1 изменённых, 1 удалённых" in again.stdout
    with Session(engine) as session:
        kept, gone = (
            session.get(KbArticle, "kb-housing-001"),
            session.get(KbArticle, "kb-housing-002"),
        )
        assert kept is not None and kept.title == "Правка администратора"
        assert gone is not None and gone.deleted is True
        assert len(session.exec(select(KbArticle)).all()) == 159
    engine.dispose()
