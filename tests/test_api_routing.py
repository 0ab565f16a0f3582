"""The routing table over the API: the shipped file until an admin imports one, every
problem of a bad file at once with its line, versions kept (issue 14)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from ekc_core.enums import AuditAction
from ekc_server.models import AuditLog

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


def test_a_change_without_a_file_becomes_the_next_version_and_is_audited(
    client: TestClient, admin, operator, engine
) -> None:
    change = {
        "topics": {"svo.rehabilitation": "medicine", "housing": "general"},
        "overflow": [
            {"group": "svo", "steps": [{"after": 40, "to": ["general"]}, {"after": 90, "to": []}]},
            {"group": "housing", "line": "117", "steps": [{"after": 15, "to": []}]},
        ],
        "base_version": 0,
    }
    r = client.patch("/api/v1/routing", headers=admin.headers, json=change)
    assert r.status_code == 200, r.text
    table = r.json()
    assert table["version"] == 1 and table["source_name"] == "ekc-admin routing set"
    assert table["topics"]["svo.rehabilitation"] == "medicine"
    assert table["topics"]["housing.heating"] == "general"  # sub-topics follow their parent
    groups = {g["code"]: g for g in table["groups"]}
    assert groups["svo"]["overflow"] == [
        {"after": 40, "to": ["general"]},
        {"after": 90, "to": None},
    ]
    assert groups["housing"]["lines"] == {"117": [{"after": 15, "to": None}]}
    assert table["text"].startswith(
        "# Routing file written by `ekc-admin routing set` from version 0"
    )

    with Session(engine) as session:
        rows = session.exec(
            select(AuditLog).where(col(AuditLog.action) == AuditAction.change_routing.value)
        ).all()
    assert [(row.details["version"], row.details["topics"]["housing"]) for row in rows] == [
        (1, "general")
    ]

    # made against version 0 while 1 is in force: refused, nothing stored
    stale = client.patch("/api/v1/routing", headers=admin.headers, json=change)
    assert stale.status_code == 409 and "в силе версия 1" in stale.json()["detail"]

    back = {
        "topics": {"housing": None},
        "overflow": [{"group": "housing", "line": "117", "steps": None}],
    }
    r = client.patch("/api/v1/routing", headers=admin.headers, json=back)
    assert r.status_code == 200, r.text
    table = r.json()
    assert table["version"] == 2 and table["topics"]["housing.heating"] == "housing"
    assert next(g for g in table["groups"] if g["code"] == "housing")["lines"] == {}


def test_every_problem_of_a_change_names_its_field(client: TestClient, admin) -> None:
    change = {
        "topics": {"nosuch": "svo", "svo.contract": "nogroup"},
        "overflow": [
            {"group": "ghost", "steps": []},
            {"group": "svo", "steps": [{"after": 90, "to": ["x"]}, {"after": 30, "to": []}]},
        ],
    }
    r = client.patch("/api/v1/routing", headers=admin.headers, json=change)
    assert r.status_code == 422, r.text
    assert [d["msg"] for d in r.json()["detail"]] == [
        "topics.nosuch: нет тематики «nosuch»",
        "topics.svo.contract: нет группы «nogroup»",
        "overflow[0].group: нет группы «ghost»",
        "overflow[1].steps[0].to: нет группы «x»",
        "overflow[1].steps[1].after: шаги идут по возрастанию времени",
    ]
    assert client.get("/api/v1/routing", headers=admin.headers).json()["version"] == 0
    dry = client.patch(
        "/api/v1/routing",
        headers=admin.headers,
        json={"topics": {"mfc": "general"}, "dry_run": True},
    )
    assert dry.status_code == 200 and dry.json()["version"] == 1
    assert dry.json()["topics"]["mfc"] == "general" and dry.json()["created_at"] is None
    assert client.get("/api/v1/routing", headers=admin.headers).json()["version"] == 0
