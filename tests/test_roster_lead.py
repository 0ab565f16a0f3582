"""`ekc-admin roster …` as a shift lead meets it, in-process (the CLI's client talks to the
app through the test client's transport): every gap reported every time, edits and
absences that open gaps say so, the solver's verdict on its own search."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from ekc_admin import context
from ekc_admin.main import app
from ekc_core.client import EkcClient
from ekc_core.credentials import Credentials, save_credentials
from ekc_core.enums import Role
from ekc_server.models import Roster, RosterShift, ShiftTemplate, Staff, StaffingRequirement
from ekc_server.services import staffing

JANUARY = "2027-01"  # 31 days; 1 January 2027 is a Friday and a public holiday
FEBRUARY = "2027-02"


def require(engine: Engine, month: str, hourly: list[int]) -> None:
    with Session(engine) as session:
        session.merge(StaffingRequirement(month=month, hourly=hourly, params={}))
        session.commit()


@pytest.fixture
def cli(client: TestClient, make_staff, tmp_path: Path, monkeypatch) -> Iterator[CliRunner]:
    """A shift lead signed in; the CLI's `EkcClient` goes through the in-process app."""
    lead = make_staff(Role.shift_lead, username="lead")
    for i in range(8):
        make_staff(Role.operator, username=f"op{i}")
    config = tmp_path / "config"
    save_credentials(
        config, Credentials(server_url="http://testserver", username="lead", token=lead.token)
    )
    monkeypatch.setenv("EKC_CONFIG_DIR", str(config))
    monkeypatch.delenv("EKC_SERVER_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(
        context,
        "EkcClient",
        functools.partial(EkcClient, transport=client._transport),
    )
    yield CliRunner()


