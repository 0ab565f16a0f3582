"""The backend's side of the satellite-link work: an unchanged queue is a bodiless 304, the
queue lists every waiting contact, a card's save is one request, the compact KB feed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from ekc_core import kb_feed
from tests.test_api_contacts import active, queued

API = "/api/v1"
SAVE = {"topic_code": "medicine", "outcome": "consultation", "summary": "Запись к врачу"}


def test_an_unchanged_queue_is_a_bodiless_304_and_a_change_a_full_answer(
    client: TestClient, operator, gateway
) -> None:
    queued(client, gateway)
    first = client.get(f"{API}/contacts/offers", headers=operator.headers)
    version = first.json()["version"]
    assert first.headers["etag"] == f'"{version}"'
    headers = {**operator.headers, "If-None-Match": f'"{version}"'}

    same = client.get(f"{API}/contacts/offers", params={"wait": 0.3}, headers=headers)
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == f'"{version}"'

    queued(client, gateway, caller_number="8 (914) 000-12-34")
    changed = client.get(f"{API}/contacts/offers", params={"wait": 5}, headers=headers)
    assert changed.status_code == 200
    assert len(changed.json()["contacts"]) == 2
    # without the header the old answer stands: the same version comes with its body
    plain = client.get(
        f"{API}/contacts/offers",
        params={"version": changed.json()["version"], "wait": 0.2},
        headers=operator.headers,
    )
    assert plain.status_code == 200 and plain.json() == changed.json()


def test_the_queue_lists_more_than_twenty(client: TestClient, operator, gateway) -> None:
    for i in range(34):
        queued(client, gateway, caller_number=f"+7914{i:07d}")
    r = client.get(f"{API}/contacts/offers", params={"limit": 500}, headers=operator.headers)
    assert r.status_code == 200, r.text
    assert len(r.json()["contacts"]) == 34


def test_a_save_ends_and_wraps_up_in_one_request(client: TestClient, operator, gateway) -> None:
    c = active(client, gateway, operator)
    f8 = datetime.now(UTC)  # after the take (an end before it would be moved to it)
    time.sleep(1.2)
    r = client.post(
        f"{API}/contacts/{c['id']}/save",
        headers={**operator.headers, "Idempotency-Key": "save-key-00000001"},
        json={**SAVE, "ended_at": f8.isoformat()},
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done"
    assert done["topic_code"] == "medicine"
    ended = datetime.fromisoformat(done["ended_at"])
    assert abs((ended - f8).total_seconds()) < 0.5  # the desk's F8, not the arrival
    assert datetime.fromisoformat(done["wrapup_ended_at"]) >= ended

    again = client.post(
        f"{API}/contacts/{c['id']}/save",
        headers={**operator.headers, "Idempotency-Key": "save-key-00000001"},
        json={**SAVE, "ended_at": f8.isoformat()},
    )
    assert again.status_code == 200 and again.json() == done


def test_a_save_after_f8_keeps_the_end(client: TestClient, operator, gateway) -> None:
    c = active(client, gateway, operator)
    end = client.post(f"{API}/contacts/{c['id']}/end", headers=operator.headers).json()
    r = client.post(f"{API}/contacts/{c['id']}/save", headers=operator.headers, json=SAVE)
    assert r.status_code == 200, r.text
    assert r.json()["ended_at"] == end["ended_at"]


def field_of(r: Any) -> tuple[list[str], str]:
    (err,) = r.json()["detail"]
    return err["loc"], err["msg"]


def test_save_refusals_name_the_field_in_russian_and_change_nothing(
    client: TestClient, operator, gateway
) -> None:
    c = active(client, gateway, operator)
    url = f"{API}/contacts/{c['id']}/save"
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = client.post(url, headers=operator.headers, json={**SAVE, "ended_at": future})
    assert r.status_code == 422
    loc, msg = field_of(r)
    assert loc == ["body", "ended_at"] and "будущ" in msg

    r = client.post(url, headers=operator.headers, json={**SAVE, "topic_code": "no.such"})
    assert r.status_code == 422
    loc, msg = field_of(r)
    assert loc == ["body", "topic_code"] and "no.such" in msg

    r = client.post(url, headers=operator.headers, json={"outcome": "consultation"})
    assert r.status_code == 422
    assert field_of(r)[0] == ["body", "topic_code"]
    now = client.get(f"{API}/contacts/{c['id']}", headers=operator.headers).json()
    assert now["status"] == "active" and now["ended_at"] is None


def test_a_save_of_another_operator_s_contact_is_refused(
    client: TestClient, operator, lead, gateway
) -> None:
    c = active(client, gateway, lead)
    r = client.post(f"{API}/contacts/{c['id']}/save", headers=operator.headers, json=SAVE)
    assert r.status_code in (403, 409), r.text


def test_the_compact_kb_feed_carries_what_the_json_feed_does(client: TestClient, admin) -> None:
    articles = [
        {
            "id": f"kb-sat-{i}",
            "title": f"Статья {i}",
            "body": "Текст статьи " * 20,
            "tags": ["спутник"],
            "audience": None,
        }
        for i in range(3)
    ]
    r = client.post(
        f"{API}/kb/imports",
        headers=admin.headers,
        json={"source_name": "спутник", "articles": articles},
    )
    assert r.status_code < 300, r.text
    full = client.get(f"{API}/kb/changes", params={"since": 0}, headers=admin.headers).json()
    r = client.get(f"{API}/kb/feed", params={"since": 0}, headers=admin.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == kb_feed.MEDIA_TYPE
    page = kb_feed.decode(r.content)
    assert (page.since, page.next_since, page.more) == (0, full["next_since"], full["more"])
    expected = [{k: a[k] for k in kb_feed.FIELDS} for a in full["upserts"]]
    assert page.upserts == expected
