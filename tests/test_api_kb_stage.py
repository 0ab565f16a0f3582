"""Staged knowledge-base imports over HTTP: a big file in chunks, published all or nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from ekc_server.models import KbImportBatch
from ekc_server.models_kb import KbImportStage
from ekc_server.routes import kb as kb_routes
from ekc_server.services import kb
from tests.test_api_kb import API, BASE, art, publish

STAGED = f"{API}/kb/imports/staged"


def open_stage(client: TestClient, admin, source: str = "big.jsonl") -> int:
    r = client.post(STAGED, headers=admin.headers, json={"source_name": source})
    assert r.status_code == 201, r.text
    assert r.json()["staged"] == 0
    batch_id: int = r.json()["batch_id"]
    return batch_id


def append(client: TestClient, admin, batch_id: int, offset: int, articles: list[Any]) -> Any:
    return client.post(
        f"{STAGED}/{batch_id}/articles",
        headers=admin.headers,
        json={"offset": offset, "articles": articles},
    )


def commit(client: TestClient, admin, batch_id: int, **body: Any) -> Any:
    return client.post(f"{STAGED}/{batch_id}/commit", headers=admin.headers, json=body)


def exported(client: TestClient, admin) -> list[str]:
    r = client.get(f"{API}/kb/export", headers=admin.headers)
    return [json.loads(line)["id"] for line in r.text.splitlines()]


def staged_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(KbImportStage)).one())


def test_chunks_are_published_by_one_commit_and_not_before(
    client: TestClient, admin, operator, engine: Engine
) -> None:
    publish(client, admin, [art("kb-old", "Старая статья")])
    batch_id = open_stage(client, admin)
    r = append(client, admin, batch_id, 0, BASE[:2])
    assert r.status_code == 200 and r.json() == {"batch_id": batch_id, "staged": 2}
    r = append(client, admin, batch_id, 2, [BASE[2], art("kb-4", "Четвёртая", topic="Медицина")])
    assert r.json()["staged"] == 4
    # nothing is published while staging: no article, no feed position, no search hit
    assert exported(client, admin) == ["kb-old"]
    feed = client.get(f"{API}/kb/changes", headers=operator.headers).json()
    assert [a["id"] for a in feed["upserts"]] == ["kb-old"]
    hits = client.get(f"{API}/kb/search", params={"q": "мусор"}, headers=operator.headers)
    assert hits.json() == []
    dry = commit(client, admin, batch_id, sync=True, dry_run=True).json()
    assert dry["dry_run"] is True and dry["batch_id"] == batch_id
    assert dry["diff"] == {
        "added": ["kb-tko", "kb-heat", "kb-doc", "kb-4"],
        "changed": [],
        "unchanged": 0,
        "removed": ["kb-old"],
    }
    assert exported(client, admin) == ["kb-old"]  # a dry run keeps the stage open ...
    done = commit(client, admin, batch_id, sync=True)  # ... for the real commit
    assert done.status_code == 200, done.text
    assert done.json()["diff"] == dry["diff"] and done.json()["dry_run"] is False
    assert exported(client, admin) == ["kb-4", "kb-doc", "kb-heat", "kb-tko"]
    feed = client.get(f"{API}/kb/changes", headers=operator.headers).json()
    # the feed has them in file order, the removal last
    assert [a["id"] for a in feed["upserts"]] == ["kb-tko", "kb-heat", "kb-doc", "kb-4"]
    assert feed["deletions"] == ["kb-old"]
    batches = client.get(f"{API}/kb/batches", headers=admin.headers).json()
    assert (batches[0]["id"], batches[0]["status"], batches[0]["added"]) == (
        batch_id,
        "published",
        4,
    )
    assert batches[0]["removed"] == 1 and batches[0]["created_by"] == admin.username
    history = client.get(f"{API}/kb/articles/kb-4/history", headers=admin.headers).json()
    assert [(v["change"], v["batch_id"], v["topic"]) for v in history] == [
        ("created", batch_id, "medicine")
    ]
    assert staged_rows(engine) == 0
    # a published batch takes no more chunks, and rolls back as any other
    assert append(client, admin, batch_id, 4, [art("kb-5", "Т")]).status_code == 409
    assert commit(client, admin, batch_id).status_code == 409
    r = client.post(f"{API}/kb/batches/{batch_id}/rollback", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert exported(client, admin) == ["kb-old"]


def test_a_refused_chunk_stages_nothing_and_names_its_articles(
    client: TestClient, admin, engine: Engine
) -> None:
    batch_id = open_stage(client, admin)
    assert append(client, admin, batch_id, 0, BASE).json()["staged"] == 3
    r = append(
        client,
        admin,
        batch_id,
        3,
        [art("kb-ok", "Т"), art("kb-heat", "Снова"), art("kb-x", "Т", topic="Бизнесс")],
    )
    assert r.status_code == 422
    problems = [(d["loc"][2:], d["msg"]) for d in r.json()["detail"]]
    assert problems[0] == ([1, "id"], "«kb-heat» уже есть в этом пакете (статья 2)")
    assert problems[1][0] == [2, "topic"]
    assert problems[1][1].startswith("нет тематики «Бизнесс»; похожие: «Бизнес» (business)")
    assert len(problems) == 2
    assert staged_rows(engine) == 3
    # a chunk lost or sent twice: the offset is not what was staged
    again = append(client, admin, batch_id, 0, [art("kb-z", "Т")])
    assert again.status_code == 409 and "с позиции 3" in again.json()["detail"]
    assert append(client, admin, batch_id, 3, [art("kb-ok", "Т")]).json()["staged"] == 4


def test_a_discarded_stage_leaves_nothing(client: TestClient, admin, engine: Engine) -> None:
    batch_id = open_stage(client, admin)
    append(client, admin, batch_id, 0, BASE)
    r = client.delete(f"{STAGED}/{batch_id}", headers=admin.headers)
    assert r.status_code == 204
    assert staged_rows(engine) == 0
    assert exported(client, admin) == []
    assert client.get(f"{API}/kb/batches", headers=admin.headers).json() == []
    assert commit(client, admin, batch_id).status_code == 404
    assert client.delete(f"{STAGED}/{batch_id}", headers=admin.headers).status_code == 404
    # an empty stage is never published
    empty = open_stage(client, admin)
    assert commit(client, admin, empty).status_code == 409
    assert exported(client, admin) == []


def test_a_stage_left_open_is_dropped_by_a_later_one(
    client: TestClient, admin, engine: Engine
) -> None:
    old = open_stage(client, admin, "interrupted.csv")
    append(client, admin, old, 0, BASE)
    fresh = open_stage(client, admin, "today.csv")
    with Session(engine) as session:  # still there: it is recent
        assert session.get(KbImportBatch, old) is not None
        batch = session.get(KbImportBatch, old)
        assert batch is not None
        batch.created_at = datetime.now(UTC) - timedelta(hours=25)
        session.add(batch)
        session.commit()
    open_stage(client, admin, "tomorrow.csv")
    with Session(engine) as session:
        assert session.get(KbImportBatch, old) is None
        assert session.get(KbImportBatch, fresh) is not None
    assert staged_rows(engine) == 0


def test_roles_and_limits(client: TestClient, admin, operator) -> None:
    r = client.post(STAGED, headers=operator.headers, json={"source_name": "x"})
    assert r.status_code == 403
    batch_id = open_stage(client, admin)
    r = append(client, operator, batch_id, 0, BASE)
    assert r.status_code == 403
    too_many = [art(f"kb-{i}", "Т") for i in range(5001)]
    r = append(client, admin, batch_id, 0, too_many)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "articles"]
    assert append(client, admin, batch_id, -1, BASE).status_code == 422


def test_a_big_batch_is_indexed_in_the_background(
    client: TestClient, admin, operator, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = client.app.state.kb_index  # type: ignore[attr-defined]
    assert index.ready.wait(30)
    monkeypatch.setattr(kb_routes, "FOLLOW_IN_BACKGROUND_ABOVE", 2)
    batch_id = open_stage(client, admin)
    append(client, admin, batch_id, 0, BASE)
    assert commit(client, admin, batch_id).status_code == 200
    assert index.wait_warm(30)  # the thread the commit started
    with Session(engine) as session:
        assert index._index.position == kb.max_seq(session) == 3
    hits = client.get(f"{API}/kb/search", params={"q": "мусор"}, headers=operator.headers)
    assert [h["id"] for h in hits.json()] == ["kb-tko"]


def test_a_commit_reads_and_writes_the_stage_a_page_at_a_time(
    client: TestClient, admin, operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 2 staged articles: the difference and what is written are those of the
    whole file (added, changed, unchanged, removed by sync), in file order across pages."""
    from ekc_server.services import kb_publish, kb_stage

    monkeypatch.setattr(kb_stage, "PAGE", 2)
    monkeypatch.setattr(kb_publish, "_BULK", 2)
    publish(client, admin, [art("kb-a", "А"), art("kb-b", "Б"), art("kb-gone", "Уйдёт")])
    before = client.get(f"{API}/kb/changes", headers=operator.headers).json()["next_since"]
    batch_id = open_stage(client, admin)
    file = [
        art("kb-new1", "Новая 1"),
        art("kb-a", "А"),  # unchanged
        art("kb-b", "Б изменена"),
        art("kb-new2", "Новая 2"),
        art("kb-new3", "Новая 3"),
    ]
    assert append(client, admin, batch_id, 0, file).json()["staged"] == 5
    expected = {
        "added": ["kb-new1", "kb-new2", "kb-new3"],
        "changed": ["kb-b"],
        "unchanged": 1,
        "removed": ["kb-gone"],
    }
    assert commit(client, admin, batch_id, sync=True, dry_run=True).json()["diff"] == expected
    done = commit(client, admin, batch_id, sync=True)
    assert done.status_code == 200, done.text
    assert done.json()["diff"] == expected
    feed = client.get(
        f"{API}/kb/changes", params={"since": before}, headers=operator.headers
    ).json()
    assert [a["id"] for a in feed["upserts"]] == ["kb-new1", "kb-b", "kb-new2", "kb-new3"]
    assert feed["deletions"] == ["kb-gone"]
    assert feed["next_since"] == before + 5  # positions without gaps
    assert exported(client, admin) == ["kb-a", "kb-b", "kb-new1", "kb-new2", "kb-new3"]
    history = client.get(f"{API}/kb/articles/kb-b/history", headers=admin.headers).json()
    assert [(v["version"], v["change"], v["batch_id"]) for v in history] == [
        (2, "updated", batch_id),
        (1, "created", history[1]["batch_id"]),
    ]
    gone = client.get(f"{API}/kb/articles/kb-gone/history", headers=admin.headers).json()
    assert (gone[0]["version"], gone[0]["change"]) == (2, "deleted")
