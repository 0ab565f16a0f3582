"""The search log, the gaps report and synonym groups over the API (in-process, both DBs)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, select

from ekc_core.kb_gaps import normalise, scrub_query
from ekc_server import kb_search
from ekc_server.app import create_app
from ekc_server.models_kb import KbSearchLog
from ekc_server.models_kb import KbSynonymGroup as SynonymRow
from kb_index.synonyms import looks_like_person_name

NOW = datetime.now(UTC)


def event(
    session: str,
    seq: int,
    query: str,
    *,
    hits: int = 0,
    opened: str | None = None,
    copied: bool = False,
    at: datetime | None = None,
) -> dict[str, object]:
    return {
        "event_id": uuid.uuid4().hex,
        "session": f"session-{session}",
        "seq": seq,
        "query": query,
        "hits": hits,
        "opened": opened,
        "copied": copied,
        "at": (at or NOW - timedelta(minutes=5)).isoformat(),
    }


def post(client, who, events):
    return client.post("/api/v1/kb/search-events", json={"events": events}, headers=who.headers)


def test_scrub_rule_strips_personal_data():
    assert scrub_query("пенсия +7 (914) 123-45-67") == "пенсия"
    assert scrub_query("снилс 123-456-789 01 перерасчет") == "снилс перерасчет"
    assert scrub_query("почта ivan@mail.ru выплата") == "почта выплата"
    assert scrub_query("ул Ленина д 5 кв 12 отопление") == "отопление"
    assert scrub_query("ЖКХ Иркутск перерасчет") == "ЖКХ перерасчет"
    assert scrub_query("112 не отвечает") == "112 не отвечает"  # short numbers stay
    assert scrub_query("Иванов Иван Иванович пенсия") is None  # mostly a name: refused
    assert scrub_query("89141234567") is None
    named = scrub_query("мария пенсия по потере кормильца", is_name=looks_like_person_name)
    assert named == "пенсия по потере кормильца"
    assert normalise("Ёлка  ЖКХ!") == "елка жкх"


def test_events_stored_once_scrubbed_and_without_people(client, operator, engine):
    events = [
        event("s1", 0, "соседи сверху затопили 89141234567"),
        event("s1", 1, "Иванов Иван Иванович"),
    ]
    first = post(client, operator, events)
    assert first.status_code == 200, first.text
    assert first.json() == {"stored": 1, "skipped": 1}
    again = post(client, operator, events)  # the outbox sends the batch again
    assert again.json() == {"stored": 0, "skipped": 2}
    with Session(engine) as session:
        rows = session.exec(select(KbSearchLog)).all()
    assert [(r.query, r.key) for r in rows] == [("соседи сверху затопили", "сосед сверху затопить")]
    columns = set(KbSearchLog.model_fields)
    assert not columns & {"staff_id", "citizen_id", "contact_id", "operator"}


def test_events_refused_with_field_names(client, operator):
    future = event("s1", 0, "пенсия", at=NOW + timedelta(hours=2))
    refused = post(client, operator, [future])
    assert refused.status_code == 422
    assert "events.0.at" in refused.text
    same = event("s1", 0, "пенсия")
    assert post(client, operator, [same, same]).status_code == 422
    naive = event("s1", 0, "пенсия")
    naive["at"] = "2026-12-01T10:00:00"
    assert post(client, operator, [naive]).status_code == 422
    assert post(client, operator, []).status_code == 422


def test_gaps_grouped_counted_with_what_was_opened_after_rephrasing(client, operator, lead):
    post(
        client,
        operator,
        [
            event("a", 0, "Соседи затопили"),
            event("a", 1, "затопление квартиры", hits=4, opened="kb-flood", copied=True),
            event("b", 0, "сосед затопил"),  # another form of the same words
            event("b", 1, "залив квартиры", hits=3),  # found, nothing opened
            event("b", 2, "затопление", hits=5, opened="kb-flood"),
            event("c", 0, "пенсеи"),
            event("d", 0, "нашел сразу", hits=2, opened="kb-x"),
        ],
    )
    report = client.get("/api/v1/kb/gaps", headers=lead.headers)
    assert report.status_code == 200, report.text
    data = report.json()
    assert data["searches"] == 7
    gaps = {g["key"]: g for g in data["gaps"]}
    flood = gaps["сосед затопить"]
    assert (flood["count"], flood["not_found"], flood["not_opened"]) == (2, 2, 0)
    assert flood["then_opened"] == [{"article_id": "kb-flood", "title": None, "count": 2}]
    assert data["gaps"][0]["key"] == "сосед затопить"  # most frequent first
    assert gaps["залив квартира"]["not_opened"] == 1
    typo = next(g for g in data["gaps"] if g["query"] == "пенсеи")
    assert (typo["count"], typo["then_opened"]) == (1, [])
    assert not any(g["query"] == "нашел сразу" for g in data["gaps"])
    assert len(data["gaps"]) == 3


def test_gaps_period_and_roles(client, operator, lead):
    old = NOW - timedelta(days=3)
    post(client, operator, [event("old", 0, "старый запрос", at=old)])
    post(client, operator, [event("new", 0, "новый запрос")])
    today = NOW.date().isoformat()
    recent = client.get("/api/v1/kb/gaps", params={"from": today}, headers=lead.headers).json()
    assert [g["query"] for g in recent["gaps"]] == ["новый запрос"]
    every = client.get("/api/v1/kb/gaps", headers=lead.headers).json()
    assert len(every["gaps"]) == 2
    backwards = client.get(
        "/api/v1/kb/gaps", params={"from": today, "to": "2020-01-01"}, headers=lead.headers
    )
    assert backwards.status_code == 422
    assert client.get("/api/v1/kb/gaps", headers=operator.headers).status_code == 403


def test_synonyms_seeded_from_the_shipped_file_then_edited(client, operator, admin):
    first = client.get("/api/v1/kb/synonyms", headers=operator.headers).json()
    assert len(first["groups"]) > 20
    assert any("коммуналка" in g["phrases"] for g in first["groups"])
    unchanged = client.get(
        "/api/v1/kb/synonyms", params={"known": first["version"]}, headers=operator.headers
    ).json()
    assert unchanged == {"version": first["version"], "unchanged": True, "groups": []}

    added = client.post(
        "/api/v1/kb/synonyms",
        json={"phrases": ["затопили", "залив", "затопление квартиры"]},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    group_id = added.json()["id"]
    assert (
        client.post(
            "/api/v1/kb/synonyms", json={"phrases": ["свет"]}, headers=admin.headers
        ).status_code
        == 422
    )
    same_words = client.post(
        "/api/v1/kb/synonyms", json={"phrases": ["Свет", "свет"]}, headers=admin.headers
    )
    assert same_words.status_code == 422
    assert "phrases" in same_words.text
    assert (
        client.post(
            "/api/v1/kb/synonyms", json={"phrases": ["a", "b"]}, headers=operator.headers
        ).status_code
        == 403
    )

    second = client.get(
        "/api/v1/kb/synonyms", params={"known": first["version"]}, headers=operator.headers
    ).json()
    assert second["version"] != first["version"]
    assert second["groups"][-1]["phrases"] == ["затопили", "залив", "затопление квартиры"]

    # a one-way rule: a caller's phrase searched also as the articles' wording
    rule = client.post(
        "/api/v1/kb/synonyms",
        json={"phrases": ["с крыши течет"], "means": ["протечка кровли", "протечка кровли"]},
        headers=admin.headers,
    )
    assert rule.status_code == 201, rule.text
    made = rule.json()
    assert (made["phrases"], made["means"]) == (["с крыши течет"], ["протечка кровли"])
    rules = client.get(
        "/api/v1/kb/synonyms", params={"rules": "true"}, headers=operator.headers
    ).json()
    assert [g["means"] for g in rules["groups"] if g["id"] == rule.json()["id"]] == [
        ["протечка кровли"]
    ]
    assert rules["version"] != second["version"]
    for body, field, message in [
        ({"phrases": ["как же"], "means": ["протечка"]}, "phrases", "во фразах звонящего"),
        ({"phrases": ["течет"], "means": ["и в"]}, "means", "в формулировке статей"),
        ({"phrases": ["течет => кровля"], "means": ["протечка"]}, "phrases.0", "запятую, #"),
        ({"phrases": ["течет"], "means": ["протечка, кровля"]}, "means.0", "запятую, #"),
    ]:
        refused = client.post("/api/v1/kb/synonyms", json=body, headers=admin.headers)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["field"] == field
        assert message in refused.json()["detail"][0]["msg"]
    client.delete(f"/api/v1/kb/synonyms/{rule.json()['id']}", headers=admin.headers)

    removed = client.delete(f"/api/v1/kb/synonyms/{group_id}", headers=admin.headers)
    assert removed.status_code == 200
    assert (
        client.delete(f"/api/v1/kb/synonyms/{group_id}", headers=admin.headers).status_code == 404
    )
    third = client.get("/api/v1/kb/synonyms", headers=operator.headers).json()
    assert third["version"] == first["version"]
    # removing every group does not bring the shipped file back
    for g in third["groups"]:
        client.delete(f"/api/v1/kb/synonyms/{g['id']}", headers=admin.headers)
    assert client.get("/api/v1/kb/synonyms", headers=operator.headers).json()["groups"] == []


def test_gaps_period_is_capped_and_filled_in(client, operator, lead):
    post(
        client,
        operator,
        [
            event("y", 0, "прошлогодний запрос", at=NOW - timedelta(days=400)),
            event("z", 0, "свежий запрос"),
            event("z", 1, "свежий", hits=2),
            event("z", 2, "свежий запрос новый", hits=1, opened="kb-a"),
            event("z", 3, "еще", hits=1, opened="kb-b"),
            event("z", 4, "еще раз", hits=1, opened="kb-a"),
        ],
    )
    report = client.get("/api/v1/kb/gaps", headers=lead.headers).json()
    days = date.fromisoformat(report["date_to"]) - date.fromisoformat(report["date_from"])
    assert days.days == 365  # 366 days ending today: the year-old search is left out
    assert report["searches"] == 5
    gaps = {g["query"]: g for g in report["gaps"]}
    assert sorted(gaps) == ["свежий", "свежий запрос"]
    first = gaps["свежий запрос"]
    # each unopened search counts each article opened later in its session once
    assert [(a["article_id"], a["count"]) for a in first["then_opened"]] == [
        ("kb-a", 1),
        ("kb-b", 1),
    ]
    assert (first["not_found"], gaps["свежий"]["not_opened"]) == (1, 1)
    too_long = client.get(
        "/api/v1/kb/gaps", params={"from": "2020-01-01", "to": "2021-06-30"}, headers=lead.headers
    )
    assert too_long.status_code == 422
    (problem,) = too_long.json()["detail"]
    assert problem["loc"] == ["query", "to"]
    assert problem["msg"] == (
        "период слишком длинный: с 01.01.2020 по 30.06.2021 — 547 дн.; "
        "не больше 366 дней: сузьте from/to"
    )
    only_from = client.get("/api/v1/kb/gaps", params={"from": "2020-01-01"}, headers=lead.headers)
    assert only_from.status_code == 422
    assert only_from.json()["detail"][0]["loc"] == ["query", "from"]
    year = client.get(
        "/api/v1/kb/gaps", params={"from": "2024-01-01", "to": "2024-12-31"}, headers=lead.headers
    )
    assert year.status_code == 200  # a leap year: 366 days


class _OldGroup(BaseModel):
    """A synonym group as a console of the release before one-way rules reads it."""

    model_config = ConfigDict(extra="forbid")
    id: int
    phrases: list[str]
    created_at: datetime


class _OldSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    unchanged: bool = False
    groups: list[_OldGroup] = []


def _found(client, who, query: str) -> list[str]:
    r = client.get("/api/v1/kb/search", params={"q": query}, headers=who.headers)
    assert r.status_code == 200, r.text
    return [h["id"] for h in r.json()]


def test_rules_for_new_consoles_old_ones_unaffected_every_worker_and_restart(
    client, settings, engine, operator, admin, monkeypatch
):
    article = {"id": "flood-1", "title": "Затопление квартиры", "body": "Акт о заливе в УК."}
    imported = client.post(
        "/api/v1/kb/imports",
        json={"source_name": "t.jsonl", "articles": [article]},
        headers=admin.headers,
    )
    assert imported.status_code == 200, imported.text
    old_before = client.get("/api/v1/kb/synonyms", headers=operator.headers).json()
    assert _found(client, operator, "хлюпает под ногами") == []
    rule = client.post(
        "/api/v1/kb/synonyms",
        json={"phrases": ["хлюпает под ногами"], "means": ["затопление квартиры"]},
        headers=admin.headers,
    )
    assert rule.status_code == 201, rule.text
    assert _found(client, operator, "хлюпает под ногами") == ["flood-1"]  # this process

    # a console of the release before: no rule, no new field, the same version as before
    old = client.get("/api/v1/kb/synonyms", headers=operator.headers).json()
    assert _OldSet.model_validate(old).version == old_before["version"]
    assert all("means" not in g for g in old["groups"])
    assert rule.json()["id"] not in [g["id"] for g in old["groups"]]
    new = client.get(
        "/api/v1/kb/synonyms", params={"rules": "true"}, headers=operator.headers
    ).json()
    assert [g["means"] for g in new["groups"] if "means" in g] == [["затопление квартиры"]]
    assert new["version"] != old["version"]
    blank = client.post(
        "/api/v1/kb/synonyms",
        json={"phrases": ["течет"], "means": ["  "]},
        headers=admin.headers,
    )
    assert blank.status_code == 422 and blank.json()["field"] == "means"

    # a rule stored by another worker reaches this one's search (checked every few seconds)
    monkeypatch.setattr(kb_search, "SYNONYMS_CHECK_SECONDS", 0.0)
    with Session(engine) as session:
        session.add(SynonymRow(phrases=["бульк в квартире"], means=["затопление"]))
        session.commit()
    assert _found(client, operator, "бульк в квартире") == ["flood-1"]

    # after a restart the rules are in the backend's search before any console syncs
    app = create_app(settings, engine=engine)
    with TestClient(app) as restarted:
        app.state.kb_index.ready.wait(30)
        assert _found(restarted, operator, "хлюпает под ногами") == ["flood-1"]
