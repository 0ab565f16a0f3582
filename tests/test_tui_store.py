"""The console's local store (SQLite file in tmp_path), reference resolution of outbox steps
and the outbox items a call card turns into. No backend is needed here."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ekc_core.enums import (
    AppealKind,
    CallbackResult,
    CallbackStatus,
    Channel,
    ContactOutcome,
    ContactStatus,
    Line,
)
from ekc_core.phones import mask_phone
from ekc_core.schemas import CallbackPublic, CitizenHistory, CitizenPublic, ContactPublic
from ekc_tui import store as store_module
from ekc_tui.cards import AppealDraft, CallbackDraft, Card, NewCitizen
from ekc_tui.outbox import MissingReferenceError, resolve, step
from ekc_tui.store import LocalStore
from tests.tui_support import citizen
from tests.tui_support import contact as make_contact

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
DAY = 86400.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    s = LocalStore(tmp_path / "console" / "console.db")
    yield s
    s.close()


def history(c: CitizenPublic, *, open_appeals: int) -> CitizenHistory:
    return CitizenHistory.model_validate(
        {
            "citizen": c.model_dump(),
            "open_appeals": open_appeals,
            "overdue_appeals": 0,
            "open_callbacks": 0,
            "page": {"items": [], "total": 0, "offset": 0, "limit": 50},
        }
    )


def contact(cid: int, *, citizen_id: int | None) -> ContactPublic:
    return make_contact(
        cid,
        status=ContactStatus.active,
        caller_number="+73952201122",
        citizen_id=citizen_id,
        operator_id=3,
        external_id="call-1",
        queued_at=NOW,
        answered_at=NOW,
    )


def callback_task(task_id: int, citizen_id: int) -> CallbackPublic:
    return CallbackPublic(
        id=task_id,
        citizen_id=citizen_id,
        citizen_name="Соколова Анна",
        phone="+79148000001",
        appeal_id=None,
        appeal_number=None,
        contact_id=None,
        reason="Уточнить адрес",
        due_at=NOW,
        assignee_id=None,
        group=None,
        status=CallbackStatus.open,
        attempts=0,
        last_attempt_at=None,
        result=None,
        result_note=None,
        completed_at=None,
        overdue=False,
    )


def age(store: LocalStore, table: str, column: str, row_id: int, days: float) -> None:
    """Make a row look `days` old (the clock at the data level: the store reads `time`)."""
    with sqlite3.connect(store.path) as db:
        db.execute(
            f"UPDATE {table} SET {column} = ? WHERE id = ?", (time.time() - days * DAY, row_id)
        )


# --- key/value ----------------------------------------------------------------------------


def test_kv_keeps_json_values_and_overwrites(store: LocalStore) -> None:
    assert store.get("ref:topics") is None
    assert store.get("ref:topics", []) == []
    store.put("ref:topics", [{"code": "housing.tko", "name": "Вывоз мусора"}])
    store.put("kb:position", 17)
    assert store.get("ref:topics") == [{"code": "housing.tko", "name": "Вывоз мусора"}]
    store.put("kb:position", 18)
    assert store.get("kb:position") == 18


def test_the_file_is_private_to_the_user(store: LocalStore) -> None:
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700


# --- citizens -----------------------------------------------------------------------------


def test_a_remembered_citizen_is_found_by_number_and_by_words_of_the_name(
    store: LocalStore,
) -> None:
    anna = citizen(1, "Соколова", "Анна", "+73952201122", "+79148000001")
    ivan = citizen(2, "Соколов", "Иван", "+79148000002")
    store.remember_citizen(anna, history(anna, open_appeals=2))
    store.remember_citizen(ivan, None)

    by_phone = store.find_citizens(phone="+79148000001")
    assert [c.id for c in by_phone] == [1]
    assert by_phone[0].phones_masked == [mask_phone(p) for p in anna.phones]
    assert "+79148000001" not in by_phone[0].phones_masked  # lists show numbers masked
    assert by_phone[0].open_appeals == 2
    assert by_phone[0].settlement == "Ербогачён"
    assert store.find_citizens(phone="+79148000009") == []

    assert {c.id for c in store.find_citizens(name="СОКОЛОВ")} == {1, 2}
    assert [c.id for c in store.find_citizens(name="соколова анна")] == [1]
    assert [c.id for c in store.find_citizens(name="иван сокол")] == [2]
    assert store.find_citizens(name="Петрова") == []
    assert [c.id for c in store.find_citizens(name="соколов", limit=1)] == [2]  # newest first

    cached = store.citizen(1)
    assert cached is not None
    assert cached[0] == anna
    assert cached[1] is not None and cached[1].open_appeals == 2
    assert store.citizen(3) is None


def test_remembering_again_updates_numbers_and_keeps_the_known_history(
    store: LocalStore,
) -> None:
    anna = citizen(1, "Соколова", "Анна", "+79148000001")
    store.remember_citizen(anna, history(anna, open_appeals=1))
    moved = citizen(1, "Соколова", "Анна", "+79148000077")
    store.remember_citizen(moved, None)  # e.g. seen in a list: no history this time

    assert store.find_citizens(phone="+79148000001") == []
    assert [c.id for c in store.find_citizens(phone="+79148000077")] == [1]
    cached = store.citizen(1)
    assert cached is not None
    assert cached[0].phones == ["+79148000077"]
    assert cached[1] is not None and cached[1].open_appeals == 1


def test_purge_forgets_citizens_not_opened_for_the_ttl_with_their_numbers(
    store: LocalStore,
) -> None:
    store.remember_citizen(citizen(1, "Старый", "Пётр", "+79148000001"), None)
    store.remember_citizen(citizen(2, "Новая", "Ольга", "+79148000002"), None)
    age(store, "citizens", "seen_at", 1, days=store_module.CITIZEN_TTL_DAYS + 1)

    assert store.purge_citizens() == 1
    assert store.citizen(1) is None
    assert store.find_citizens(phone="+79148000001") == []
    assert [c.id for c in store.find_citizens(name="")] == [2]
    with sqlite3.connect(store.path) as db:
        phones = db.execute("SELECT e164 FROM citizen_phones ORDER BY e164").fetchall()
    assert phones == [("+79148000002",)]
    assert store.purge_citizens() == 0


def test_purge_keeps_at_most_the_limit_most_recently_seen(store: LocalStore) -> None:
    limit = store_module.CITIZEN_LIMIT
    for cid in range(1, limit + 4):
        store.remember_citizen(citizen(cid, "Житель", f"N{cid}", f"+7914{cid:07d}"), None)
    for cid in (1, 2, 3):  # seen before the others (still within the TTL)
        age(store, "citizens", "seen_at", cid, days=1 + cid / 10)

    assert store.purge_citizens() == 3
    assert all(store.citizen(cid) is None for cid in (1, 2, 3))
    assert store.citizen(4) is not None
    assert len(store.find_citizens(name="житель", limit=limit + 10)) == limit


# --- outbox -------------------------------------------------------------------------------


def test_outbox_records_answers_per_step_and_counts_states(store: LocalStore) -> None:
    steps = [step("citizen", "/citizens", {"last_name": "Соколова"}), step("end", "/x/end")]
    a = store.enqueue(key="a", title="Входящий phone Соколова", steps=steps)
    b = store.enqueue(key="b", title="Второй", steps=[step("end", "/y/end")])
    assert a.id < b.id and a.state == "pending" and a.results == {}
    assert store.counts() == {"pending": 2}

    store.record_step(a.id, "citizen", {"id": 5, "full_name": "Соколова"})
    store.note_attempt(a.id, "нет связи с сервером")
    item = store.item("a")
    assert item is not None
    assert item.results == {"citizen": {"id": 5, "full_name": "Соколова"}}
    assert (item.state, item.attempts, item.last_error) == ("pending", 1, "нет связи с сервером")
    assert item.steps == steps

    store.record_step(a.id, "end", None)
    store.finish(a.id, state="sent")
    store.finish(b.id, state="failed", error="тематика не найдена")
    sent = store.item("a")
    assert sent is not None
    assert (sent.state, sent.attempts, sent.last_error) == ("sent", 2, None)
    assert sent.results == {"citizen": {"id": 5, "full_name": "Соколова"}, "end": None}
    assert sent.sent_at is not None and sent.sent_at >= sent.created_at
    failed = store.item("b")
    assert failed is not None
    assert (failed.state, failed.last_error, failed.sent_at) == (
        "failed",
        "тематика не найдена",
        None,
    )
    assert store.counts() == {"sent": 1, "failed": 1}
    assert store.outbox() == []
    assert [i.key for i in store.outbox(states=("pending", "failed", "sent"))] == ["a", "b"]
    assert store.item("c") is None


def test_only_failed_items_are_retried_or_discarded(store: LocalStore) -> None:
    ids = [store.enqueue(key=k, title=k, steps=[]).id for k in ("sent", "failed", "pending")]
    store.finish(ids[0], state="sent")
    store.finish(ids[1], state="failed", error="409")
    for item_id in ids:
        store.discard(item_id)
    assert store.counts() == {"sent": 1, "discarded": 1, "pending": 1}

    other = store.enqueue(key="again", title="again", steps=[]).id
    store.finish(other, state="failed", error="422")
    for item_id in [*ids, other]:
        store.retry(item_id)
    assert store.counts() == {"sent": 1, "discarded": 1, "pending": 2}
    assert [i.key for i in store.outbox()] == ["pending", "again"]


def test_a_key_is_enqueued_once(store: LocalStore) -> None:
    store.enqueue(key="k", title="t", steps=[])
    with pytest.raises(sqlite3.IntegrityError):
        store.enqueue(key="k", title="t", steps=[])
    assert store.counts() == {"pending": 1}


def test_pending_work_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "console.db"
    first = LocalStore(path)
    item = first.enqueue(key="k1", title="Карточка", steps=[step("a", "/a"), step("b", "/b")])
    first.record_step(item.id, "a", {"id": 1})
    first.close()

    again = LocalStore(path)
    try:
        (kept,) = again.outbox()
        assert (kept.key, kept.title, kept.results) == ("k1", "Карточка", {"a": {"id": 1}})
        assert [s["name"] for s in kept.steps] == ["a", "b"]
    finally:
        again.close()


def test_pending_work_survives_a_killed_process(tmp_path: Path) -> None:
    """The writer dies without closing the file (power cut, kill -9): nothing is lost."""
    path = tmp_path / "console.db"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from ekc_tui.store import LocalStore\n"
        "s = LocalStore(Path(sys.argv[1]))\n"
        "i = s.enqueue(key='k1', title='Карточка', steps=[{'name': 'a', 'path': '/a'}])\n"
        "s.record_step(i.id, 'a', {'id': 7})\n"
        "s.enqueue(key='k2', title='Вторая', steps=[])\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], check=False, timeout=60)
    assert done.returncode == -9
    store = LocalStore(path)
    try:
        assert [(i.key, i.results) for i in store.outbox()] == [
            ("k1", {"a": {"id": 7}}),
            ("k2", {}),
        ]
    finally:
        store.close()


def test_background_items_are_sent_but_not_counted_as_work(store: LocalStore) -> None:
    """Ready / away changes and the KB search log are background items: sent in order with
    the rest, never counted in «не отправлено» / «отклонено»."""
    work = store.enqueue(key="card", title="Карточка", steps=[step("a", "/a")])
    state = store.enqueue(key="s1", title="Состояние", steps=[], background=True)
    log = store.enqueue(key="kb1", title="Поиски", steps=[], background=True)
    assert (work.background, state.background, log.background) == (False, True, True)
    assert store.counts() == {"pending": 1}
    assert store.background_pending() == 2
    assert [(i.key, i.background) for i in store.outbox()] == [
        ("card", False),
        ("s1", True),
        ("kb1", True),
    ]
    kept = store.item("kb1")
    assert kept is not None and kept.background

    store.finish(state.id, state="sent")
    store.finish(log.id, state="failed", error="422")
    store.finish(work.id, state="failed", error="409")
    assert store.counts() == {"failed": 1}
    assert store.background_pending() == 0


#: the outbox table as consoles before schema version 1 made it (no `background` column,
#: no user_version; `card` and `problems` were added by those consoles on open)
OLD_OUTBOX = """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    steps TEXT NOT NULL,
    results TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    sent_at REAL
);
"""


def test_an_older_store_is_migrated_and_its_presence_keys_become_background(
    tmp_path: Path,
) -> None:
    path = tmp_path / "console.db"
    db = sqlite3.connect(path)
    db.executescript(OLD_OUTBOX)
    rows = [
        ("card-1", "Карточка", "pending"),
        ("presence-0a1b", "Состояние: away", "pending"),
        ("presence-kb-2c3d", "Поиски в базе знаний", "failed"),
        ("presencex", "Не префикс", "pending"),  # no dash: not the old prefix
    ]
    db.executemany(
        "INSERT INTO outbox(key, title, steps, state, created_at) VALUES (?, ?, '[]', ?, 1.0)",
        rows,
    )
    db.commit()
    db.close()

    store = LocalStore(path)
    try:
        assert store.counts() == {"pending": 2}
        assert store.background_pending() == 1
        items = store.outbox(states=("pending", "failed"))
        assert {i.key: i.background for i in items} == {
            "card-1": False,
            "presence-0a1b": True,
            "presence-kb-2c3d": True,
            "presencex": False,
        }
        assert all(i.card is None and i.problems == [] for i in items)  # columns added
        item = store.enqueue(key="new", title="Новая", steps=[], card={"a": 1})
        assert store.item_by_id(item.id) == item
    finally:
        store.close()
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION
    finally:
        check.close()

    # opened again: nothing is migrated twice (a card item keyed like the old prefix now
    # stays the operator's work)
    again = LocalStore(path)
    try:
        again.enqueue(key="presence-card", title="Карточка", steps=[])
        assert again.counts() == {"pending": 4}  # card-1, presencex, new, presence-card
    finally:
        again.close()


def test_purge_forgets_old_sent_items_unless_pending_work_refers_to_them(
    store: LocalStore,
) -> None:
    old_start = store.enqueue(key="start1", title="Начало", steps=[step("contact", "/c")])
    old_other = store.enqueue(key="start2", title="Начало", steps=[step("contact", "/c")])
    dropped = store.enqueue(key="dropped", title="Отменено", steps=[])
    fresh = store.enqueue(key="fresh", title="Недавнее", steps=[])
    save = store.enqueue(
        key="save1",
        title="Сохранение",
        steps=[
            step("end", "/contacts/{contact_id}/end", refs={"path:contact_id": "start1/contact.id"})
        ],
    )
    for item in (old_start, old_other, fresh):
        store.finish(item.id, state="sent")
    store.finish(dropped.id, state="failed", error="422")
    store.discard(dropped.id)
    for item in (old_start, old_other, dropped):
        age(store, "outbox", "created_at", item.id, days=30)
    for item in (old_start, old_other):
        age(store, "outbox", "sent_at", item.id, days=30)

    assert store.purge_outbox() == 2
    assert store.item("start2") is None and store.item("dropped") is None
    assert store.item("start1") is not None  # "save1" still needs its contact id
    assert store.item("fresh") is not None and store.item("save1") is not None

    store.finish(save.id, state="sent")
    assert store.purge_outbox() == 1
    assert store.item("start1") is None


# --- references between steps -------------------------------------------------------------


def test_resolve_fills_refs_from_this_item_and_from_earlier_ones(store: LocalStore) -> None:
    start = store.enqueue(key="start", title="Начало", steps=[step("contact", "/contacts/manual")])
    store.record_step(start.id, "contact", {"id": 41, "citizen": {"id": 9}})
    st = step(
        "callback",
        "/contacts/{contact_id}/callbacks/{n}",
        {"reason": "Перезвонить", "meta": {"source": "console"}},
        refs={
            "path:contact_id": "start/contact.id",
            "citizen_id": "start/contact.citizen.id",
            "meta.appeal_id": "appeal.id",
            "meta.deep.contact": "start/contact",
        },
    )
    item = store.enqueue(key="save", title="Сохранение", steps=[st])
    store.record_step(item.id, "appeal", {"id": 5, "number": "122-5"})
    reloaded = store.item("save")
    assert reloaded is not None

    path, body = resolve(store, reloaded, st)
    assert path == "/contacts/41/callbacks/{n}"  # a placeholder without a ref stays
    assert body == {
        "reason": "Перезвонить",
        "citizen_id": 9,
        "meta": {
            "source": "console",
            "appeal_id": 5,
            "deep": {"contact": {"id": 41, "citizen": {"id": 9}}},
        },
    }
    assert st["body"] == {"reason": "Перезвонить", "meta": {"source": "console"}}  # untouched


def test_resolve_without_a_body_builds_one_and_leaves_plain_steps_alone(
    store: LocalStore,
) -> None:
    item = store.enqueue(key="i", title="t", steps=[])
    store.record_step(item.id, "citizen", {"id": 3})
    loaded = store.item("i")
    assert loaded is not None
    assert resolve(store, loaded, step("x", "/x", None, refs={"citizen_id": "citizen.id"})) == (
        "/x",
        {"citizen_id": 3},
    )
    assert resolve(store, loaded, step("end", "/contacts/7/end")) == ("/contacts/7/end", None)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("appeal.id", "нет ответа на шаг «appeal»"),  # this item, step not answered yet
        ("nosuchkey/contact.id", "нет ответа на шаг «contact»"),  # unknown item
        ("start/appeal.id", "нет ответа на шаг «appeal»"),  # known item, other step
        ("start/contact.number", "нет поля «number»"),  # answered without that field
        ("start/end.id", "нет поля «id»"),  # answered with no body at all
    ],
)
def test_a_missing_answer_is_a_missing_reference(store: LocalStore, ref: str, message: str) -> None:
    start = store.enqueue(key="start", title="Начало", steps=[])
    store.record_step(start.id, "contact", {"id": 41})
    store.record_step(start.id, "end", None)
    item = store.enqueue(key="save", title="Сохранение", steps=[])
    with pytest.raises(MissingReferenceError, match=message):
        resolve(store, item, step("wrapup", "/w", {}, refs={"x": ref}))


# --- call cards as outbox items -----------------------------------------------------------


def names(steps: list[dict[str, Any]]) -> list[str]:
    return [s["name"] for s in steps]


def test_an_offered_call_with_a_known_citizen_needs_no_references() -> None:
    card = Card.offered(contact(7, citizen_id=12))
    card.topic_code = "housing.tko"
    card.outcome = ContactOutcome.appeal_registered
    card.summary = "Не вывозят мусор третий день"
    card.appeal = AppealDraft(kind=AppealKind.appeal_59fz, summary="Не вывозят мусор")
    card.callback_request = CallbackDraft(due_at=NOW + timedelta(days=1), reason="Сообщить номер")
    assert card.problems() == []

    saved_at = NOW + timedelta(minutes=7)
    steps = card.save_steps(saved_at)
    assert names(steps) == ["appeal", "callback", "wrapup"]  # end and wrap-up: one request
    appeal, callback, wrapup = steps
    # F9 was pressed at `saved_at`, and without F8 the end is then too
    assert {s["occurred_at"] for s in steps} == {"2025-03-14T09:37:00+00:00"}
    assert appeal["path"] == "/appeals" and appeal["refs"] == {}
    assert appeal["body"] == {
        "citizen_id": 12,
        "kind": "appeal_59fz",
        "topic_code": "housing.tko",
        "summary": "Не вывозят мусор",
        "description": "Не вывозят мусор третий день",
        "complex": False,
        "contact_id": 7,
    }
    assert callback["body"] == {
        "citizen_id": 12,
        "reason": "Сообщить номер",
        "due_at": "2025-03-15T09:30:00+00:00",
        "contact_id": 7,
    }
    assert callback["refs"] == {"appeal_id": "appeal.id"}
    assert wrapup["path"] == "/contacts/7/save"
    assert wrapup["body"] == {
        "citizen_id": 12,
        "topic_code": "housing.tko",
        "outcome": "appeal_registered",
        "summary": "Не вывозят мусор третий день",
        "ended_at": "2025-03-14T09:37:00Z",
    }
    assert wrapup["refs"] == {"appeal_id": "appeal.id"}
    assert all(s["method"] == "POST" for s in steps)


def test_an_offered_call_from_a_new_citizen_creates_the_citizen_first() -> None:
    card = Card.offered(contact(7, citizen_id=None))
    card.new_citizen = NewCitizen(
        last_name="Соколова", first_name="Анна", phone="+73952201122", consent_personal_data=True
    )
    card.topic_code, card.outcome = "housing.tko", ContactOutcome.consultation
    card.end_now()
    assert card.ended_at is not None
    ended = card.ended_at
    [end] = card.end_steps()  # F8: its own item, at the time F8 was pressed
    assert end["occurred_at"] == ended.isoformat()
    card.end_sent = True  # the end went as its own item when the call ended
    card.end_now()  # a second F8 (or F9 after it) does not move the end
    assert card.ended_at == ended

    steps = card.save_steps(ended + timedelta(seconds=40))
    assert [s["occurred_at"] for s in steps] == [(ended + timedelta(seconds=40)).isoformat()] * 2
    assert names(steps) == ["citizen", "wrapup"]
    assert steps[0]["body"] == {
        "last_name": "Соколова",
        "first_name": "Анна",
        "middle_name": "",
        "consent_personal_data": True,
        "phones": ["+73952201122"],
    }
    assert steps[1]["refs"] == {"citizen_id": "citizen.id"}
    assert "citizen_id" not in steps[1]["body"]
    assert "ended_at" not in steps[1]["body"]  # F8 went on its own: the save does not end
    assert card.title() == "Входящий: Телефон Соколова Анна"


def test_a_manual_card_refers_to_its_start_item_everywhere(store: LocalStore) -> None:
    card = Card(key="save", direction="in", channel=Channel.phone, line=Line.l122)
    card.number = "+79148000001"
    card.start_item = "start"
    start_steps = card.manual_start_steps(NOW)
    assert start_steps == [
        step(
            "contact",
            "/contacts/manual",
            {
                "channel": "phone",
                "started_at": "2025-03-14T09:30:00+00:00",
                "line": "122",
                "caller_number": "+79148000001",
            },
            occurred_at=NOW,
        )
    ]
    assert start_steps[0]["occurred_at"] == "2025-03-14T09:30:00+00:00"
    assert card.problems() == ["тематика", "результат"]
    card.new_citizen = NewCitizen(last_name="Петров", phone="+79148000001")
    card.topic_code, card.outcome = "housing.tko", ContactOutcome.appeal_registered
    card.appeal = AppealDraft(kind=AppealKind.complaint, summary="", agency_code="min_housing")
    card.callback_request = CallbackDraft(due_at=NOW, reason="")
    card.summary = "Жалоба на управляющую компанию"

    steps = card.save_steps()
    assert names(steps) == ["citizen", "appeal", "callback", "wrapup"]
    by_name = {s["name"]: s for s in steps}
    assert by_name["appeal"]["refs"] == {
        "citizen_id": "citizen.id",
        "contact_id": "start/contact.id",
    }
    assert by_name["appeal"]["body"]["agency_code"] == "min_housing"
    assert by_name["appeal"]["body"]["summary"] == "Жалоба на управляющую компанию"
    assert by_name["callback"]["body"]["reason"] == "Перезвонить гражданину"
    assert by_name["wrapup"]["path"] == "/contacts/{contact_id}/save"
    assert by_name["wrapup"]["refs"]["path:contact_id"] == "start/contact.id"

    # with the answers the server would give, every step resolves to a concrete request
    start = store.enqueue(key="start", title="Начало", steps=start_steps)
    store.record_step(start.id, "contact", {"id": 41})
    save = store.enqueue(key="save", title=card.title(), steps=steps)
    store.record_step(save.id, "citizen", {"id": 5})
    store.record_step(save.id, "appeal", {"id": 9})
    loaded = store.item("save")
    assert loaded is not None
    resolved = {s["name"]: resolve(store, loaded, s) for s in steps[2:]}
    assert resolved["callback"][1]["citizen_id"] == 5
    assert resolved["callback"][1]["contact_id"] == 41
    assert resolved["callback"][1]["appeal_id"] == 9
    assert resolved["wrapup"] == (
        "/contacts/41/save",
        {
            "topic_code": "housing.tko",
            "outcome": "appeal_registered",
            "summary": "Жалоба на управляющую компанию",
            "ended_at": by_name["wrapup"]["occurred_at"].replace("+00:00", "Z"),  # F9, no F8
            "citizen_id": 5,
            "appeal_id": 9,
        },
    )


def test_an_outgoing_callback_records_the_attempt_and_wraps_up() -> None:
    task = callback_task(31, citizen_id=12)
    card = Card.for_callback(task, key="save", start_item="start", started_at=NOW)
    assert card.outbound_start_steps() == [
        step(
            "contact",
            "/contacts/outbound",
            {"citizen_id": 12, "phone": "+79148000001", "callback_id": 31},
            occurred_at=NOW,
        )
    ]
    card.topic_code, card.outcome = "housing.tko", ContactOutcome.consultation
    assert card.problems() == ["итог перезвона"]
    card.callback_result = CallbackResult.reached
    card.summary = "Адрес уточнён"
    assert card.problems() == []

    steps = card.save_steps()
    assert names(steps) == ["attempt", "wrapup"]
    assert steps[0]["path"] == "/callbacks/31/attempts"
    assert steps[0]["body"] == {"result": "reached", "note": "Адрес уточнён"}
    assert steps[1]["path"] == "/contacts/{contact_id}/save"
    assert steps[1]["refs"] == {"path:contact_id": "start/contact.id"}
    assert steps[1]["body"]["citizen_id"] == 12
    assert card.title() == "Исходящий: Телефон Соколова Анна"


def test_appeals_and_callbacks_need_a_citizen() -> None:
    card = Card(key="k", direction="in", channel=Channel.email, start_item="s")
    card.topic_code, card.outcome = "housing.tko", ContactOutcome.callback_needed
    card.appeal = AppealDraft(kind=AppealKind.appeal_59fz, summary="x")
    card.callback_request = CallbackDraft(due_at=NOW, reason="x")
    assert card.problems() == ["гражданин (для обращения)", "гражданин (для перезвона)"]
    card.citizen_id = 4
    assert card.problems() == []


def test_offline_name_search_takes_percent_and_underscore_literally(tmp_path):
    store = LocalStore(tmp_path / "console.db")
    for cid, last in ((1, "Иванов"), (2, "Ива_нов")):
        store.remember_citizen(citizen(cid, last, "Пётр"), None)
    assert [c.id for c in store.find_citizens(name="ива_")] == [2]
    assert store.find_citizens(name="%") == []
    assert {c.id for c in store.find_citizens(name="пётр")} == {1, 2}
    store.close()