def test_the_first_night_is_held_to_the_stored_requirement(cli, engine) -> None:
    """January without a December roster: 1 January 00–08 has nobody on shift against a
    stored requirement of 2; check, show and publish all say so (they used to say
    «потребность покрыта» and draw those hours as exactly covered)."""
    require(engine, JANUARY, [2] * 8 + [1] * (31 * 24 - 8))
    made = cli.invoke(app, ["roster", "generate", "-m", JANUARY, "--time-limit", "1"])
    assert made.exit_code == 0, made.output
    assert "потребность покрыта" not in made.stdout
    assert "01.01.2027 пт 00:00–08:00 не хватает до 2" in made.stdout
    assert "ночная смена 31.12 по графику на 2026-12: его нет в системе" in made.stdout

    for _ in range(2):  # every time, not only at generation
        checked = cli.invoke(app, ["roster", "check", "-m", JANUARY])
        assert checked.exit_code == 6, checked.output
        assert "потребность покрыта" not in checked.stdout
        assert "01.01.2027 пт 00:00–08:00 не хватает до 2 (нужно 2, на смене 0)" in checked.stdout

    shown = cli.invoke(app, ["roster", "show", "-m", JANUARY])
    assert shown.exit_code == 0, shown.output
    first_day = next(line for line in shown.stdout.splitlines() if line.startswith("01 пт"))
    cells = first_day.split()[2]
    assert cells[:8] == "!" * 8, first_day  # short, not «·» (exactly covered)
    assert "01.01.2027 пт 00:00–08:00 не хватает до 2" in shown.stdout

    as_json = json.loads(cli.invoke(app, ["roster", "show", "-m", JANUARY, "--json"]).stdout)
    assert as_json["required"][:8] == [2] * 8 and as_json["covered"][:8] == [0] * 8
    first_gap = as_json["gaps"][0]
    assert (first_gap["on_date"], first_gap["from_hour"], first_gap["to_hour"]) == (
        "2027-01-01",
        0,
        8,
    )
    assert first_gap["previous_roster"] is True

    refused = cli.invoke(app, ["roster", "publish", "-m", JANUARY])
    assert refused.exit_code == 1
    assert "не опубликовано — нарушения и нехватка:" in refused.stderr
    assert "01.01.2027 00–08 ч: не хватает 2 (нужно 2, на смене 0) — эти часы" in refused.stderr
    forced = cli.invoke(app, ["roster", "publish", "-m", JANUARY, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "01.01.2027 пт 00:00–08:00 не хватает до 2" in forced.stdout


def test_the_previous_rosters_night_shift_closes_the_first_night(cli, engine) -> None:
    """With December's roster in the system, its 31 December night shift staffs 1 January
    00–08; one operator there against a requirement of 2 is a gap named as December's."""
    require(engine, JANUARY, [1] * (31 * 24))
    with Session(engine) as session:
        op1 = session.exec(select(Staff).where(Staff.username == "op1")).one()
        december = Roster(month="2026-12", status="published")
        session.add(december)
        session.flush()
        session.add(
            RosterShift(
                roster_id=december.id or 0,
                staff_id=op1.id or 0,
                on_date=date(2026, 12, 31),
                template_code="Н",
            )
        )
        session.commit()
    made = cli.invoke(app, ["roster", "generate", "-m", JANUARY, "--time-limit", "1"])
    assert made.exit_code == 0, made.output
    assert "Нарушений ТК РФ нет, потребность покрыта." in made.stdout
    require(engine, JANUARY, [2] * 8 + [1] * (31 * 24 - 8))
    checked = cli.invoke(app, ["roster", "check", "-m", JANUARY])
    assert checked.exit_code == 6
    assert "01.01.2027 пт 00:00–08:00 не хватает до 1 (нужно 2, на смене 1)" in checked.stdout
    assert "добавьте её там — ekc-admin roster assign <логин> 2026-12-31 Н" in checked.stdout


def _published_february(cli: CliRunner, engine: Engine) -> dict[tuple[str, str], str]:
    """A published, gap-free February needing exactly one operator every hour (the first
    night aside), day and night shifts only. Returns (username, date) → shift."""
    require(engine, FEBRUARY, [0] * 8 + [1] * (28 * 24 - 8))
    with Session(engine) as session:
        office_hours = session.exec(select(ShiftTemplate).where(ShiftTemplate.code == "Р")).one()
        office_hours.active = False
        session.add(office_hours)
        session.commit()
    made = cli.invoke(app, ["roster", "generate", "-m", FEBRUARY, "--time-limit", "1"])
    assert made.exit_code == 0, made.output
    published = cli.invoke(app, ["roster", "publish", "-m", FEBRUARY, "--force"])
    assert published.exit_code == 0, published.output
    roster = json.loads(cli.invoke(app, ["roster", "show", "-m", FEBRUARY, "--json"]).stdout)
    assert roster["status"] == "published" and roster["gaps"] == []
    return {(s["username"], s["on_date"]): s["template_code"] for s in roster["shifts"]}


def _alone(shifts: dict[tuple[str, str], str], code: str) -> tuple[str, str]:
    """A person alone on shift `code` on a day from the 4th on (nobody else covers it)."""
    for (who, day), c in sorted(shifts.items()):
        same = [u for (u, d), cc in shifts.items() if d == day and cc == c]
        if c == code and day >= "2027-02-04" and same == [who]:
            return who, day
    raise AssertionError(f"nobody alone on «{code}»")


def test_an_edit_that_opens_a_gap_says_so_at_once(cli, engine, client) -> None:
    shifts = _published_february(cli, engine)
    who, day = _alone(shifts, "Д")
    off = cli.invoke(app, ["roster", "assign", who, day, "-"])
    assert off.exit_code == 0, off.output
    text = " ".join(off.stdout.split())
    when = f"{day[8:]}.02.2027"
    assert f"правка открывает нехватку: {when} 08–20 ч: не хватает 1 (нужно 1, на смене 0)" in text
    assert "график уже опубликован" in text

    # the API answer carries the same: `opened_gaps`
    token = cli_token(client)
    back = client.post(
        "/api/v1/rosters/2027-02/assign",
        json={"username": who, "on_date": day, "template_code": "Д"},
        headers=token,
    )
    assert back.status_code == 200 and back.json()["opened_gaps"] == []
    again = client.post(
        "/api/v1/rosters/2027-02/assign",
        json={"username": who, "on_date": day, "template_code": None},
        headers=token,
    )
    gaps = again.json()["opened_gaps"]
    assert [(g["on_date"], g["from_hour"], g["to_hour"], g["short"]) for g in gaps] == [
        (day, 8, 20, 1)
    ]


def test_an_absence_over_a_published_roster_names_its_shifts_and_gaps(cli, engine) -> None:
    shifts = _published_february(cli, engine)
    who, day = _alone(shifts, "Д")
    added = cli.invoke(
        app, ["shifts", "absence", "add", who, "--kind", "sick", "--from", day, "--to", day]
    )
    assert added.exit_code == 0, added.output
    text = " ".join(added.stdout.split())
    when = f"{day[8:]}.02"
    assert f"график на 2027-02 (опубликован): больничный приходится на смены {who}" in text
    assert f"{when} «Д»" in text and f"ekc-admin roster assign {who} {day} -" in text
    assert (
        f"без этих смен нехватка: {when}.2027 08–20 ч: не хватает 1 (нужно 1, на смене 0)" in text
    )
    as_json = cli.invoke(
        app,
        ["shifts", "absence", "add", "op0", "--kind", "day_off", "--from", "2027-03-10", "--json"],
    )
    assert json.loads(as_json.stdout)["warnings"] == []  # no roster for March


def cli_token(client: TestClient) -> dict[str, str]:
    """The lead's session token the CLI saved (the `cli` fixture signs in as `lead`)."""
    from ekc_core.credentials import load_credentials
    from ekc_core.settings import ClientSettings

    creds = load_credentials(ClientSettings().config_dir)
    assert creds is not None
    return {"Authorization": f"Bearer {creds.token}"}


def test_the_requirement_names_the_days_of_its_holiday_profile(cli, engine, monkeypatch) -> None:
    """January's eight holidays come from the history's holidays of the past year, and the
    lead is told which days (it used to be one day, applied to 1–8 January silently)."""
    from tests.test_staffing import contact, insert_rows, local

    monkeypatch.setattr(staffing, "_today_local", lambda: date(2026, 11, 23))
    rows = [contact(local(date(2026, 6, 12), 12, m)) for m in range(4)]
    rows += [contact(local(date(2026, 11, 4), 12, m)) for m in range(2)]
    rows += [contact(local(date(2026, 11, 16), h)) for h in range(8, 20)]
    insert_rows(engine, rows)
    result = cli.invoke(app, ["staffing", "requirements", "--month", JANUARY, "--weeks", "3"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    source = (
        "профиль праздников — среднее по 2 праздничным дням истории за год: 12.06.2026, 04.11.2026"
    )
    assert f"* — праздничный день, рассчитан по профилю праздников: {source}" in text
    assert "праздничные дни месяца (8) — мало дней для надёжного профиля" in text
    forecast = cli.invoke(app, ["staffing", "forecast", "--weeks", "3", "--until", "2026-11-23"])
    assert f"Праздники: {source}." in " ".join(forecast.stdout.split())


def test_roster_and_staffing_commands_use_the_typed_client_only() -> None:
    """No raw `client.request(…)` beside the typed client (`RosterApi`) in these commands."""
    import ast

    import ekc_admin.roster
    import ekc_admin.staffing

    for module in (ekc_admin.roster, ekc_admin.staffing):
        tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
        raw = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "request"
        ]
        assert raw == [], f"{module.__name__}: raw requests on lines {raw}"
