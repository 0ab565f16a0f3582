"""Shared parts of the console tests: a module-wide backend and Pilot helpers.

`backend` (module scope) is the app served in-process (uvicorn in a thread, real HTTP on a
loopback port) over a copy of a session-wide SQLite file that already has the reference
data, the shipped KB articles, an operator (`op_tui`, password `PASSWORD`) and an admin
(a session token); `backend.kb_template` is a console KB index synced with it once per run,
which `settings_for(..., kb_from=backend.kb_template)` copies into a console's folder.
Use `empty_queue` (autouse it with `pytestmark`) so each test starts with nobody waiting.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from ekc_core.client import EkcClient
from ekc_core.enums import Channel, ContactStatus, Direction, Line, Role
from ekc_core.schemas import CitizenCreate, CitizenPublic, ContactInbound, ContactPublic, Handoff
from ekc_core.settings import ServerSettings
from ekc_server.app import create_app
from ekc_server.db import create_db_engine
from ekc_server.models import ApiToken, Office, Staff
from ekc_server.security import SESSION_PREFIX, hash_password, new_token, token_digest
from ekc_server.services.kb import seed_shipped
from ekc_tui.app import EkcConsole
from ekc_tui.kbsync import LocalKb
from ekc_tui.settings import ConsoleSettings
from ekc_tui.widgets import CardPanel, StatusBar
from tests.conftest import DATA_DIR
from tests.localserver import serving

PASSWORD = "oper-122-test"


@dataclass
class Backend:
    url: str
    db_url: str
    operator: str
    operator_id: int
    admin_token: str
    kb_template: Path
    """A console KB index already synced with this backend (copied into each console)."""

    def admin(self) -> EkcClient:
        return EkcClient(self.url, token=self.admin_token)


def _staff(session: Session, username: str, role: Role, password: str | None) -> tuple[int, str]:
    office = session.exec(select(Office).where(Office.code == "ekc_irkutsk")).first()
    staff = Staff(
        username=username,
        full_name=f"Оператор {username}",
        role=role.value,
        office_id=office.id if office else None,
        skills=["svo", "housing", "medicine", "general"],
        password_hash=hash_password(password) if password else None,
    )
    session.add(staff)
    session.flush()
    assert staff.id is not None
    token = new_token(SESSION_PREFIX)
    session.add(
        ApiToken(staff_id=staff.id, kind="session", name="test", token_hash=token_digest(token))
    )
    return staff.id, token


@dataclass
class ConsoleBackendTemplate:
    db: Path
    operator_id: int
    admin_token: str
    kb_template: Path


def _serve_copy(template: Path, data: Path) -> tuple[str, Any]:
    """A copy of the template database in `data` and the app over it (not started)."""
    data.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, data / "ekc.db")
    db_url = f"sqlite:///{data / 'ekc.db'}"
    settings = ServerSettings(data_dir=data, database_url=db_url, reference_dir=DATA_DIR)
    return db_url, create_app(settings)


@pytest.fixture(scope="session")
def console_backend_template(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> ConsoleBackendTemplate:
    """Once per run: the database every console test module starts from, and a console KB
    index synced with it (the articles and change-feed positions are the same in every copy)."""
    data = tmp_path_factory.mktemp("tui-template")
    db = data / "ekc.db"
    shutil.copyfile(sqlite_template, db)
    engine = create_db_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        seed_shipped(session=session, data_dir=DATA_DIR)
        operator_id, _ = _staff(session, "op_tui", Role.operator, PASSWORD)
        _, admin_token = _staff(session, "admin_tui", Role.admin, None)
        session.commit()
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    kb_template = data / "console-kb"
    _, app = _serve_copy(db, data / "sync")
    with serving(app) as url:
        kb = LocalKb(kb_template, DATA_DIR / "kb" / "synonyms.txt")
        with EkcClient(url, token=admin_token) as client:
            kb.sync(client)
        kb.close()
    return ConsoleBackendTemplate(db, operator_id, admin_token, kb_template)


@pytest.fixture(scope="module")
def backend(
    console_backend_template: ConsoleBackendTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """One backend for the module: reference data, the shipped KB, an operator, an admin;
    served in-process over its own copy of the session's template database."""
    tpl = console_backend_template
    db_url, app = _serve_copy(tpl.db, tmp_path_factory.mktemp("tui-server"))
    with serving(app) as url:
        yield Backend(url, db_url, "op_tui", tpl.operator_id, tpl.admin_token, tpl.kb_template)


@pytest.fixture
def empty_queue(backend: Backend) -> Iterator[None]:
    """Each test starts with nobody waiting and nothing held by the operator (a test's
    leftovers are abandoned or closed: a console signing in offers to reopen a contact the
    operator still holds)."""
    yield
    with backend.admin() as admin:
        for contact in admin.queue(limit=100):
            admin.abandon_contact(contact.id)
    release_held(backend)


