"""The console records what operators searched for in the knowledge base (settled searches,
not keystrokes; what was opened and copied; no personal data) and sends it with the outbox:
online it reaches the backend, offline it waits in the outbox (Pilot, real backend)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session, col, select

from ekc_core.credentials import save_credentials
from ekc_server.db import create_db_engine
from ekc_server.models_kb import KbSearchLog
from ekc_tui.app import EkcConsole
from ekc_tui.kb_log import TITLE
from ekc_tui.screens import ArticleScreen
from tests.tui_support import PASSWORD, settings_for, signed_in, wait_for

pytestmark = pytest.mark.usefixtures("empty_queue")

DEAD = "http://127.0.0.1:9"
#: what the operator types first (a phone number in it), then the rephrasing
FIRST = "контрактники выплаты 89141234567"
SECOND = "военная служба по контракту"


def logged(backend) -> list[KbSearchLog]:
    engine = create_db_engine(backend.db_url)
    with Session(engine) as session:
        rows = list(session.exec(select(KbSearchLog).order_by(col(KbSearchLog.id))).all())
    engine.dispose()
    return rows


def pending_searches(app: EkcConsole) -> list[dict[str, Any]]:
    items = [i for i in app.desk.store.outbox() if i.title == TITLE]
    assert all(i.background for i in items)  # not the operator's work: not counted
    return [e for i in items for st in i.steps for e in st["body"]["events"]]


def typed(app: EkcConsole) -> str | None:
    pending = app.kb_pane.search_log.pending
    return pending.current if pending is not None else None


async def search_open_copy(app: EkcConsole, pilot) -> str:
    """Type a query, rephrase it (backspacing the first), open the top hit, copy its answer,
    clear the box; returns the article opened."""
    pane = app.kb_pane
    await pilot.press("f3", *FIRST)
    await wait_for(pilot, lambda: pane.search_log.pending is not None, what="first results")
    await wait_for(pilot, lambda: typed(app) == FIRST, what="typed")
    await pilot.press(*["backspace"] * len(FIRST), *SECOND)
    await wait_for(
        pilot,
        lambda: typed(app) == SECOND and pane.hits,
        what="rephrased results",
    )
    await pilot.pause(0.2)
    opened = pane.hits[0].id
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ArticleScreen), what="article")
    await pilot.press("ctrl+y")
    await wait_for(pilot, lambda: not isinstance(app.screen, ArticleScreen), what="copied")
    pane.clear_query()  # the question is answered: the session is sent
    return opened


async def test_searching_and_opening_reaches_the_backend(backend, tmp_path) -> None:
    before = len(logged(backend))
    settings = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(settings, login=(backend.operator, PASSWORD))
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(app, pilot)
        opened = await search_open_copy(app, pilot)
        await wait_for(pilot, lambda: len(logged(backend)) == before + 2, what="log on server")
        assert app.desk.unsent() == 0  # not counted as the operator's unsent work
    rows = logged(backend)[before:]
    # two searches, not one per keystroke; the phone number never left the console
    assert [r.query for r in rows] == ["контрактники выплаты", SECOND]
    assert rows[0].session == rows[1].session
    assert (rows[0].opened, rows[0].copied) == (None, False)
    assert (rows[1].opened, rows[1].copied) == (opened, True)
    assert rows[1].hits > 0


async def test_offline_the_searches_wait_in_the_outbox(backend, tmp_path) -> None:
    online = settings_for(tmp_path, backend.url, kb_from=backend.kb_template)
    app = EkcConsole(online, login=(backend.operator, PASSWORD))
    async with app.run_test(size=(120, 40)) as pilot:
        await signed_in(app, pilot)
        creds = app.desk.saved_login()
    assert creds is not None
    before = len(logged(backend))
    save_credentials(online.config_dir, creds.model_copy(update={"server_url": DEAD}))
    app = EkcConsole(settings_for(tmp_path, DEAD), background=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.kb_count > 0, what="local KB")
        opened = await search_open_copy(app, pilot)
        await wait_for(pilot, lambda: len(pending_searches(app)) == 2, what="outbox")
        events = pending_searches(app)
        assert "89141234567" not in json.dumps(events)
        assert [e["opened"] for e in events] == [None, opened]
    assert len(logged(backend)) == before
    # the link is back: the outbox sends them
    save_credentials(online.config_dir, creds)
    app = EkcConsole(online, background=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(logged(backend)) == before + 2, what="sent later")
        await wait_for(pilot, lambda: not pending_searches(app), what="outbox empty")


def test_keystrokes_fold_into_one_search_and_sessions_end_when_idle() -> None:
    from ekc_tui.kb_log import SESSION_GAP, SearchLog

    sent: list[list[dict[str, Any]]] = []
    now = [1000.0]
    log = SearchLog(send=lambda _s, events: sent.append(events), clock=lambda: now[0])
    typing = [("п", 20), ("пе", 20), ("пен", 9), ("пенс", 5), ("пенсеи", 0), ("пенс", 5)]
    for text, hits in [*typing, ("п", 20), ("пенсия", 7)]:
        now[0] += 0.3
        log.results(text, hits)
    now[0] += 2
    log.results("потеря кормильца", 4)  # a rephrasing: a new search
    log.cleared()  # nothing opened yet: the question is still open
    assert sent == []
    now[0] += SESSION_GAP + 1
    log.tick()
    assert [(e["query"], e["hits"], e["seq"]) for e in sent[0]] == [
        ("пенсия", 7, 0),
        ("потеря кормильца", 4, 1),
    ]
    assert len({e["session"] for e in sent[0]}) == 1
    # the next question is another session; a query of only personal data is not recorded
    log.results("Иванов Иван Иванович", 0)
    log.results("субсидия", 3)
    log.opened("kb-subsidy")
    log.cleared()
    assert [(e["query"], e["opened"]) for e in sent[1]] == [("субсидия", "kb-subsidy")]
    assert sent[1][0]["session"] != sent[0][0]["session"]


def test_a_new_query_with_the_same_first_letter_keeps_the_one_before() -> None:
    """The pane searches from the first letter: F3 and «в» (or backspacing to it) after
    «ветеринар» starts a new query; the one that found nothing is still reported."""
    from ekc_tui.kb_log import SearchLog

    sent: list[list[dict[str, Any]]] = []
    log = SearchLog(send=lambda _s, events: sent.append(events))
    for text, hits in [("в", 20), ("ве", 20), ("вет", 2), ("ветеринар", 0)]:
        log.results(text, hits)
    for text, hits in [("в", 20), ("ва", 20), ("вак", 3), ("вакцинация", 3)]:
        log.results(text, hits)  # F3 selected the query: the first key replaced it
    for text in ["вакцинаци", "вакцин", "вак", "ва", "в"]:
        log.results(text, 3)  # backspaced to the first letter
    for text, hits in [("во", 20), ("вол", 4), ("волонтер", 4)]:
        log.results(text, hits)
    log.end_session()
    assert [(e["query"], e["hits"]) for e in sent[0]] == [
        ("ветеринар", 0),
        ("вакцинация", 3),
        ("волонтер", 4),
    ]


def test_console_takes_edited_synonyms_with_the_next_sync(backend, tmp_path) -> None:
    import shutil

    from ekc_tui.kbsync import LocalKb

    directory = tmp_path / "kb-index"
    shutil.copytree(backend.kb_template, directory)
    kb = LocalKb(directory)
    with backend.admin() as admin:
        kb.sync(admin)
        assert kb.index.search("бубубу", limit=5) == []
        assert kb.index.search("дыдыды", limit=5) == []
        group = admin.kb_add_synonyms(["бубубу", "субсидия"])
        rule = admin.kb_add_synonyms(["дыдыды"], means=["пенсия"])  # a caller's word, one way
        try:
            assert kb.sync(admin).synonyms_changed  # no reindex: the same index, new groups
            found = kb.index.search("бубубу", limit=5)
            assert found
            by_rule = kb.index.search("дыдыды", limit=5)
            assert by_rule and by_rule[0].id == kb.index.search("пенсия", limit=5)[0].id
            assert not kb.sync(admin).synonyms_changed  # unchanged: one short answer
            kb.close()
            kb = LocalKb(directory)  # the next start, before any sync
            assert [h.id for h in kb.index.search("бубубу", limit=5)] == [h.id for h in found]
            assert [h.id for h in kb.index.search("дыдыды", limit=5)] == [h.id for h in by_rule]
            admin.kb_remove_synonyms(rule.id)
            assert kb.sync(admin).synonyms_changed
            assert kb.index.search("дыдыды", limit=5) == []
        finally:
            admin.kb_remove_synonyms(group.id)
            kb.close()
