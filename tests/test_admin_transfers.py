"""`ekc-admin report transfers`: contacts transferred onward to an agency, per agency and
topic, against the real backend (table, JSON, CSV), and its refusals.

Transfers made by hand at the centre's local time: on 02.11.2026 two to ГУ МЧС on a fire
(topic «emergency») at 10:00 and 23:30 (the latter already 03.11 in UTC, still 02.11 in
Irkutsk), one to Минздрав on a medicine topic; on 05.11.2026, outside the period, one more
to ГУ МЧС.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_core.enums import Role
from ekc_core.reports import Report
from ekc_server.models import Agency, Contact, Topic
from ekc_server.models_events import ContactEvent
from tests.test_admin_report import line_of, login, runner  # noqa: F401  (fixture)
from tests.test_staffing import local

pytestmark = pytest.mark.client_side

PERIOD = ["--from", "2026-11-02", "--to", "2026-11-03"]


def _transfer(session: Session, at: datetime, agency_code: str, topic_code: str) -> None:
    agency = session.exec(select(Agency).where(Agency.code == agency_code)).one()
    topic = session.exec(select(Topic).where(Topic.code == topic_code)).one()
    when = at.astimezone(UTC)
    contact = Contact(
        channel="phone",
        line="122",
        direction="in",
        status="done",
        topic_id=topic.id,
        outcome="transferred",
        queued_at=when,
        answered_at=when,
        ended_at=when,
    )
    session.add(contact)
    session.flush()
    assert contact.id is not None
    session.add(
        ContactEvent(
            contact_id=contact.id,
            type="transferred",
            at=when,
            recorded_at=when,
            agency_id=agency.id,
            text="Суть для ведомства",
            data={"reason": "в ведении ведомства"},
        )
    )


@pytest.fixture
def transfers(engine: Engine) -> None:
    with Session(engine) as session:
        _transfer(session, local(date(2026, 11, 2), 10), "mchs_io", "emergency.fire")
        _transfer(session, local(date(2026, 11, 2), 23, 30), "mchs_io", "emergency")
        _transfer(session, local(date(2026, 11, 2), 12), "minzdrav_io", "medicine")
        _transfer(session, local(date(2026, 11, 5), 9), "mchs_io", "emergency")
        session.commit()


def test_transfers_by_agency_and_topic_as_table_json_and_csv(
    runner: CliRunner,  # noqa: F811
    make_staff,
    transfers,
    tmp_path,
) -> None:
    login(runner, make_staff)
    as_json = runner.invoke(app, ["report", "transfers", *PERIOD, "--json"])
    assert as_json.exit_code == 0, as_json.output
    report = Report.model_validate(json.loads(as_json.stdout))
    assert report.kind == "transfers"
    assert [(r["agency_code"], r["topic_code"], r["transferred"]) for r in report.rows] == [
        ("mchs_io", "emergency", 2),
        ("minzdrav_io", "medicine", 1),
    ]
    assert report.total is not None and report.total["transferred"] == 3

    table = runner.invoke(app, ["report", "transfers", *PERIOD])
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].startswith("Переводы в ведомства")
    # two rows: the table is turned, one column per agency
    assert "ГУ МЧС по ИО" in line_of(table.stdout, "Показатель")
    assert "8 (3952) 39-99-99" in line_of(table.stdout, "Линия ведомства")
    assert "66.7 %" in line_of(table.stdout, "Доля переводов")
    assert "Чаще всего переводят в «ГУ МЧС по ИО»: 2 из 3" in table.stdout

    out = tmp_path / "transfers.csv"
    written = runner.invoke(app, ["report", "transfers", *PERIOD, "-o", str(out)])
    assert written.exit_code == 0, written.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert any(row[:2] == ["Минздрав ИО", "minzdrav_io"] for row in rows), rows


def test_transfers_refusals_reach_stderr_with_exit_codes(
    runner: CliRunner,  # noqa: F811
    make_staff,
) -> None:
    login(runner, make_staff, Role.operator)
    refused = runner.invoke(app, ["report", "transfers"])
    assert refused.exit_code == 4
    assert "отчёты доступны только старшим смены" in refused.stderr

    login(runner, make_staff)
    backwards = runner.invoke(
        app, ["report", "transfers", "--from", "2026-11-03", "--to", "2026-11-01"]
    )
    assert backwards.exit_code == 2
    assert "позже --to" in backwards.stderr
    empty = runner.invoke(app, ["report", "transfers", "--month", "2026-10", "--json"])
    assert empty.exit_code == 0, empty.output
    assert Report.model_validate_json(empty.stdout).rows == []