def release_held(backend: Backend) -> None:
    """Close what the test operator still holds on the server."""
    with EkcClient(backend.url) as op:
        op.login(backend.operator, PASSWORD)
        for contact in op.my_contacts():
            op.close_contact(contact.id, "тест окончен")
        op.logout()


def record_notes(app: EkcConsole, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every message the console shows with `notify` (toasts expire and are cleared)."""
    said: list[str] = []
    show = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        said.append(str(message))
        show(message, **kwargs)

    monkeypatch.setattr(app, "notify", notify)
    return said


def settings_for(tmp_path: Path, url: str, *, kb_from: Path | None = None) -> ConsoleSettings:
    """Console settings for a test; `kb_from` seeds its KB index (saves a sync per test).

    The long poll waits 0.5 s: a console's thread workers run in the event loop's default
    executor, which the test's loop waits for when it closes, and a poll in flight is not
    cut short when the console quits (a new contact still ends a wait at once)."""
    if kb_from is not None and not (tmp_path / "console" / "kb-index").exists():
        shutil.copytree(kb_from, tmp_path / "console" / "kb-index")
    return ConsoleSettings(
        server_url=url,
        console_dir=tmp_path / "console",
        config_dir=tmp_path / "config",
        retries=0,
        connect_timeout=2.0,
        offer_wait=0.5,
        kb_sync_seconds=600,
        outbox_retry_seconds=0.5,
    )


async def wait_for(
    pilot: object, condition: Callable[[], object], timeout: float = 60.0, what: str = ""
) -> None:
    """Let the app run until `condition()` holds (workers run in threads)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            app = getattr(pilot, "app", None)
            state = ""
            if app is not None:
                texts = [str(w.render()) for w in app.screen.query("Static")][:8]
                values = [i.value for i in app.screen.query("Input")]
                state = f" (screen {app.screen!r}, texts {texts}, inputs {values})"
            raise AssertionError(f"timed out waiting for {what or condition}{state}")
        await pilot.pause(0.05)  # type: ignore[attr-defined]


def citizen_with_history(backend: Backend, phone: str, last_name: str) -> int:
    with backend.admin() as admin:
        citizen = admin.create_citizen(
            CitizenCreate(last_name=last_name, first_name="Пётр", phones=[phone])
        )
    return citizen.id


def post_call(backend: Backend, phone: str, **handoff: str) -> int:
    with backend.admin() as admin:
        contact = admin.post_contact(
            ContactInbound(
                channel="phone",
                line="122",
                caller_number=phone,
                handoff=Handoff(**handoff) if handoff else None,
            )
        )
    return contact.id


def card_text(app: EkcConsole) -> str:
    return str(app.query_one(CardPanel).render())


def status_text(app: EkcConsole) -> str:
    return str(app.query_one(StatusBar).render())


async def signed_in(app: EkcConsole, pilot: object) -> None:
    await wait_for(pilot, lambda: app.desk.me is not None and app.ref is not None, what="sign-in")
    await wait_for(pilot, lambda: app.kb_count > 0, what="KB synced")


SOME_DAY = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def citizen(
    cid: int, last: str, first: str, *phones: str, settlement: str = "Ербогачён", middle: str = ""
) -> CitizenPublic:
    """A citizen card as the backend sends it (for tests without a backend)."""
    return CitizenPublic(
        id=cid,
        last_name=last,
        first_name=first,
        middle_name=middle,
        full_name=" ".join(p for p in (last, first, middle) if p),
        phones=list(phones),
        email=None,
        settlement=settlement,
        address=None,
        consent_personal_data=True,
        consent_disclosure=False,
        merged_into_id=None,
        anonymised=False,
        version=1,
        created_at=SOME_DAY,
        updated_at=SOME_DAY,
    )


def contact(cid: int, **fields: Any) -> ContactPublic:
    """A contact as the backend sends it (for tests without a backend): an inbound call on
    line 122, queued now, nothing else known; `fields` set the rest."""
    base: dict[str, Any] = {
        "id": cid,
        "channel": Channel.phone,
        "line": Line.l122,
        "direction": Direction.inbound,
        "status": ContactStatus.queued,
        "caller_number": None,
        "sender": None,
        "citizen_id": None,
        "operator_id": None,
        "topic_code": None,
        "outcome": None,
        "summary": None,
        "text": None,
        "abandoned": False,
        "external_id": None,
        "handoff": None,
        "appeal_id": None,
        "queued_at": datetime.now(UTC),
        "answered_at": None,
        "ended_at": None,
        "wrapup_ended_at": None,
    }
    return ContactPublic(**{**base, **fields})
