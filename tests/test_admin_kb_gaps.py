"""`ekc-admin kb gaps` and `ekc-admin kb synonyms` against a real backend (live_server)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from ekc_admin.main import app
from ekc_core.enums import Role
from ekc_core.localtime import CENTRE_TZ

PASSWORD = "пароль-редактора"


@pytest.fixture
def cli(live_server, tmp_path, monkeypatch, make_staff):
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    make_staff(Role.admin, username="kbeditor", password=PASSWORD)
    make_staff(Role.shift_lead, username="kblead", password=PASSWORD)
    make_staff(Role.operator, username="kbop", password=PASSWORD)
    return CliRunner()


def login(cli, username: str) -> None:
    result = cli.invoke(app, ["login", "-u", username, "-p", PASSWORD])
    assert result.exit_code == 0, result.output


def searched(url: str, token: str, rows: list[tuple[str, int, str, int, str | None]]) -> datetime:
    """What a console's outbox sends: (session, seq, query, hits, opened); returns when."""
    when = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    at = when.isoformat()
    events = [
        {
            "event_id": uuid.uuid4().hex,
            "session": f"session-{s}",
            "seq": seq,
            "query": q,
            "hits": hits,
            "opened": opened,
            "at": at,
        }
        for s, seq, q, hits, opened in rows
    ]
    r = httpx.post(
        f"{url}/api/v1/kb/search-events",
        json={"events": events},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return when


def test_gaps_for_an_editor_and_synonyms_applied_without_reindex(
    cli, live_server, make_staff, tmp_path
):
    source = tmp_path / "kb.jsonl"
    article = {"id": "flood-1", "title": "Затопление квартиры", "body": "Акт о заливе в УК."}
    source.write_text(json.dumps(article, ensure_ascii=False) + "\n", encoding="utf-8")
    login(cli, "kbeditor")
    assert cli.invoke(app, ["kb", "import", str(source)]).exit_code == 0

    operator = make_staff(Role.operator, username="console1")
    when = searched(
        live_server,
        operator.token,
        [
            ("a", 0, "Соседи затопили", 0, None),
            ("a", 1, "затопление", 1, "flood-1"),
            ("b", 0, "соседи затопили", 0, None),
            ("b", 1, "залив", 0, None),
            ("b", 2, "затопление квартиры", 1, "flood-1"),
        ],
    )
    login(cli, "kblead")
    result = cli.invoke(app, ["kb", "gaps", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    top = report["gaps"][0]
    assert (top["query"], top["count"], top["not_found"]) == ("соседи затопили", 2, 2)
    assert top["then_opened"] == [
        {"article_id": "flood-1", "title": "Затопление квартиры", "count": 2}
    ]
    month_ago = date.today() - timedelta(days=30)
    table = cli.invoke(app, ["kb", "gaps", "--from", f"{month_ago:%d.%m.%Y}"])
    assert table.exit_code == 0, table.output
    too_long = cli.invoke(app, ["kb", "gaps", "--from", "01.01.2020"])  # to: today
    assert too_long.exit_code != 0
    assert "не больше 366 дней: сузьте from/to" in " ".join(too_long.output.split())
    assert "соседи затопили" in table.stdout and "flood-1" in table.stdout
    # when, in the centre's time (Irkutsk), whatever the zone of the admin's machine
    assert f"{when.astimezone(CENTRE_TZ):%H:%M}" in table.stdout
    bad = cli.invoke(app, ["kb", "gaps", "--from", "вчера"])
    assert bad.exit_code == 2 and "--from" in bad.output
    refused = cli.invoke(app, ["kb", "synonyms", "add", "a", "b"])
    assert refused.exit_code == 4  # leads read the gaps, admins edit synonyms

    login(cli, "kbop")
    assert cli.invoke(app, ["kb", "gaps"]).exit_code == 4

    # the editor turns the gap into synonyms: the search finds the article at once
    login(cli, "kbeditor")
    before = json.loads(cli.invoke(app, ["kb", "search", "залили", "--json"]).stdout)
    assert before == []
    added = cli.invoke(app, ["kb", "synonyms", "add", "залили", "затопление", "--json"])
    assert added.exit_code == 0, added.output
    group = json.loads(added.stdout)["id"]
    after = json.loads(cli.invoke(app, ["kb", "search", "залили", "--json"]).stdout)
    assert [h["id"] for h in after] == ["flood-1"]
    listed = cli.invoke(app, ["kb", "synonyms", "list"])
    assert "залили, затопление" in listed.stdout
    assert "коммуналка" in listed.stdout  # seeded from the shipped file
    assert cli.invoke(app, ["kb", "synonyms", "remove", str(group)]).exit_code == 0
    assert json.loads(cli.invoke(app, ["kb", "search", "залили", "--json"]).stdout) == []
    gone = cli.invoke(app, ["kb", "synonyms", "remove", str(group)])
    assert gone.exit_code == 1 and "нет группы синонимов" in gone.output

    # a caller's phrase as a one-way rule: «хлюпает под ногами» means «затопление квартиры»
    before_rule = cli.invoke(app, ["kb", "search", "хлюпает под ногами", "--json"])
    assert json.loads(before_rule.stdout) == []
    rule = cli.invoke(
        app, ["kb", "synonyms", "add", "хлюпает под ногами", "--means", "затопление квартиры"]
    )
    assert rule.exit_code == 0, rule.output
    assert "Добавлено правило" in rule.stdout
    assert "хлюпает под ногами => затопление квартиры" in rule.stdout
    found = json.loads(cli.invoke(app, ["kb", "search", "хлюпает под ногами", "--json"]).stdout)
    assert [h["id"] for h in found] == ["flood-1"]
    listed = cli.invoke(app, ["kb", "synonyms", "list"])
    assert "затопление квартиры" in listed.stdout and "хлюпает под ногами" in listed.stdout
    empty = cli.invoke(app, ["kb", "synonyms", "add", "как же", "--means", "затопление"])
    assert empty.exit_code != 0 and empty.stdout == ""
    assert "во фразах звонящего только служебные слова" in " ".join(empty.output.split())
