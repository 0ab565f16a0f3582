"""What the console sends is a record the centre can trust (issue 10, points 1 and 2),
on the console's side: writes carry the time the operator did them, however late they are
sent; a refused card can be corrected or given up (its contact is closed); a take whose
answer is lost is asked again and opens the card; a contact left held is offered back.

The times and the correction logic are checked on the outbox alone (an httpx
MockTransport stands in for the server); the rest against the real backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ekc_core.client import EkcClient
from ekc_core.enums import AppealKind, Channel, ContactOutcome, Line
from ekc_core.settings import ClientSettings
from ekc_tui import correction
from ekc_tui.cards import AppealDraft, Card, NewCitizen
from ekc_tui.desk import Desk
from ekc_tui.outbox import flush, new_key, step
from ekc_tui.store import LocalStore
from tests.tui_support import (
    PASSWORD,
    Backend,
    citizen_with_history,
    settings_for,
)

NOW = datetime(2026, 12, 2, 15, 37, 45, tzinfo=UTC)
TOPIC = "housing.tko"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    s = LocalStore(tmp_path / "console.db")
    yield s
    s.close()


class Server:
    """A stand-in backend: records every request, answers from `answer` (or is away)."""

    def __init__(self) -> None:
        self.up = True
        self.requests: list[httpx.Request] = []
        self.answer: dict[str, httpx.Response] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("link down", request=request)
        self.requests.append(request)
        for suffix, response in self.answer.items():
            if request.url.path.endswith(suffix):
                return response
        return httpx.Response(200, json={"id": 41, "number": "122-2026-000001"})

    def client(self, retries: int = 0) -> EkcClient:
        return EkcClient(
            "http://ekc.test",
            token="t",
            settings=ClientSettings(retries=retries),
            transport=httpx.MockTransport(self),
        )

    def headers(self, path_end: str) -> list[tuple[str | None, str | None]]:
        return [
            (r.headers.get("X-Occurred-At"), r.headers.get("X-Sent-At"))
            for r in self.requests
            if r.url.path.endswith(path_end)
        ]


def offered_card(**extra: Any) -> Card:
    from tests.test_tui_store import contact

    card = Card.offered(contact(7, citizen_id=12))
    card.topic_code, card.outcome = TOPIC, ContactOutcome.consultation
    card.summary = "Объяснил порядок"
    for name, value in extra.items():
        setattr(card, name, value)
    return card


# --- 1. true times ------------------------------------------------------------------------


def test_items_sent_after_an_outage_carry_the_time_of_the_work(store: LocalStore) -> None:
    """F8 and F9 half an hour before the link came back: the headers say when the operator
    pressed them; `X-Sent-At` says when each request left."""
    server = Server()
    f8 = datetime.now(UTC) - timedelta(minutes=30)
    f9 = f8 + timedelta(seconds=40)
    card = offered_card(ended_at=f8)
    store.enqueue(key=new_key(), title="Конец", steps=card.end_steps())
    card.end_sent = True
    store.enqueue(key=card.key, title=card.title(), steps=card.save_steps(f9))
    # an item stored by a console before steps carried their time: its creation time
    legacy = store.enqueue(
        key=new_key(),
        title="Старое",
        steps=[{"name": "end", "method": "POST", "path": "/contacts/8/end", "refs": {}}],
    )

    server.up = False
    with server.client() as client:
        assert flush(client, store).offline
        assert store.counts() == {"pending": 3}
        server.up = True
        before = datetime.now(UTC)
        result = flush(client, store)
    assert (result.sent, result.failed) == (3, 0)

    [(occurred, sent)] = server.headers("/contacts/7/end")
    assert occurred == f8.isoformat()
    assert sent is not None and datetime.fromisoformat(sent) >= before
    [(occurred, _)] = server.headers("/contacts/7/save")
    assert occurred == f9.isoformat()
    [(occurred, _)] = server.headers("/contacts/8/end")
    assert occurred == datetime.fromtimestamp(legacy.created_at, UTC).isoformat()


def test_x_sent_at_is_stamped_on_each_attempt(store: LocalStore) -> None:
    """The client retries a safe write after a lost connection: each attempt says when it
    left, so the server's correction of the desk clock does not count the wait."""
    attempts: list[httpx.Request] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, json={})

    client = EkcClient(
        "http://ekc.test", settings=ClientSettings(retries=1), transport=httpx.MockTransport(flaky)
    )
    with client:
        client.write_at("POST", "/contacts/7/end", occurred_at=NOW, idempotency_key="k-end")
    first, second = attempts
    assert first.headers["X-Occurred-At"] == second.headers["X-Occurred-At"] == NOW.isoformat()
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "k-end"
    sent = [datetime.fromisoformat(a.headers["X-Sent-At"]) for a in attempts]
    assert sent[0] < sent[1]  # the client waits (backoff) between the two attempts
    assert "X-Sent-At" not in client._http.build_request("GET", "/me").headers


