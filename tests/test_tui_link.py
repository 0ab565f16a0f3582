"""The console's side of the satellite-link work, in-process (httpx mock transports): the
link signal at the first failure, the local copy first while the link is down, the queue's
304, ETags kept across starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from ekc_core.schemas import ContactOffers
from ekc_tui.desk import Desk
from ekc_tui.settings import ConsoleSettings
from tests.test_tui_store import history
from tests.tui_support import citizen

URL = "http://ekc.test"
ME = {
    "id": 1,
    "username": "operator1",
    "full_name": "Оператор Один",
    "role": "operator",
    "office_code": None,
    "skills": [],
    "active": True,
}


class Backend:
    """Answers what the tests need; `up=False` fails every request as a lost link does."""

    def __init__(self) -> None:
        self.up = True
        self.requests: list[httpx.Request] = []
        self.offers_version = "v1"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.up:
            raise httpx.ConnectError("нет связи", request=request)
        path = request.url.path.removeprefix("/api/v1")
        if path == "/contacts/offers":
            if request.headers.get("if-none-match") == f'"{self.offers_version}"':
                return httpx.Response(304)
            return httpx.Response(200, json={"version": self.offers_version, "contacts": []})
        if path == "/topics":
            if request.headers.get("if-none-match") == '"t1"':
                return httpx.Response(304, headers={"ETag": '"t1"'})
            return httpx.Response(200, json=[], headers={"ETag": '"t1"'})
        if path == "/auth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_at": None})
        return httpx.Response(200, json=ME)

    def paths(self) -> list[str]:
        return [r.url.path.removeprefix("/api/v1") for r in self.requests]


def make_desk(tmp_path: Path, backend: Backend) -> Desk:
    settings = ConsoleSettings(
        server_url=URL,
        console_dir=tmp_path / "console",
        config_dir=tmp_path / "config",
        workstation="test",
        retries=3,
    )
    desk = Desk(settings)
    desk.transport = httpx.MockTransport(backend)
    return desk


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def desk(tmp_path: Path, backend: Backend) -> Any:
    desk = make_desk(tmp_path, backend)
    desk.sign_in(URL, "operator1", "x")
    yield desk
    desk.close()


def test_link_loss_is_signalled_at_the_first_failure_not_after_the_retries(
    desk: Desk, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ekc_core.client.time.sleep", lambda _: None)
    seen: list[tuple[bool, int]] = []
    desk.add_link_listener(lambda up: seen.append((up, len(backend.requests))))
    assert desk.online
    backend.up = False
    sent_before = len(backend.requests)
    with pytest.raises(Exception, match="нет связи"):
        desk.call(lambda c: c.me())  # a GET: retried 3 times
    assert len(backend.requests) == sent_before + 4
    assert seen[0] == (False, sent_before + 1)  # told at the first attempt's failure
    backend.up = True
    assert desk.heartbeat()
    assert seen[-1][0] is True and desk.online


def test_while_the_link_is_down_a_cached_citizen_opens_without_the_network(
    desk: Desk, backend: Backend
) -> None:
    kept = history(citizen(7, "Соколова", "Анна", "+79148000001"), open_appeals=0)
    desk.store.remember_citizen(kept.citizen, kept)
    desk.online = False
    sent = len(backend.requests)
    found, copy, cached = desk.open_citizen(7)
    assert cached and found.id == 7 and copy is not None
    assert len(backend.requests) == sent  # the local copy, at once


def test_a_failing_request_falls_back_to_the_copy_after_one_attempt(
    desk: Desk, backend: Backend
) -> None:
    kept = history(citizen(7, "Соколова", "Анна", "+79148000001"), open_appeals=0)
    desk.store.remember_citizen(kept.citizen, kept)
    backend.up = False
    sent = len(backend.requests)
    _, _, cached = desk.open_citizen(7)
    assert cached
    assert len(backend.requests) == sent + 1  # no retries with a copy to fall back on
    assert not desk.online


def test_an_unchanged_queue_comes_back_as_a_304_and_keeps_the_list(
    desk: Desk, backend: Backend
) -> None:
    first = desk.offers(None)
    again = desk.offers(first.version)
    assert again == first
    [poll] = [r for r in backend.requests if r.url.path.endswith("/offers")][-1:]
    assert poll.headers["if-none-match"] == '"v1"'
    assert poll.url.params["limit"] == "500"  # every waiting contact, not the first 20
    assert isinstance(again, ContactOffers)


def test_reference_etags_survive_a_restart(tmp_path: Path, backend: Backend) -> None:
    first = make_desk(tmp_path, backend)
    first.sign_in(URL, "operator1", "x")
    first.client.topics()  # type: ignore[union-attr]
    first.close()
    second = make_desk(tmp_path, backend)
    second.sign_in(URL, "operator1", "x")
    assert second.client is not None and second.client.topics() == []
    [request] = [r for r in backend.requests if r.url.path.endswith("/topics")][-1:]
    assert request.headers["if-none-match"] == '"t1"'  # from the store, a fresh client
    second.close()
