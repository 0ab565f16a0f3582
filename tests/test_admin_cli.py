"""`ekc-admin` against a real backend: exit codes, stdout and stderr."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_core.enums import Role

PASSWORD = "пароль-смены"


@pytest.fixture
def runner(live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def login(runner, username):
    return runner.invoke(app, ["login", "-u", username, "-p", PASSWORD])


def test_login_whoami_logout(runner, make_staff, tmp_path, live_server):
    make_staff(Role.shift_lead, username="lead7", password=PASSWORD)

    result = login(runner, "lead7")
    assert result.exit_code == 0, result.output
    assert "Вход выполнен" in result.stdout and "shift_lead" in result.stdout
    creds = tmp_path / "config" / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert json.loads(creds.read_text())["server_url"] == live_server

    result = runner.invoke(app, ["whoami", "--json"])
    assert result.exit_code == 0, result.output
    me = json.loads(result.stdout)
    assert (me["username"], me["role"], me["server_url"]) == ("lead7", "shift_lead", live_server)

    result = runner.invoke(app, ["logout"])
    assert result.exit_code == 0
    assert "токен отозван" in result.stdout
    assert not creds.exists()

    result = runner.invoke(app, ["whoami"])
    assert result.exit_code == 3
    assert "ekc-admin login" in result.stderr
    assert result.stdout == ""


def test_wrong_password_exits_3_and_saves_nothing(runner, make_staff, tmp_path):
    make_staff(Role.admin, username="root1", password=PASSWORD)
    result = runner.invoke(app, ["login", "-u", "root1", "-p", "nope"])
    assert result.exit_code == 3
    assert "Неверное имя пользователя или пароль" in result.stderr
    assert not (tmp_path / "config" / "credentials.json").exists()
    for _ in range(7):  # the server's default: 8 wrong passwords per login in 15 minutes
        assert runner.invoke(app, ["login", "-u", "root1", "-p", "nope"]).exit_code == 3
    result = login(runner, "root1")  # now even the right password waits
    assert result.exit_code == 1
    assert "Слишком много неудачных попыток входа" in result.stderr
    assert "HTTP 429" in result.stderr
    assert not (tmp_path / "config" / "credentials.json").exists()


def test_revoked_token_is_reported(runner, make_staff, live_server):
    make_staff(Role.operator, username="op9", password=PASSWORD)
    assert login(runner, "op9").exit_code == 0
    import httpx

    from ekc_core.credentials import load_credentials
    from ekc_core.settings import ClientSettings

    creds = load_credentials(ClientSettings().config_dir)
    assert creds is not None
    httpx.post(
        live_server + "/api/v1/auth/logout", headers={"Authorization": f"Bearer {creds.token}"}
    ).raise_for_status()
    result = runner.invoke(app, ["topics", "list"])
    assert result.exit_code == 3
    assert "отозван" in result.stderr


def test_reference_lists(runner, make_staff):
    make_staff(Role.operator, username="op1", password=PASSWORD)
    assert login(runner, "op1").exit_code == 0

    result = runner.invoke(app, ["topics", "list", "--json"])
    assert result.exit_code == 0, result.output
    topics = json.loads(result.stdout)
    top = [t["code"] for t in topics if t["parent_code"] is None]
    assert top[0] == "svo" and "mfc" in top and len(top) == 17
    assert any(t["parent_code"] == "housing" for t in topics)

    result = runner.invoke(app, ["topics", "list"])
    assert result.exit_code == 0
    assert "Медицина" in result.stdout and "housing.tko" in result.stdout

    result = runner.invoke(app, ["offices", "list", "--remote", "--json"])
    assert result.exit_code == 0
    assert sorted(o["code"] for o in json.loads(result.stdout)) == [
        "mfc_bodaibo",
        "mfc_erbogachen",
        "mfc_kirensk",
        "mfc_mama",
    ]

    result = runner.invoke(app, ["agencies", "list", "--level", "federal"])
    assert result.exit_code == 0
    assert "ФССП" in result.stdout

    result = runner.invoke(app, ["agencies", "list", "--json"])
    codes = {a["code"] for a in json.loads(result.stdout)}
    assert {"fssp_io", "gostekhnadzor_io", "tfoms_io"} <= codes


def test_unreachable_server_exits_5(tmp_path, monkeypatch):
    from ekc_core.credentials import Credentials, save_credentials
    from tests.localserver import free_port

    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("EKC_RETRIES", "0")
    save_credentials(
        tmp_path,
        Credentials(server_url=f"http://127.0.0.1:{free_port()}", username="x", token="ekcs_x"),
    )
    result = CliRunner().invoke(app, ["offices", "list"])
    assert result.exit_code == 5
    assert "нет связи с сервером" in result.stderr


def test_admin_issues_a_gateway_token_that_posts_contacts(runner, make_staff, live_server):
    make_staff(Role.admin, username="boss", password=PASSWORD)
    make_staff(Role.gateway, username="telephony", skills=[])
    assert login(runner, "boss").exit_code == 0
    result = runner.invoke(
        app, ["tokens", "create", "--user", "telephony", "--name", "АТС", "--json"]
    )
    assert result.exit_code == 0, result.output
    issued = json.loads(result.stdout)
    token = issued["token"]
    assert token.startswith("ekcp_")
    expires = datetime.fromisoformat(issued["expires_at"])  # a gateway's default: a year
    assert timedelta(days=364) < expires - datetime.now(UTC) <= timedelta(days=365)
    import httpx

    posted = httpx.post(
        live_server + "/api/v1/contacts",
        headers={"Authorization": f"Bearer {token}"},
        json={"channel": "phone", "line": "122", "caller_number": "89140001234"},
    )
    assert posted.status_code == 201, posted.text
    listed = runner.invoke(app, ["tokens", "list", "--json"])
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "АТС"
    assert runner.invoke(app, ["tokens", "revoke", str(row["id"])]).exit_code == 0
    again = httpx.post(
        live_server + "/api/v1/contacts",
        headers={"Authorization": f"Bearer {token}"},
        json={"channel": "phone", "line": "122"},
    )
    assert again.status_code == 401


def test_only_admins_issue_tokens_and_only_to_gateways_or_themselves(runner, make_staff):
    make_staff(Role.operator, username="op5", password=PASSWORD)
    make_staff(Role.admin, username="boss2", password=PASSWORD)
    make_staff(Role.gateway, username="telephony", skills=[])
    assert login(runner, "op5").exit_code == 0
    for args in (["--user", "telephony"], []):
        result = runner.invoke(app, ["tokens", "create", *args, "--name", "x"])
        assert result.exit_code == 4, result.output
        assert "нужна роль admin" in result.stderr

    assert login(runner, "boss2").exit_code == 0
    result = runner.invoke(app, ["tokens", "create", "--user", "op5", "--name", "x"])
    assert result.exit_code == 1
    assert "username:" in result.stderr and "шлюза" in result.stderr
    result = runner.invoke(app, ["tokens", "create", "--name", "отчёты", "--days", "31"])
    assert result.exit_code == 1
    assert "expires_in_days:" in result.stderr and "30" in result.stderr
    before = datetime.now(UTC) + timedelta(days=30)
    result = runner.invoke(app, ["tokens", "create", "--name", "отчёты"])
    after = datetime.now(UTC) + timedelta(days=30)
    assert result.exit_code == 0, result.output
    assert "для вашей учётной записи, действует до" in result.stdout
    assert any(f"до {day:%d.%m.%Y}:" in result.stdout for day in (before, after))
    assert "ekcp_" in result.stdout


def test_bad_option_value_exits_2(runner, make_staff):
    make_staff(Role.operator, username="op6", password=PASSWORD)
    assert login(runner, "op6").exit_code == 0
    result = runner.invoke(app, ["agencies", "list", "--level", "bogus"])
    assert result.exit_code == 2
    assert "bogus" in result.output


def test_a_different_server_url_needs_a_new_login(runner, make_staff, monkeypatch):
    make_staff(Role.operator, username="op8", password=PASSWORD)
    assert login(runner, "op8").exit_code == 0
    monkeypatch.setenv("EKC_SERVER_URL", "http://127.0.0.1:9")
    result = runner.invoke(app, ["topics", "list"])
    assert result.exit_code == 3
    assert "EKC_SERVER_URL" in result.stderr