def test_a_restored_draft_keeps_the_wall_clock_of_start_and_end() -> None:
    card = offered_card(started_at=NOW)
    card.end_now()
    assert card.ended_at is not None
    again = Card.load(card.dump())
    assert (again.started_at, again.ended_at) == (NOW, card.ended_at)
    assert again.end_steps()[0]["occurred_at"] == card.ended_at.isoformat()


# --- 2. a refused item: corrected or given up ----------------------------------------------


def manual_card_refused(store: LocalStore, server: Server) -> tuple[Card, int]:
    """A manual card whose start the server took (contact 41) and whose save it refused at
    the appeal, after creating the citizen (id 41 too, from the stand-in)."""
    card = Card(key=new_key(), direction="in", channel=Channel.phone, line=Line.l122)
    card.start_item = new_key()
    store.enqueue(key=card.start_item, title="Начало", steps=card.start_steps(), card=card.dump())
    card.new_citizen = NewCitizen(last_name="Жукова", phone="+79145550123")
    card.topic_code, card.outcome = "housing.gone", ContactOutcome.appeal_registered
    card.appeal = AppealDraft(kind=AppealKind.appeal_59fz, summary="Не вывозят мусор")
    card.end_now()
    save = correction.enqueue_save(store, card, NOW)
    server.answer["/appeals"] = httpx.Response(
        422,
        json={
            "detail": [{"loc": ["body", "topic_code"], "msg": "неизвестная тематика", "type": "x"}],
            "code": "validation_error",
        },
    )
    with server.client() as client:
        result = flush(client, store)
    assert (result.sent, result.failed) == (1, 1)
    return card, save.id


def test_a_corrected_card_replaces_the_refused_item_and_reuses_what_the_server_took(
    store: LocalStore,
) -> None:
    server = Server()
    card, refused_id = manual_card_refused(store, server)
    refused = store.item_by_id(refused_id)
    assert refused is not None and refused.state == "failed"
    assert refused.problems == [
        {"step": "appeal", "field": "topic_code", "message": "неизвестная тематика"}
    ]

    again = correction.reopen(store, refused)
    assert again is not None and again.key != card.key
    assert again.server_problems == {"topic": "неизвестная тематика"}
    assert correction.remarks(again) == {"topic": "тематика: неизвестная тематика"}
    assert again.new_citizen == card.new_citizen and again.appeal == card.appeal
    again.topic_code = TOPIC
    again.fix("topic")
    later = NOW + timedelta(minutes=5)
    item = correction.enqueue_save(store, again, later)

    assert store.item_by_id(refused_id).state == "discarded"  # type: ignore[union-attr]
    # the citizen the server created before refusing is reused, not created again
    assert item.results == {"citizen": {"id": 41, "number": "122-2026-000001"}}
    server.answer.clear()
    server.requests.clear()
    with server.client() as client:
        assert flush(client, store).sent == 1
    paths = [r.url.path.removeprefix("/api/v1") for r in server.requests]
    assert paths == ["/appeals", "/contacts/41/save"]  # same contact; end + wrap-up in one
    # the end keeps the time of F8 (before the first save), the rest the new F9
    [save] = [r for r in server.requests if r.url.path.endswith("/save")]
    assert datetime.fromisoformat(json.loads(save.content)["ended_at"]) == card.ended_at
    assert server.headers("/appeals")[0][0] == later.isoformat()


def test_a_refused_start_is_sent_again_with_the_corrected_card(store: LocalStore) -> None:
    server = Server()
    card = Card(key=new_key(), direction="in", channel=Channel.phone, line=Line.l122)
    card.started_at = NOW
    card.start_item = new_key()
    store.enqueue(key=card.start_item, title="Начало", steps=card.start_steps(), card=card.dump())
    card.end_now()
    card.end_item = new_key()
    card.end_sent = True
    store.enqueue(key=card.end_item, title="Конец", steps=card.end_steps(), card=card.dump())
    card.topic_code, card.outcome = TOPIC, ContactOutcome.consultation
    correction.enqueue_save(store, card, NOW + timedelta(minutes=1))
    server.answer["/contacts/manual"] = httpx.Response(422, json={"detail": "линия закрыта"})
    with server.client() as client:
        assert flush(client, store).failed == 3  # the start, and the two that need it
    start = store.item(card.start_item)
    assert start is not None

    again = correction.reopen(store, start)
    assert again is not None and len(again.replaces) == 3
    server.answer.clear()
    correction.enqueue_save(store, again, NOW + timedelta(minutes=2))
    assert store.counts() == {"discarded": 3, "pending": 2}
    with server.client() as client:
        assert flush(client, store).sent == 2
    starts = [r for r in server.requests if r.url.path.endswith("/contacts/manual")]
    assert starts[-1].headers["X-Occurred-At"] == NOW.isoformat()  # the original start
    # the end goes with the save now, at the time of F8
    [save] = [r for r in server.requests if r.url.path.endswith("/contacts/41/save")]
    assert datetime.fromisoformat(json.loads(save.content)["ended_at"]) == card.ended_at


