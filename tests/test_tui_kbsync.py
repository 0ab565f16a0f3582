"""The console's first KB sync goes through a spool on disk, not a dict of every article:
the index built from it is the backend's base, page size aside; a sync cut short leaves no
spool behind (real backend, real SQLite, real Whoosh index in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ekc_core.client import EkcClient
from ekc_core.errors import ServerUnreachableError
from ekc_tui import kbsync
from ekc_tui.kbsync import SPOOL_FILE, FirstSyncSpool, LocalKb
from tests.tui_support import Backend

DEAD = "http://127.0.0.1:9"


def test_the_spool_keeps_the_latest_text_in_the_order_first_seen(tmp_path: Path) -> None:
    spool = FirstSyncSpool(tmp_path / SPOOL_FILE)
    try:
        spool.upsert(
            [
                {"id": "a", "title": "А"},
                {"id": "b", "title": "Б", "body": "старый текст", "tags": "x, y"},
                {"id": "c", "title": "В"},
            ]
        )
        spool.upsert([{"id": "b", "title": "Б", "body": "новый текст", "tags": ["z"]}])
        spool.delete(["a", "нет такой"])
        spool.upsert([{"id": "a", "title": "А снова"}])  # back after its deletion: last
        articles = list(spool.articles())
        assert [(a.id, a.title) for a in articles] == [("b", "Б"), ("c", "В"), ("a", "А снова")]
        assert (articles[0].body, articles[0].tags) == ("новый текст", ("z",))
        assert len(spool) == 3
        with pytest.raises(KeyError):
            spool.upsert([{"title": "без id"}])  # a malformed article fails the sync
        spool.clear()
        assert len(spool) == 0
    finally:
        spool.close()
    assert not (tmp_path / SPOOL_FILE).exists()


def test_a_first_sync_over_many_pages_builds_the_backends_base(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kbsync, "PAGE", 25)  # the shipped 159 articles in 7 pages
    directory = tmp_path / "kb-index"
    kb = LocalKb(directory)
    try:
        with backend.admin() as admin:
            expected = {a.id: a.title for a in admin.kb_export()}
            result = kb.sync(admin)
        assert result.rebuilt and result.upserted == len(expected) > 100
        assert kb.index.count() == len(expected)
        assert kb.index.position == result.position > 0
        for article_id in list(expected)[::20]:
            got = kb.index.get(article_id)
            assert got is not None and got.title == expected[article_id]
        assert not (directory / SPOOL_FILE).exists()
    finally:
        kb.close()


def test_a_first_sync_cut_short_leaves_no_spool_and_an_empty_index(tmp_path: Path) -> None:
    directory = tmp_path / "kb-index"
    kb = LocalKb(directory)
    try:
        with EkcClient(DEAD) as client, pytest.raises(ServerUnreachableError):
            kb.sync(client)
        assert not (directory / SPOOL_FILE).exists()
        assert (kb.index.count(), kb.index.position) == (0, 0)
    finally:
        kb.close()
