"""Reference data over HTTP: ETag / If-None-Match → 304, admin edits of the topic tree, gzip."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"


def _topic(client: TestClient, headers: dict[str, str], code: str) -> dict[str, Any]:
    topics = client.get(f"{API}/topics", headers=headers).json()
    return next(t for t in topics if t["code"] == code)


@pytest.mark.parametrize("path", ["/topics", "/agencies", "/offices", "/deadline-rules"])
def test_etag_and_304(client: TestClient, operator, path: str) -> None:
    r = client.get(f"{API}{path}", headers=operator.headers)
    assert r.status_code == 200, r.text
    etag = r.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert r.headers["cache-control"] == "private, no-cache"
    assert r.headers["content-type"].startswith("application/json")
    assert len(r.json()) >= 6

    again = client.get(f"{API}{path}", headers={**operator.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    listed = client.get(
        f"{API}{path}", headers={**operator.headers, "If-None-Match": f'"other", {etag}'}
    )
    assert listed.status_code == 304

    weak = client.get(f"{API}{path}", headers={**operator.headers, "If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304  # a proxy that re-compresses weakens the validator
    anything = client.get(f"{API}{path}", headers={**operator.headers, "If-None-Match": "*"})
    assert anything.status_code == 304

    stale = client.get(f"{API}{path}", headers={**operator.headers, "If-None-Match": '"old"'})
    assert stale.status_code == 200
    assert stale.json() == r.json()


def test_reference_needs_a_login(client: TestClient) -> None:
    r = client.get(f"{API}/topics")
    assert r.status_code == 401


def test_reference_content(client: TestClient, operator) -> None:
    topics = client.get(f"{API}/topics", headers=operator.headers).json()
    top = [t for t in topics if t["parent_code"] is None]
    assert len(top) >= 17
    svo = next(t for t in top if t["code"] == "svo")
    assert svo["group"] == "svo"
    assert svo["default_agency_code"] == "punkt_otbora_irkutsk"
    appointment = next(t for t in topics if t["code"] == "medicine.appointment")
    assert appointment["parent_code"] == "medicine"
    assert appointment["pos_answer_days"] == 5

    offices = client.get(f"{API}/offices", headers=operator.headers).json()
    assert {o["code"] for o in offices if o["remote"]} == {
        "mfc_bodaibo",
        "mfc_mama",
        "mfc_kirensk",
        "mfc_erbogachen",
    }

    rules = {
        r["kind"]: r for r in client.get(f"{API}/deadline-rules", headers=operator.headers).json()
    }
    assert set(rules) == {
        "consultation",
        "appeal_59fz",
        "pos_message",
        "complaint",
        "psych_help",
        "emergency",
    }
    fz = rules["appeal_59fz"]
    assert (
        fz["register_days"],
        fz["forward_days"],
        fz["answer_days"],
        fz["max_extension_days"],
    ) == (3, 7, 30, 30)

    agencies = {a["code"] for a in client.get(f"{API}/agencies", headers=operator.headers).json()}
    assert {"fssp_io", "sfr_io", "tfoms_io", "gostekhnadzor_io", "mintrud_io"} <= agencies


def test_admin_adds_a_topic_and_the_etag_changes(client: TestClient, operator, admin) -> None:
    first = client.get(f"{API}/topics", headers=operator.headers)
    etag = first.headers["etag"]

    r = client.post(
        f"{API}/topics",
        headers=admin.headers,
        json={
            "code": "svo.new_payments",
            "name": "Новые региональные выплаты",
            "parent_code": "svo",
            "default_agency_code": "minsoc_io",
            "pos_answer_days": 10,
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["code"] == "svo.new_payments"
    assert created["parent_code"] == "svo"
    assert created["group"] == "svo"  # inherited from the parent
    assert created["default_agency_code"] == "minsoc_io"
    assert created["active"] is True

    after = client.get(f"{API}/topics", headers={**operator.headers, "If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert "svo.new_payments" in {t["code"] for t in after.json()}
    assert len(after.json()) == len(first.json()) + 1


def test_admin_patches_a_topic_and_the_etag_changes(client: TestClient, admin) -> None:
    first = client.get(f"{API}/topics", headers=admin.headers)
    topic = _topic(client, admin.headers, "transport")
    r = client.patch(
        f"{API}/topics/{topic['id']}",
        headers=admin.headers,
        json={"name": "Транспорт и дороги", "active": False},
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Транспорт и дороги"
    assert r.json()["active"] is False
    assert r.json()["group"] == topic["group"]  # untouched fields stay
    after = client.get(
        f"{API}/topics", headers={**admin.headers, "If-None-Match": first.headers["etag"]}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != first.headers["etag"]


def test_patch_can_move_a_topic_and_clear_optional_fields(client: TestClient, admin) -> None:
    topic = _topic(client, admin.headers, "medicine.appointment")
    r = client.patch(
        f"{API}/topics/{topic['id']}",
        headers=admin.headers,
        json={"parent_code": "social", "pos_answer_days": None, "default_agency_code": "minsoc_io"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["parent_code"] == "social"
    assert r.json()["pos_answer_days"] is None
    assert r.json()["default_agency_code"] == "minsoc_io"
    assert _topic(client, admin.headers, "medicine.appointment")["parent_code"] == "social"


def test_operator_cannot_edit_topics(client: TestClient, operator, lead) -> None:
    for who in (operator, lead):
        r = client.post(
            f"{API}/topics",
            headers=who.headers,
            json={"code": "x_new", "name": "Новая", "group": "general"},
        )
        assert r.status_code == 403
        assert r.json()["code"] == "forbidden"
        topic = _topic(client, who.headers, "svo")
        r = client.patch(f"{API}/topics/{topic['id']}", headers=who.headers, json={"name": "X"})
        assert r.status_code == 403
    codes = {t["code"] for t in client.get(f"{API}/topics", headers=operator.headers).json()}
    assert "x_new" not in codes
    assert _topic(client, operator.headers, "svo")["name"] != "X"


def test_topic_cycle_is_409_and_changes_nothing(client: TestClient, admin) -> None:
    svo = _topic(client, admin.headers, "svo")
    before = client.get(f"{API}/topics", headers=admin.headers)
    for parent in ("svo.contract", "svo"):
        r = client.patch(
            f"{API}/topics/{svo['id']}",
            headers=admin.headers,
            json={"parent_code": parent, "name": "Переименовано"},
        )
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "conflict"
        assert r.json()["field"] == "parent_code"
        assert "сама в себя" in r.json()["detail"]
    after = client.get(f"{API}/topics", headers=admin.headers)
    assert after.json() == before.json()
    assert after.headers["etag"] == before.headers["etag"]


def test_deep_cycle_is_409(client: TestClient, admin) -> None:
    r = client.post(
        f"{API}/topics",
        headers=admin.headers,
        json={"code": "svo.contract.docs", "name": "Документы", "parent_code": "svo.contract"},
    )
    assert r.status_code == 201, r.text
    svo = _topic(client, admin.headers, "svo")
    r = client.patch(
        f"{API}/topics/{svo['id']}",
        headers=admin.headers,
        json={"parent_code": "svo.contract.docs"},
    )
    assert r.status_code == 409


BAD_TOPICS: list[tuple[dict[str, Any], int, str]] = [
    ({"code": "svo", "name": "Дубль", "group": "svo"}, 409, "code"),
    ({"code": "x.orphan", "name": "Сирота", "parent_code": "nope"}, 422, "parent_code"),
    ({"code": "x_top", "name": "Без группы"}, 422, "group"),
    (
        {"code": "x_a", "name": "А", "group": "general", "default_agency_code": "nope"},
        422,
        "default_agency_code",
    ),
    ({"code": "Bad Code", "name": "Плохой код", "group": "general"}, 422, "code"),
]


def test_bad_topic_is_refused(client: TestClient, admin) -> None:
    before = client.get(f"{API}/topics", headers=admin.headers).json()
    for body, status, field in BAD_TOPICS:
        r = client.post(f"{API}/topics", headers=admin.headers, json=body)
        assert r.status_code == status, (body, r.text)
        if status == 422:
            assert r.json()["detail"][0]["loc"] == ["body", field], body
        else:
            assert r.json()["field"] == field
    assert client.get(f"{API}/topics", headers=admin.headers).json() == before


def test_patch_unknown_topic_is_404(client: TestClient, admin) -> None:
    r = client.patch(f"{API}/topics/999999", headers=admin.headers, json={"name": "X"})
    assert r.status_code == 404
    assert "999999" in r.json()["detail"]


def test_large_responses_are_gzipped(client: TestClient, operator) -> None:
    r = client.get(f"{API}/topics", headers={**operator.headers, "Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert len(r.json()) > 100  # decoded transparently by the client
    plain = client.get(f"{API}/topics", headers={**operator.headers, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.json() == r.json()
    assert r.num_bytes_downloaded * 3 < len(plain.content)  # compressed on the wire


def test_small_responses_are_not_compressed(client: TestClient, operator) -> None:
    r = client.get(f"{API}/me", headers={**operator.headers, "Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert "content-encoding" not in r.headers
