"""The routing table over the API: the shipped file until an admin imports one, every
problem of a bad file at once with its line, versions kept (issue 14)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

SHIPPED = (
    Path(__file__).resolve().parent.parent / "data" / "reference" / "routing.yaml"
).read_text(encoding="utf-8")


def test_the_shipped_table_is_in_force_until_an_import(client: TestClient, operator) -> None:
    r = client.get("/api/v1/routing", headers=operator.headers)
    assert r.status_code == 200, r.text
    table = r.json()
    assert table["version"] == 0 and table["general"] == "general"
    svo = next(g for g in table["groups"] if g["code"] == "svo")
    assert svo["overflow"] == [{"after": 60, "to": ["general"]}, {"after": 180, "to": None}]
    assert table["topics"]["svo.contract"] == "svo"
    assert client.get("/api/v1/routing/versions", headers=operator.headers).json() == []


def test_an_import_is_checked_whole_and_kept_as_a_version(
    client: TestClient, admin, operator
) -> None:
    bad = SHIPPED.replace("to: [general]}", "to: [generl]}", 1).replace(
        "general: general", "general: nobody"
    )
    r = client.post(
        "/api/v1/routing", headers=admin.headers, json={"text": bad, "source_name": "new.yaml"}
    )
    assert r.status_code == 422, r.text
    messages = [d["msg"] for d in r.json()["detail"]]
    assert messages[0].startswith("new.yaml:6: general: нет группы «nobody»")
    assert any("to: нет группы «generl»" in m for m in messages)
    assert client.get("/api/v1/routing", headers=admin.headers).json()["version"] == 0

    faster = SHIPPED.replace("{after: 60, to: [general]}", "{after: 45, to: [general]}", 1)
    body = {"text": faster, "source_name": "faster.yaml"}
    dry = client.post("/api/v1/routing", headers=admin.headers, json={**body, "dry_run": True})
    assert dry.status_code == 200 and dry.json()["version"] == 1
    assert client.get("/api/v1/routing", headers=admin.headers).json()["version"] == 0

    stored = client.post("/api/v1/routing", headers=admin.headers, json=body)
    assert stored.status_code == 200, stored.text
    assert stored.json()["version"] == 1 and stored.json()["created_by"]
    now = client.get("/api/v1/routing", headers=operator.headers).json()
    assert now["version"] == 1 and now["text"] == faster
    assert next(g for g in now["groups"] if g["code"] == "svo")["overflow"][0]["after"] == 45
    versions = client.get("/api/v1/routing/versions", headers=operator.headers).json()
    assert [(v["version"], v["source_name"]) for v in versions] == [(1, "faster.yaml")]
    shipped = client.get("/api/v1/routing", params={"version": 0}, headers=operator.headers)
    assert shipped.json()["text"] == SHIPPED
    missing = client.get("/api/v1/routing", params={"version": 7}, headers=operator.headers)
    assert missing.status_code == 404


def test_operators_cannot_import(client: TestClient, operator) -> None:
    r = client.post(
        "/api/v1/routing", headers=operator.headers, json={"text": SHIPPED, "source_name": "x"}
    )
    assert r.status_code == 403
