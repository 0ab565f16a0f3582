"""`ekc-admin quality …` against a real backend (one flow): the checklist file imported with
every problem on its line, versions, reviews asked item by item or given at once, the
listing with the indicator per operator and for the centre; exit codes, stdout, stderr;
then the typed client as the gateways use it (a survey and a video consultation, twice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_core.client import EkcClient
from ekc_core.enums import Role
from ekc_core.errors import ConflictError
from ekc_core.feedback import SurveyCreate, VideoConsultationCreate
from ekc_core.settings import default_reference_dir
from ekc_server.models import Contact, QualityForm, QualityReview
from tests.conftest import MakeStaff

pytestmark = pytest.mark.client_side

PASSWORD = "пароль-старшего"
SHIPPED = default_reference_dir() / "reference" / "quality_forms.yaml"

BROKEN = """\
forms:
  - code: calls
    name: Звонки
    items:
      - code: greeting
        text: Приветствие
        weight: 0
      - code: greeting
        text: Снова приветствие
      - code: answer
        text: Ответ
        critical: может быть
"""


def done_contact(engine: Engine, operator_id: int, summary: str) -> int:
    start = datetime.now(UTC) - timedelta(hours=3)
    with Session(engine) as session:
        contact = Contact(
            channel="phone",
            line="122",
            direction="in",
            status="done",
            operator_id=operator_id,
            queued_at=start,
            answered_at=start + timedelta(seconds=8),
            ended_at=start + timedelta(seconds=188),
            wrapup_ended_at=start + timedelta(seconds=220),
            outcome="consultation",
            summary=summary,
        )
        session.add(contact)
        session.commit()
        assert contact.id is not None
        return contact.id


def test_quality_forms_and_reviews_flow(
    live_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_staff: MakeStaff,
    engine: Engine,
) -> None:
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    make_staff(Role.admin, username="boss", password=PASSWORD)
    make_staff(Role.shift_lead, username="lead1", password=PASSWORD)
    make_staff(Role.operator, username="oper1", password=PASSWORD)
    ann = make_staff(Role.operator, username="operator2")
    bob = make_staff(Role.operator, username="operator10")
    cli = CliRunner()

    def login(username: str) -> None:
        result = cli.invoke(app, ["login", "-u", username, "-p", PASSWORD])
        assert result.exit_code == 0, result.output

    login("boss")
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    refused = cli.invoke(app, ["quality", "form", "import", str(broken)])
    assert refused.exit_code == 1
    assert "Ошибки (3), ничего не записано" in refused.stderr
    assert f"{broken}:7: forms.0.items.0.weight: должно быть больше 0" in refused.stderr
    assert f"{broken}:8: forms.0.items.1.code: пункт «greeting» повторяется" in refused.stderr
    assert f"{broken}:12: forms.0.items.2.critical: ожидается true или false" in refused.stderr
    assert refused.stdout == ""
    with Session(engine) as session:
        assert session.exec(select(QualityForm)).all() == []

    planned = cli.invoke(app, ["quality", "form", "import", str(SHIPPED), "--dry-run"])
    assert planned.exit_code == 0, planned.output
    assert "call_standard" in planned.stdout and "новая форма" in planned.stdout
    assert "ничего не изменено" in planned.stdout
    imported = cli.invoke(app, ["quality", "form", "import", str(SHIPPED)])
    assert imported.exit_code == 0, imported.output
    assert "Записано форм: 1." in imported.stdout
    again = cli.invoke(app, ["quality", "form", "import", str(SHIPPED)])
    assert "без изменений" in again.stdout and "Изменений нет." in again.stdout
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        SHIPPED.read_text(encoding="utf-8").replace("weight: 3", "weight: 4"), encoding="utf-8"
    )
    updated = cli.invoke(app, ["quality", "form", "import", str(changed)])
    assert updated.exit_code == 0 and "новая версия" in updated.stdout

    listed = cli.invoke(app, ["quality", "form", "list"])
    assert listed.exit_code == 0
    assert "call_standard" in listed.stdout and "boss" in listed.stdout
    shown = cli.invoke(app, ["quality", "form", "show", "call_standard", "--version", "1"])
    assert shown.exit_code == 0 and "версия 1" in shown.stdout and "kb_answer" in shown.stdout
    missing = cli.invoke(app, ["quality", "form", "show", "nope"])
    assert missing.exit_code == 1 and "«nope» не найдена" in missing.stderr

    login("oper1")
    forbidden = cli.invoke(app, ["quality", "form", "import", str(SHIPPED)])
    assert forbidden.exit_code == 4 and "Недостаточно прав" in forbidden.stderr

    login("lead1")
    first = done_contact(engine, ann.id, "Выплаты участникам СВО")
    second = done_contact(engine, bob.id, "Запись к врачу")
    codes = [
        "greeting", "identification", "listening", "kb_answer", "appeal_registered",
        "topic_correct", "no_disclosure", "speech", "hold_rules", "callback_offered",
        "polite_close",
    ]  # fmt: skip
    # asked item by item: «нет» to the greeting (weight 1), «н/п» to the appeal (weight 2)
    replies = ["нет", "да", "да", "да", "н/п", "да", "да", "да", "да", "да", "да"]
    asked = cli.invoke(
        app,
        ["quality", "review", str(first)],
        input="может быть\n" + "\n".join(replies) + "\nзабыл представиться\n",
    )
    assert asked.exit_code == 0, asked.output
    assert f"Контакт №{first}" in asked.stderr and "Выплаты участникам СВО" in asked.stderr
    assert "Оператор: operator2 (Тестовый operator2)" in asked.stderr
    assert "ожидается да / нет / н/п" in asked.stderr  # «может быть» asked again
    # weights 1+2+1+4+2+1+2+1+1+1+1 = 17, appeal n/a → 15 applicable, greeting missed → 14
    assert f"контакт №{first}, оператор operator2" in asked.stdout
    assert f"{14 / 15 * 100:.1f} %" in asked.stdout
    assert "забыл представиться" in asked.stdout

    bad = cli.invoke(
        app, ["quality", "review", str(second), "--answers", "greeting=yes,bogus=no,speech=maybe"]
    )
    assert bad.exit_code == 2
    assert "bogus: нет такого пункта" in bad.stderr and "speech:" in bad.stderr
    assert "kb_answer: нет ответа" in bad.stderr
    answers = ",".join(f"{c}=yes" for c in codes).replace("no_disclosure=yes", "no_disclosure=no")
    given = cli.invoke(app, ["quality", "review", str(second), "--answers", answers])
    assert given.exit_code == 0, given.output
    assert "0.0 %" in given.stdout and "критичный, оценка 0" in given.stdout
    twice = cli.invoke(app, ["quality", "review", str(second), "--answers", answers])
    assert twice.exit_code == 1 and "уже оценён" in twice.stderr

    listing = cli.invoke(app, ["quality", "reviews"])
    assert listing.exit_code == 0, listing.output
    out = listing.stdout
    assert "Оценки контактов (2)" in out
    scores_part = out[out.index("Качество контактов") :]
    # the indicator per operator, logins in natural order
    assert scores_part.index("operator2") < scores_part.index("operator10")
    assert f"{(14 / 15 + 0) / 2 * 100:.1f} %" in out  # the centre
    only = cli.invoke(app, ["quality", "reviews", "--operator", "operator10", "--json"])
    assert only.exit_code == 0 and '"total": 1' in only.stdout
    bad_date = cli.invoke(app, ["quality", "reviews", "--from", "31.02.2026"])
    assert bad_date.exit_code == 2 and "--from" in bad_date.stderr
    with Session(engine) as session:
        scores = sorted(r.score for r in session.exec(select(QualityReview)).all())
    assert scores == pytest.approx([0.0, 14 / 15])

    login("boss")
    off = cli.invoke(app, ["quality", "form", "deactivate", "call_standard"])
    assert off.exit_code == 0 and "отключена" in off.stdout
    none_left = cli.invoke(app, ["quality", "form", "list"])
    assert "Форм оценки нет" in none_left.stdout

    # the typed client as a gateway uses it: a survey and a video consultation, twice each
    gateway = make_staff(Role.gateway, username="telephony", skills=[])
    start = datetime.now(UTC) - timedelta(hours=1)
    video = VideoConsultationCreate(
        external_id="vks-1",
        office_code="mfc_bodaibo",
        started_at=start,
        answered_at=start + timedelta(seconds=40),
        ended_at=start + timedelta(minutes=12),
        operator="operator2",
    )
    with EkcClient(live_server, token=gateway.token) as client:
        survey = client.post_survey(first, SurveyCreate(csat=5, recommend=10))
        assert client.post_survey(first, SurveyCreate(csat=5)) == survey
        with pytest.raises(ConflictError, match="csat = 5"):
            client.post_survey(first, SurveyCreate(csat=1))
        posted = client.post_video_consultation(video)
        assert client.post_video_consultation(video).id == posted.id
    assert posted.channel.value == "video" and posted.operator_id == ann.id
