"""The console's outbox against the real backend (served in-process, SQLite or PostgreSQL;
the outage: `ekc-server run` in a subprocess): a sender killed mid-way, an outage, items the
server refuses.

What an operator saves goes to `console.db` first and reaches the server exactly once:
nothing lost, nothing duplicated, whatever happens to the console or the link.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select

from ekc_core.client import EkcClient
from ekc_core.credentials import Credentials, save_credentials
from ekc_core.enums import AppealKind, Channel, ContactOutcome, ContactStatus, Line, Role
from ekc_server.models import Appeal, CallbackTask, Citizen, Contact, Topic
from ekc_tui.cards import AppealDraft, CallbackDraft, Card, NewCitizen
from ekc_tui.desk import Desk, OfflineError
from ekc_tui.outbox import new_key
from ekc_tui.settings import ConsoleSettings
from ekc_tui.store import LocalStore
from tests.conftest import MakeStaff
from tests.localserver import free_port, stop

PASSWORD = "смена-122-пароль"
TOPIC = "housing.tko"
CARDS = 30
LAST_NAMES = ["Соколова", "Петров", "Иванова", "Кузнецов", "Попова", "Васильев", "Морозова"]


# --- the operator's work ------------------------------------------------------------------


def phone_of(n: int) -> str:
    return f"+7914{3000000 + n:07d}"


@dataclass
class Saved:
    """One manual card the console stored: the caller and the key of its save item."""

    phone: str
    full_name: str
    save_key: str


def save_manual_card(store: LocalStore, n: int, *, topic: str = TOPIC) -> Saved:
    """What the console enqueues for a call taken on a desk phone from an unknown caller:
    a new citizen, an appeal (59-FZ), a callback to tell them its number, the wrap-up."""
    phone = phone_of(n)
    card = Card(key=new_key(), direction="in", channel=Channel.phone, line=Line.l122, number=phone)
    card.start_item = new_key()
    store.enqueue(
        key=card.start_item,
        title="Начало: звонок",
        steps=card.manual_start_steps(datetime.now(UTC) - timedelta(minutes=3)),
    )
    card.new_citizen = NewCitizen(
        last_name=LAST_NAMES[n % len(LAST_NAMES)],
        first_name="Анна" if n % 2 else "Иван",
        middle_name=f"Тестовна{n}",
        phone=phone,
        settlement="Ербогачён",
        consent_personal_data=True,
    )
    card.topic_code = topic
    card.outcome = ContactOutcome.appeal_registered
    card.summary = f"Не вывозят мусор с площадки, звонок {n}"
    card.appeal = AppealDraft(kind=AppealKind.appeal_59fz, summary="Не вывозят мусор")
    card.callback_request = CallbackDraft(
        due_at=datetime.now(UTC) + timedelta(days=1), reason="Сообщить номер обращения"
    )
    assert card.problems() == []
    store.enqueue(key=card.key, title=card.title(), steps=card.save_steps())
    return Saved(phone, card.new_citizen.full_name, card.key)


def console_settings(tmp_path: Path, url: str, **extra: Any) -> ConsoleSettings:
    return ConsoleSettings(
        console_dir=tmp_path / "console", config_dir=tmp_path / "config", server_url=url, **extra
    )


def signed_in_desk(
    tmp_path: Path, url: str, make_staff: MakeStaff, username: str, **extra: Any
) -> Desk:
    """An operator signs in the console with a password; the login is saved for `ekc`."""
    make_staff(Role.operator, username=username, password=PASSWORD)
    desk = Desk(console_settings(tmp_path, url, **extra))
    me = desk.sign_in(url, username, PASSWORD)
    assert (me.username, me.role) == (username, Role.operator)
    return desk


def every_item(store: LocalStore) -> list[Any]:
    return store.outbox(states=("pending", "sent", "failed", "discarded"))


def answered(db: sqlite3.Connection) -> int:
    """Step answers recorded so far: the sender's progress, as the file shows it (counted
    by SQLite, so that watching costs the machine little while the sender works)."""
    row = db.execute(
        "SELECT coalesce(sum((SELECT count(*) FROM json_each(results))), 0) FROM outbox"
    ).fetchone()
    return int(row[0])


# --- the server's side --------------------------------------------------------------------


def count(engine: Engine, model: type[SQLModel]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def assert_on_server(
    url: str, admin_token: str, engine: Engine, saved: list[Saved], *, topic: str = TOPIC
) -> None:
    """Each card exactly once: one citizen per number, one appeal, one open callback and one
    contact, done with the topic and outcome; and no extra rows anywhere (a start sent twice
    would leave an orphan contact, a citizen sent twice a second card)."""
    with EkcClient(url, token=admin_token) as admin:
        citizen_of: dict[str, int] = {}
        for s in saved:
            found = admin.find_citizens(phone=s.phone)
            assert [c.full_name for c in found] == [s.full_name], s.phone
            citizen_of[s.phone] = found[0].id
        appeals = admin.appeals(limit=200).items
        callbacks = admin.callbacks(scope="all")
        history = admin.history(citizen_of[saved[0].phone])  # one card end to end
    ids = set(citizen_of.values())
    assert sorted(a.citizen_id for a in appeals) == sorted(ids)
    assert {(a.topic_code, a.kind) for a in appeals} == {(topic, AppealKind.appeal_59fz)}
    appeal_of = {a.citizen_id: a for a in appeals}
    assert sorted(c.citizen_id for c in callbacks) == sorted(ids)
    assert all(c.appeal_id == appeal_of[c.citizen_id].id for c in callbacks)
    assert (history.open_appeals, history.open_callbacks) == (1, 1)
    assert [i.kind for i in history.page.items].count("contact") == 1

    with Session(engine) as session:
        rows = session.exec(
            select(Contact, Topic.code).join(Topic, col(Contact.topic_id) == Topic.id)
        ).all()
        contacts = {c.caller_number: (c, code) for c, code in rows}
        assert len(rows) == len(contacts) == len(saved)
        for s in saved:
            contact, code = contacts[s.phone]
            assert (contact.status, contact.outcome, code) == (
                ContactStatus.done.value,
                ContactOutcome.appeal_registered.value,
                topic,
            )
            assert contact.citizen_id == citizen_of[s.phone]
            assert contact.appeal_id == appeal_of[contact.citizen_id].id
            assert appeal_of[contact.citizen_id].contact_id == contact.id
    n = len(saved)
    assert [count(engine, m) for m in (Citizen, Contact, Appeal, CallbackTask)] == [n, n, n, n]


# --- 1. the sender is killed again and again ----------------------------------------------


@dataclass
class Kill:
    answered: int
    counts: dict[str, int]
    interrupted_items: int
    """Items with some steps answered and some not."""


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def run_and_kill(
    command: list[str],
    env: dict[str, str],
    store: LocalStore,
    db: sqlite3.Connection,
    *,
    delay: float,
    steps: int,
) -> Kill | int:
    """Start the sender and SIGKILL it once it has got going: `delay` seconds later, or
    sooner when `steps` more answers are in (so a fast machine is interrupted mid-way too).
    Returns what it left, or its exit code when it ended before the kill."""
    before = answered(db)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: answered(db) > before or proc.poll() is not None)
        deadline = time.monotonic() + delay
        while proc.poll() is None and time.monotonic() < deadline and answered(db) < before + steps:
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
    if proc.returncode != -signal.SIGKILL:
        return proc.returncode
    items = every_item(store)
    return Kill(
        answered=answered(db),
        counts=store.counts(),
        interrupted_items=sum(
            1 for i in items if i.state == "pending" and 0 < len(i.results) < len(i.steps)
        ),
    )


def test_a_sender_killed_mid_way_loses_nothing_and_duplicates_nothing(
    live_server: str, make_staff: MakeStaff, engine: Engine, tmp_path: Path
) -> None:
    admin = make_staff(Role.admin, username="admin")
    desk = signed_in_desk(tmp_path, live_server, make_staff, "oper1")
    saved = [save_manual_card(desk.store, n) for n in range(CARDS)]
    path = desk.store.path
    desk.close()  # the console is gone; `ekc --send-outbox` sends with the saved login

    command = [sys.executable, "-m", "ekc_tui", "--send-outbox", "--console-dir", str(path.parent)]
    env = {**os.environ, "EKC_CONFIG_DIR": str(tmp_path / "config")}
    env.pop("EKC_SERVER_URL", None)
    rng = random.Random(122)
    store, db = LocalStore(path), sqlite3.connect(path)
    try:
        assert store.counts() == {"pending": 2 * CARDS}
        total_steps = sum(len(i.steps) for i in every_item(store))
        kills: list[Kill] = []
        for _ in range(10):
            left = total_steps - answered(db)
            kill = run_and_kill(
                command,
                env,
                store,
                db,
                delay=rng.uniform(0.05, 0.6),
                steps=rng.randint(1, max(1, left // 3)),
            )
            if kill == 0:
                break  # it sent everything before the kill: nothing more to interrupt
            if isinstance(kill, Kill):
                kills.append(kill)
            if len(kills) == 3:
                break
        # a crash really happened in the middle of the work: some sent, some not yet
        assert any(0 < k.answered < total_steps and k.counts.get("pending") for k in kills), kills

        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert "осталось: 0" in done.stdout
        assert store.counts() == {"sent": 2 * CARDS}
        for item in every_item(store):
            assert set(item.results) == {s["name"] for s in item.steps}, item
            assert item.last_error is None
    finally:
        db.close()
        store.close()
    assert_on_server(live_server, admin.token, engine, saved)


# --- 2. an outage: the backend is down, the console goes on, the backend comes up ---------


@contextmanager
def backend_on(port: int, db_url: str, data_dir: Path) -> Iterator[str]:
    """`ekc-server run` on a port chosen beforehand: the console knows the server's address
    while it is still down (`running_server` picks its own port when it starts)."""
    data_dir.mkdir(exist_ok=True)
    env = {**os.environ, "EKC_DATABASE_URL": db_url, "EKC_DATA_DIR": str(data_dir)}
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "ekc_server.cli", "run", "--host", "127.0.0.1"]
    with (data_dir / "server.log").open("a") as log:
        proc = subprocess.Popen(
            [*command, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:

            def healthy() -> bool:
                assert proc.poll() is None, (data_dir / "server.log").read_text()
                try:
                    return httpx.get(url + "/health", timeout=1).status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(healthy, timeout=60)
            yield url
        finally:
            stop(proc)


@pytest.mark.integration
@pytest.mark.client_side
def test_work_saved_during_an_outage_is_sent_once_when_the_backend_is_up(
    db_url: str, make_staff: MakeStaff, engine: Engine, tmp_path: Path
) -> None:
    """The console starts with its saved login while the backend is down, keeps the work,
    sends it once the backend is up, and reads from its memory when the link drops again."""
    admin = make_staff(Role.admin, username="admin")
    operator = make_staff(Role.operator, username="oper2")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    save_credentials(
        tmp_path / "config", Credentials(server_url=url, username="oper2", token=operator.token)
    )
    # no retries with backoff inside a request: each offline call fails at once
    desk = Desk(console_settings(tmp_path, url, retries=0))
    try:
        creds = desk.saved_login()
        assert creds is not None
        assert desk.resume(creds) and not desk.online  # starts offline with the saved login

        saved = [save_manual_card(desk.store, n) for n in range(8)]
        first = desk.flush()
        assert (first.offline, first.sent, first.failed, first.auth_needed) == (
            True,
            0,
            0,
            False,
        )
        assert desk.flush().offline and not desk.online
        pending = desk.store.outbox()
        assert len(pending) == 16 and desk.unsent() == 16
        assert pending[0].attempts == 2 and "нет связи" in (pending[0].last_error or "")
        assert pending[0].results == {}
        assert all(i.attempts == 0 for i in pending[1:])  # the queue stops at the first
        with pytest.raises(OfflineError):
            desk.open_citizen(1)  # never opened: nothing to show
        assert desk.find_citizens(saved[0].phone) == ([], True)

        with backend_on(port, db_url, tmp_path / "server"):
            back = desk.flush()
            assert (back.offline, back.sent, back.failed, back.errors) == (False, 16, 0, [])
            assert desk.online and desk.unsent() == 0
            assert desk.store.counts() == {"sent": 16}
            assert desk.flush().sent == 0
            assert_on_server(url, admin.token, engine, saved)

            item = desk.store.item(saved[0].save_key)
            assert item is not None
            citizen_id = item.results["citizen"]["id"]
            citizen, history, cached = desk.open_citizen(citizen_id)
            assert not cached and history is not None
            contact_ids = [i.contact.id for i in history.page.items if i.contact]
            assert len(contact_ids) == 1

        # the link drops again: what was opened is read from the console's memory
        again, cached_history, cached = desk.open_citizen(citizen_id)
        assert cached and not desk.online
        assert again == citizen and cached_history is not None
        assert [i.contact.id for i in cached_history.page.items if i.contact] == contact_ids
        phone = saved[0].phone
        typed = f"8 ({phone[2:5]}) {phone[5:8]}-{phone[8:10]}-{phone[10:]}"
        found, cached = desk.find_citizens(typed)
        assert cached and [c.id for c in found] == [citizen_id]
        assert found[0].open_appeals == 1 and phone not in found[0].phones_masked
        found, cached = desk.find_citizens(saved[0].full_name.split()[0].upper())
        assert cached and [c.id for c in found] == [citizen_id]
        with pytest.raises(OfflineError):
            desk.open_citizen(citizen_id + 1000)
    finally:
        desk.close()


# --- 3. the server refuses an item --------------------------------------------------------


@pytest.mark.client_side
def test_a_refused_item_is_kept_with_the_reason_and_later_work_still_goes(
    live_server: str, make_staff: MakeStaff, engine: Engine, tmp_path: Path
) -> None:
    admin = make_staff(Role.admin, username="admin")
    desk = signed_in_desk(tmp_path, live_server, make_staff, "oper3")
    try:
        refused = save_manual_card(desk.store, 1, topic="housing.new_kind")  # not in the tree
        # a start the server refuses (a call without its line), and the card that needs it
        orphan = Card(key=new_key(), direction="in", channel=Channel.phone, start_item=new_key())
        assert orphan.start_item is not None
        desk.store.enqueue(
            key=orphan.start_item,
            title="Начало без линии",
            steps=orphan.manual_start_steps(datetime.now(UTC)),
        )
        orphan.topic_code, orphan.outcome = TOPIC, ContactOutcome.consultation
        desk.store.enqueue(key=orphan.key, title="Без линии", steps=orphan.save_steps())
        fine = save_manual_card(desk.store, 2)

        result = desk.flush()
        assert (result.sent, result.failed, result.offline) == (3, 3, False)
        assert desk.failed() == 3 and desk.unsent() == 0
        failed = {i.key: i for i in desk.store.outbox(states=("failed",))}
        assert set(failed) == {refused.save_key, orphan.start_item, orphan.key}
        # the server said why: the unknown topic, at the appeal (the citizen went before it)
        bad = failed[refused.save_key]
        assert "неизвестная тематика «housing.new_kind»" in (bad.last_error or "")
        assert set(bad.results) == {"citizen"}
        assert "укажите линию" in (failed[orphan.start_item].last_error or "")
        assert "нет ответа на шаг «contact»" in (failed[orphan.key].last_error or "")
        assert any(
            e.startswith("Входящий: Телефон ") and "housing.new_kind" in e for e in result.errors
        )
        sent_item = desk.store.item(fine.save_key)
        assert sent_item is not None and sent_item.state == "sent"

        # an admin adds the topic; the operator puts the card back in the queue
        with EkcClient(live_server, token=admin.token) as client:
            client.request(
                "POST",
                "/topics",
                json_body={
                    "code": "housing.new_kind",
                    "name": "Новая тема",
                    "parent_code": "housing",
                },
            )
        desk.store.retry(bad.id)
        assert desk.unsent() == 1
        again = desk.flush()
        assert (again.sent, again.failed) == (1, 0)
        retried = desk.store.item(refused.save_key)
        assert retried is not None
        assert (retried.state, retried.attempts) == ("sent", 2)
        assert set(retried.results) == {"citizen", "appeal", "callback", "wrapup"}
        # the citizen answered before the refusal was not created a second time
        assert retried.results["citizen"] == bad.results["citizen"]

        # the orphans cannot be fixed: retried they fail again, discarded they stay listed
        desk.store.retry(failed[orphan.start_item].id)
        assert desk.flush().failed == 1
        for key in (orphan.start_item, orphan.key):
            desk.store.discard(failed[key].id)
        assert desk.store.counts() == {"sent": 4, "discarded": 2}
        assert desk.flush().sent == 0
    finally:
        desk.close()

    with EkcClient(live_server, token=admin.token) as client:
        for s, topic in ((refused, "housing.new_kind"), (fine, TOPIC)):
            (found,) = client.find_citizens(phone=s.phone)
            history = client.history(found.id)
            (contact,) = [i.contact for i in history.page.items if i.contact]
            assert (contact.status, contact.topic_code) == (ContactStatus.done, topic)
    # the refused start created nothing; the two good cards, once each
    assert [count(engine, m) for m in (Citizen, Contact, Appeal, CallbackTask)] == [2, 2, 2, 2]
