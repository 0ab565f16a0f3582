"""The typed admin methods of `EkcClient` (ekc_core/client_admin.py) against the real app,
in-process: each takes and returns the wire schemas, and a value is always one path segment."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from ekc_admin import context
from ekc_admin.main import app
from ekc_core.client import EkcClient
from ekc_core.credentials import Credentials, save_credentials
from ekc_core.enums import Role
from ekc_core.errors import ConflictError, NotFoundError
from ekc_core.schemas import ApiTokenCreate
from ekc_core.workforce import (
    AbsenceCreate,
    AbsenceKind,
    PreferenceCreate,
    PreferenceKind,
    ShiftTemplateCreate,
    ShiftTemplateUpdate,
    StaffCreate,
    StaffImportRequest,
    StaffUpdate,
)

pytestmark = pytest.mark.client_side

SERVER = "http://testserver"


@pytest.fixture
def api(client, admin):
    """An EkcClient signed in as an admin, sending through the app's in-process transport."""
    with EkcClient(SERVER, token=admin.token, transport=client._transport) as api:
        yield api


@pytest.fixture
def cli(client, admin, tmp_path, monkeypatch):
    """`ekc-admin` signed in as an admin; its client talks to the app in-process."""
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("EKC_SERVER_URL", raising=False)
    save_credentials(
        tmp_path / "config",
        Credentials(server_url=SERVER, username=admin.username, token=admin.token),
    )

    def in_process(url, **kwargs):
        return EkcClient(url, transport=client._transport, **kwargs)

    monkeypatch.setattr(context, "EkcClient", in_process)
    return CliRunner()


def test_staff_templates_absences_preferences_and_tokens_round_trip(api):
    made = api.create_staff(
        StaffCreate(username="petrov", full_name="Петров Пётр", skills=["svo"], week_hours=36)
    )
    assert (made.username, made.role, made.week_hours, made.can_sign_in) == (
        "petrov",
        Role.operator,
        36,
        False,
    )
    changed = api.update_staff("petrov", StaffUpdate(skills=["svo", "medicine"], phone=None))
    assert changed.skills == ["svo", "medicine"] and changed.phone is None
    assert api.staff_record("petrov") == changed
    assert "petrov" in {s.username for s in api.staff_list(role=Role.operator, skill="medicine")}
    assert "petrov" not in {s.username for s in api.staff_list(role=Role.admin)}

    planned = api.import_staff(
        StaffImportRequest(
            rows=[
                StaffCreate(username="petrov", full_name="Петров Пётр Петрович"),
                StaffCreate(username="new.one", full_name="Новый Сотрудник"),
            ]
        ),
        dry_run=True,
    )
    assert (planned.created, planned.updated) == (1, 1)
    assert {s.username for s in api.staff_list()} >= {"petrov"}
    assert "new.one" not in {s.username for s in api.staff_list()}  # a dry run writes nothing

    template = api.create_shift_template(
        ShiftTemplateCreate(code="В", name="Вечерняя", starts_at="14:00", ends_at="23:00")
    )
    assert (template.work_hours, template.night_hours) == (9, 1)
    with pytest.raises(ConflictError):
        api.create_shift_template(
            ShiftTemplateCreate(code="В", name="Снова", starts_at="14:00", ends_at="23:00")
        )
    off = api.update_shift_template("В", ShiftTemplateUpdate(active=False))
    assert not off.active
    assert "В" not in {t.code for t in api.shift_templates(active=True)}
    assert "В" in {t.code for t in api.shift_templates()}

    absence = api.create_absence(
        "petrov",
        AbsenceCreate(
            kind=AbsenceKind.vacation, start_date=date(2026, 12, 1), end_date=date(2026, 12, 14)
        ),
    )
    assert [a.id for a in api.absences(username="petrov")] == [absence.id]
    assert [a.id for a in api.absences(month="2026-12")] == [absence.id]
    assert api.absences(month="2027-01") == []
    api.delete_absence(absence.id)
    assert api.absences(username="petrov") == []

    wish = api.create_preference(
        "petrov", PreferenceCreate(kind=PreferenceKind.off, weekday=6, template_code="Н")
    )
    assert [p.id for p in api.preferences(username="petrov")] == [wish.id]
    assert wish.id in {p.id for p in api.preferences()}
    api.delete_preference(wish.id)
    assert api.preferences(username="petrov") == []

    token = api.create_token(ApiTokenCreate(name="проверка", expires_in_days=2))
    assert token.token and token.id in {t.id for t in api.tokens()}
    api.revoke_token(token.id)
    assert next(t for t in api.tokens() if t.id == token.id).revoked_at is not None

    assert not api.deactivate_staff("petrov").active
    with pytest.raises(NotFoundError):
        api.staff_record("nobody")


@pytest.mark.parametrize(
    "login", ["../tokens", "../staff/petrov", "petrov?active=true", "petrov#top", "a/b", ".."]
)
def test_a_login_is_sent_as_one_path_segment(api, make_staff, login):
    """Before, a login typed as `../tokens` went to GET /tokens (a list then failed to parse
    as a staff record), and `../staff/petrov`, `petrov?…`, `petrov#…` read petrov's card."""
    make_staff(Role.operator, username="petrov")
    with pytest.raises(NotFoundError):
        api.staff_record(login)


def test_staff_show_of_a_path_like_login_is_a_plain_not_found(cli):
    """Before: a traceback (a token list read as a staff record), exit 1 without a message."""
    result = cli.invoke(app, ["staff", "show", "../tokens"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Ошибка:" in result.stderr and "(HTTP 404)" in result.stderr
    assert isinstance(result.exception, SystemExit)  # not a traceback


def test_staff_list_and_tokens_through_the_cli(cli, admin):
    listed = cli.invoke(app, ["staff", "list", "--role", "администратор", "--json"])
    assert listed.exit_code == 0, listed.output
    assert listed.stderr == ""
    assert '"username": "admin"' in listed.stdout

    created = cli.invoke(app, ["tokens", "create", "--name", "АТС", "--days", "3"])
    assert created.exit_code == 0, created.output
    assert "Токен «АТС»" in created.stdout and "вашей учётной записи" in created.stdout
    revoked = cli.invoke(app, ["tokens", "revoke", "999999"])
    assert revoked.exit_code == 1
    assert revoked.stdout == "" and "(HTTP 404)" in revoked.stderr