def test_giving_up_discards_the_card_s_items_and_closes_its_contact(store: LocalStore) -> None:
    server = Server()
    _, refused_id = manual_card_refused(store, server)
    refused = store.item_by_id(refused_id)
    assert refused is not None
    closing = correction.give_up(store, refused)
    assert closing is not None
    assert store.item_by_id(refused_id).state == "discarded"  # type: ignore[union-attr]
    [close] = closing.steps
    assert close["path"] == "/contacts/41/close" and close["done_on_conflict"]
    assert "отказался" in close["body"]["reason"] and "тематика" in close["body"]["reason"]
    # closed meanwhile (by the server, a lead): 409 means there is nothing left to do
    server.answer["/close"] = httpx.Response(409, json={"detail": "уже закрыт"})
    with server.client() as client:
        assert flush(client, store).sent == 1
    assert store.counts() == {"sent": 2, "discarded": 1}
    # what the operator typed stays in the console
    kept = store.item_by_id(refused_id)
    assert kept is not None and kept.card is not None
    assert kept.card["new_citizen"]["last_name"] == "Жукова"


@pytest.mark.parametrize(
    "refused",
    [step("contact", "/contacts/manual", {}), step("close", "/contacts/9/close", {"reason": "x"})],
    ids=["a start", "a close"],
)
def test_giving_up_a_refused_start_or_close_closes_nothing(
    store: LocalStore, refused: dict[str, Any]
) -> None:
    item = store.enqueue(key=new_key(), title="Запись", steps=[refused])
    store.finish(item.id, state="failed", error="отклонено")
    failed = store.item_by_id(item.id)
    assert failed is not None
    assert correction.give_up(store, failed) is None
    assert store.counts() == {"discarded": 1}


# --- 1 against the real backend ------------------------------------------------------------


def test_the_backend_stores_the_times_of_the_work_not_of_the_sending(
    backend: Backend, tmp_path: Path
) -> None:
    """A manual card worked half an hour ago and sent now: the contact's answer, end and
    wrap-up times and the appeal's registration (the 59-FZ clock) are those of the work."""
    citizen_id = citizen_with_history(backend, "+79025550931", "Временная")
    desk = Desk(settings_for(tmp_path, backend.url))
    try:
        desk.sign_in(backend.url, backend.operator, PASSWORD)
        now = datetime.now(UTC)
        card = Card(key=new_key(), direction="in", channel=Channel.phone, line=Line.l122)
        card.started_at = now - timedelta(minutes=30)
        card.citizen_id = citizen_id
        card.start_item = new_key()
        desk.enqueue(card.start_item, "Начало", card.start_steps(), card.dump())
        card.ended_at = now - timedelta(minutes=25)
        card.ended = card.clock()
        card.topic_code, card.outcome = TOPIC, ContactOutcome.appeal_registered
        card.appeal = AppealDraft(kind=AppealKind.appeal_59fz, summary="Не вывозят мусор")
        correction.enqueue_save(desk.store, card, now - timedelta(minutes=24))
        result = desk.flush()
        assert (result.sent, result.failed) == (2, 0), result.errors
        start = desk.store.item(card.start_item)
        assert start is not None
        contact_id = start.results["contact"]["id"]
    finally:
        desk.close()
    with backend.admin() as admin:
        contact = admin.contact(contact_id)
        assert contact.appeal_id is not None
        appeal = admin.appeal(contact.appeal_id)

    def near(value: datetime | None, expected: datetime) -> bool:
        return value is not None and abs(value - expected) < timedelta(seconds=5)

    assert near(contact.answered_at, now - timedelta(minutes=30))
    assert near(contact.ended_at, now - timedelta(minutes=25))
    assert near(contact.wrapup_ended_at, now - timedelta(minutes=24))
    assert near(appeal.registered_at, now - timedelta(minutes=24))
    assert near(appeal.received_at, now - timedelta(minutes=24))
