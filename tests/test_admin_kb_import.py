"""`ekc-admin kb import` of a big file: chunks with progress lines, one commit, and nothing
published when the server refuses a chunk or the import is interrupted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ekc_admin import kb as kb_cli
from ekc_admin.main import app
from ekc_core.client import EkcClient
from ekc_core.enums import Role
from ekc_core.errors import ServerError

PASSWORD = "пароль-админа"


@pytest.fixture
def admin_cli(live_server, tmp_path, monkeypatch, make_staff) -> CliRunner:
    monkeypatch.setenv("EKC_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("EKC_SERVER_URL", live_server)
    make_staff(Role.admin, username="kbadmin", password=PASSWORD)
    runner = CliRunner()
    assert runner.invoke(app, ["login", "-u", "kbadmin", "-p", PASSWORD]).exit_code == 0
    # small chunks, progress from the first article: a 7-article file goes in 3 chunks
    monkeypatch.setattr(kb_cli, "CHUNK", 3)
    monkeypatch.setattr(kb_cli, "PROGRESS_FROM", 1)
    return runner


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def rows(n: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        {"id": f"kb-{i}", "title": f"Статья {i}", "body": f"Текст {i}", **fields}
        for i in range(1, n + 1)
    ]


def batches(runner: CliRunner) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(
        runner.invoke(app, ["kb", "batches", "--json"]).stdout
    )
    return listed


def exported_ids(runner: CliRunner) -> list[str]:
    lines = runner.invoke(app, ["kb", "export"]).stdout.splitlines()
    return [json.loads(line)["id"] for line in lines]


def test_a_big_file_goes_in_chunks_with_progress_and_one_batch(
    admin_cli: CliRunner, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "big.jsonl", rows(7, topic="Медицина"))
    dry = admin_cli.invoke(app, ["kb", "import", str(source), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "отправлено 3 из 7 статей" in dry.stderr and "ничего не изменено" in dry.stdout
    assert batches(admin_cli) == []  # the dry run's stage is dropped
    done = admin_cli.invoke(app, ["kb", "import", str(source)])
    assert done.exit_code == 0, done.output
    progress = [line for line in done.stderr.splitlines() if line.startswith("отправлено")]
    assert progress == [
        "отправлено 3 из 7 статей",
        "отправлено 6 из 7 статей",
        "отправлено 7 из 7 статей",
    ]
    (batch,) = batches(admin_cli)
    assert (batch["status"], batch["added"], batch["source_name"]) == ("published", 7, "big.jsonl")
    assert f"Опубликован пакет №{batch['id']}: добавлено 7" in done.stdout
    assert exported_ids(admin_cli) == sorted(f"kb-{i}" for i in range(1, 8))


def test_refusals_of_several_chunks_in_one_report_and_nothing_published(
    admin_cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What only the server finds (here: references, with the CLI's own check switched
    off) is reported for every chunk, at the file's own lines."""
    monkeypatch.setattr(kb_cli, "resolve_references", lambda *args: None)
    data = rows(7)
    data[1]["topic"] = "Бизнесс"  # line 2, first chunk
    data[5]["agency"] = "Минздрав"  # line 6, second chunk (index 2 in it)
    source = write_jsonl(tmp_path / "refs.jsonl", data)
    result = admin_cli.invoke(app, ["kb", "import", str(source)])
    assert result.exit_code == 1
    flat = " ".join(result.stderr.split())
    assert "Ошибки (2), ничего не записано:" in flat
    assert f"{source}:2: topic: нет тематики «Бизнесс»; похожие: «Бизнес» (business)" in flat
    assert f"{source}:6: agency: нет ведомства «Минздрав»; похожие: «Минздрав ИО»" in flat
    assert "отправлено 7 из 7 статей" in result.stderr  # every chunk was checked
    assert batches(admin_cli) == [] and exported_ids(admin_cli) == []


def test_an_interrupted_import_publishes_nothing_and_says_so(
    admin_cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jsonl(tmp_path / "big.jsonl", rows(7))
    sent = EkcClient.kb_stage_append

    def second_chunk_interrupted(self: EkcClient, batch_id: int, offset: int, part: Any) -> Any:
        if offset > 0:
            raise KeyboardInterrupt
        return sent(self, batch_id, offset, part)

    monkeypatch.setattr(EkcClient, "kb_stage_append", second_chunk_interrupted)
    result = admin_cli.invoke(app, ["kb", "import", str(source)])
    assert result.exit_code != 0
    assert "импорт прерван: ничего не опубликовано (собранный пакет №" in result.stderr
    assert "удалён" in result.stderr
    assert batches(admin_cli) == [] and exported_ids(admin_cli) == []

    monkeypatch.setattr(EkcClient, "kb_stage_append", sent)
    committed = EkcClient.kb_stage_commit

    def commit_fails(self: EkcClient, batch_id: int, *, sync: bool, dry_run: bool = False) -> Any:
        if not dry_run:
            raise ServerError("сбой сервера", status_code=500, code=None)
        return committed(self, batch_id, sync=sync, dry_run=dry_run)

    monkeypatch.setattr(EkcClient, "kb_stage_commit", commit_fails)
    failed = admin_cli.invoke(app, ["kb", "import", str(source)])
    assert failed.exit_code == 1
    assert "публикация не удалась: ничего не опубликовано" in failed.stderr
    assert batches(admin_cli) == [] and exported_ids(admin_cli) == []
