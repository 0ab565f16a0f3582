"""Knowledge base over HTTP: import batches, diff, history, rollback, feed, export, search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from ekc_core.schemas import KbArticleIn, KbImportRequest
from ekc_core.settings import default_reference_dir
from ekc_server.app import create_app
from ekc_server.services import kb
from kb_index import Article, KbIndex

API = "/api/v1"


def art(article_id: str, title: str, body: str = "Текст статьи", **fields: Any) -> dict[str, Any]:
    return {"id": article_id, "title": title, "body": body, **fields}


BASE = [
    art(
        "kb-tko",
        "Не вывозят мусор",
        "Региональный оператор РТ-НЭО вывозит отходы.",
        topic="housing.tko",
        agency="rtneo_irkutsk",
        tags=["мусор"],
    ),
    art(
        "kb-heat",
        "Нет отопления",
        "Холодные батареи: заявка в управляющую компанию.",
        topic="housing.heating",
    ),
    art(
        "kb-doc",
        "Запись к врачу",
        "Через Госуслуги или регистратуру поликлиники.",
        topic="medicine.appointment",
        audience="citizens",
    ),
]


def publish(
    client: TestClient,
    admin,
    articles,
    *,
    sync: bool = False,
    dry_run: bool = False,
    source: str = "test.csv",
) -> dict[str, Any]:
    r = client.post(
        f"{API}/kb/imports",
        headers=admin.headers,
        json={"source_name": source, "articles": articles, "sync": sync, "dry_run": dry_run},
    )
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_dry_run_writes_nothing_then_publish_then_unchanged(client: TestClient, admin) -> None:
    dry = publish(client, admin, BASE, dry_run=True)
    assert dry["batch_id"] is None
    assert dry["diff"] == {
        "added": ["kb-tko", "kb-heat", "kb-doc"],
        "changed": [],
        "unchanged": 0,
        "removed": [],
    }
    assert client.get(f"{API}/kb/batches", headers=admin.headers).json() == []

    first = publish(client, admin, BASE)
    assert first["batch_id"] is not None and first["diff"]["added"] == dry["diff"]["added"]
    again = publish(client, admin, BASE, dry_run=True)
    assert again["diff"] == {"added": [], "changed": [], "unchanged": 3, "removed": []}
    (batch,) = client.get(f"{API}/kb/batches", headers=admin.headers).json()
    assert (batch["id"], batch["added"], batch["created_by"], batch["status"]) == (
        first["batch_id"],
        3,
        "admin",
        "published",
    )


def test_changes_get_versions_with_who_and_which_batch(client: TestClient, admin, operator) -> None:
    first = publish(client, admin, BASE)
    edited = [
        art("kb-heat", "Нет отопления зимой", "Авария на теплосети.", topic="housing.heating"),
        BASE[0],
        BASE[2],
    ]
    second = publish(client, admin, edited)
    assert second["diff"]["changed"] == ["kb-heat"] and second["diff"]["unchanged"] == 2
    history = client.get(f"{API}/kb/articles/kb-heat/history", headers=operator.headers).json()
    assert [(v["version"], v["change"], v["batch_id"], v["changed_by"]) for v in history] == [
        (2, "updated", second["batch_id"], "admin"),
        (1, "created", first["batch_id"], "admin"),
    ]
    assert history[1]["title"] == "Нет отопления"
    current = client.get(f"{API}/kb/articles/kb-heat", headers=operator.headers).json()
    assert (current["title"], current["version"]) == ("Нет отопления зимой", 2)


def test_sync_removes_and_rollback_restores(client: TestClient, admin) -> None:
    publish(client, admin, BASE)
    changed = [art("kb-tko", "Мусор не вывозят неделю", "Новый текст.", topic="housing.tko")]
    batch = publish(client, admin, changed, sync=True)
    assert batch["diff"]["removed"] == ["kb-doc", "kb-heat"]
    assert client.get(f"{API}/kb/articles/kb-doc", headers=admin.headers).status_code == 404

    r = client.post(f"{API}/kb/batches/{batch['batch_id']}/rollback", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rolled_back"
    restored = client.get(f"{API}/kb/articles/kb-doc", headers=admin.headers).json()
    assert restored["title"] == "Запись к врачу" and restored["version"] == 3
    tko = client.get(f"{API}/kb/articles/kb-tko", headers=admin.headers).json()
    assert (tko["title"], tko["agency"], tko["tags"]) == (
        "Не вывозят мусор",
        "rtneo_irkutsk",
        ["мусор"],
    )
    history = client.get(f"{API}/kb/articles/kb-doc/history", headers=admin.headers).json()
    assert [v["change"] for v in history] == ["restored", "deleted", "created"]
    twice = client.post(f"{API}/kb/batches/{batch['batch_id']}/rollback", headers=admin.headers)
    assert twice.status_code == 409


def test_rollback_of_an_article_changed_later_is_refused(client: TestClient, admin) -> None:
    first = publish(client, admin, BASE)
    publish(client, admin, [art("kb-tko", "Другой заголовок", "Другое.")])
    r = client.post(f"{API}/kb/batches/{first['batch_id']}/rollback", headers=admin.headers)
    assert r.status_code == 409
    assert "kb-tko" in r.json()["detail"]
    assert client.get(f"{API}/kb/articles/kb-tko", headers=admin.headers).json()["title"] == (
        "Другой заголовок"
    )


def test_bad_articles_name_index_and_field_and_write_nothing(client: TestClient, admin) -> None:
    bad = [
        *BASE,
        art("kb-x", "X", topic="no.such.topic", agency="nobody"),
        art("kb-tko", "Повтор"),
        art("kb-y", "Y", audience="всем"),
    ]
    r = client.post(
        f"{API}/kb/imports", headers=admin.headers, json={"source_name": "bad.csv", "articles": bad}
    )
    assert r.status_code == 422
    problems = {tuple(d["loc"]): d["msg"] for d in r.json()["detail"]}
    assert problems == {
        ("body", "articles", 3, "topic"): "нет тематики «no.such.topic»",
        ("body", "articles", 3, "agency"): "нет ведомства «nobody»",
        ("body", "articles", 4, "id"): "«kb-tko» уже есть в этом пакете (статья 1)",
        ("body", "articles", 5, "audience"): "«всем»: допустимо citizens, svo_families, "
        "pensioners, families_with_children, disabled, business, operators",
    }
    assert client.get(f"{API}/kb/batches", headers=admin.headers).json() == []
    r = client.post(
        f"{API}/kb/imports",
        headers=admin.headers,
        json={"source_name": "x", "articles": [art("bad id", "t")]},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "id"


def test_roles(client: TestClient, admin, operator, gateway) -> None:
    body = {"source_name": "x", "articles": BASE}
    assert client.post(f"{API}/kb/imports", headers=operator.headers, json=body).status_code == 403
    publish(client, admin, BASE)
    assert (
        client.get(f"{API}/kb/search", params={"q": "мусор"}, headers=gateway.headers).status_code
        == 200
    )
    assert client.get(f"{API}/kb/changes", headers=gateway.headers).status_code == 403
    assert client.get(f"{API}/kb/export", headers=operator.headers).status_code == 403


def test_change_feed_pages_and_deletions(client: TestClient, admin, operator) -> None:
    publish(client, admin, BASE)
    page = client.get(
        f"{API}/kb/changes", params={"since": 0, "limit": 2}, headers=operator.headers
    ).json()
    assert [a["id"] for a in page["upserts"]] == ["kb-tko", "kb-heat"]
    assert page["more"] is True
    rest = client.get(
        f"{API}/kb/changes", params={"since": page["next_since"]}, headers=operator.headers
    ).json()
    assert [a["id"] for a in rest["upserts"]] == ["kb-doc"] and rest["more"] is False
    publish(client, admin, [BASE[0]], sync=True)
    after = client.get(
        f"{API}/kb/changes", params={"since": rest["next_since"]}, headers=operator.headers
    ).json()
    assert (after["upserts"], sorted(after["deletions"])) == ([], ["kb-doc", "kb-heat"])


def test_feed_round_trip_into_a_local_index(
    client: TestClient, admin, operator, tmp_path: Path
) -> None:
    """What a console does: apply the feed to its own index and search it offline."""
    publish(client, admin, BASE)
    local = KbIndex(tmp_path / "local", source=lambda: [])

    def sync() -> None:
        while True:
            page = client.get(
                f"{API}/kb/changes", params={"since": local.position}, headers=operator.headers
            ).json()
            if not page["upserts"] and not page["deletions"]:
                return
            upserts = [Article.from_dict(a) for a in page["upserts"]]
            local.apply(upserts, page["deletions"], position=page["next_since"])

    sync()
    assert [h.id for h in local.search("мусор")] == ["kb-tko"]
    publish(client, admin, [art("kb-water", "Нет горячей воды", "Плановое отключение ГВС.")])
    publish(client, admin, [BASE[0], BASE[2]], sync=True)  # removes kb-heat and kb-water
    sync()
    assert local.count() == 2
    assert local.search("батареи отопление") == []
    assert (
        local.position
        == client.get(f"{API}/kb/changes", params={"since": 0}, headers=operator.headers).json()[
            "next_since"
        ]
    )
    local.close()


def test_export_and_server_search(client: TestClient, admin, operator) -> None:
    publish(client, admin, BASE)
    r = client.get(f"{API}/kb/export", headers=admin.headers)
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [a["id"] for a in lines] == ["kb-doc", "kb-heat", "kb-tko"]
    hits = client.get(f"{API}/kb/search", params={"q": "vecjh"}, headers=operator.headers)
    assert [h["id"] for h in hits.json()] == ["kb-tko"]
    publish(client, admin, [art("kb-snow", "Регистрация снегохода", "В Гостехнадзоре.")])
    hits = client.get(
        f"{API}/kb/search", params={"q": "снегох", "prefix": "true"}, headers=operator.headers
    ).json()
    assert [h["id"] for h in hits] == ["kb-snow"]  # the server index caught up by itself
    assert client.post(f"{API}/kb/reindex", headers=admin.headers).json() == {"articles": 4}


def test_similar_articles_for_a_call_transcript(client: TestClient, admin, gateway) -> None:
    publish(client, admin, BASE)
    transcript = (
        "Гражданин: у нас во дворе неделю не вывозят мусор, региональный оператор "
        "не отвечает. Ассистент: соединяю с оператором."
    )
    r = client.post(
        f"{API}/kb/similar", headers=gateway.headers, json={"text": transcript, "limit": 2}
    )
    assert r.status_code == 200, r.text
    assert r.json()[0]["id"] == "kb-tko"


def test_a_position_ahead_of_the_server_asks_for_a_reset(
    client: TestClient, admin, operator
) -> None:
    publish(client, admin, BASE)
    page = client.get(
        f"{API}/kb/changes", params={"since": 10_000}, headers=operator.headers
    ).json()
    assert (page["reset"], page["next_since"], page["more"]) == (True, 0, True)
    normal = client.get(f"{API}/kb/changes", params={"since": 0}, headers=operator.headers)
    assert normal.json()["reset"] is False


# --- issue 13: references by name; the index opened at start ---


def test_topic_and_agency_by_name_or_code_with_hints(client: TestClient, admin) -> None:
    named = [
        art(
            "kb-n1",
            "Запись",
            topic="  МЕДИЦИНА ",
            agency="Министерство здравоохранения Иркутской области",
        ),
        art("kb-n2", "Вода", topic="housing.heating", agency="минздрав ио"),
    ]
    publish(client, admin, named)
    rows = {
        a["id"]: a
        for a in map(
            json.loads, client.get(f"{API}/kb/export", headers=admin.headers).text.splitlines()
        )
    }
    assert (rows["kb-n1"]["topic"], rows["kb-n1"]["agency"]) == ("medicine", "minzdrav_io")
    assert (rows["kb-n2"]["topic"], rows["kb-n2"]["agency"]) == ("housing.heating", "minzdrav_io")
    r = client.post(
        f"{API}/kb/imports",
        headers=admin.headers,
        json={
            "source_name": "x",
            "articles": [art("kb-n3", "Т", topic="Бизнесс", agency="Минздрав")],
        },
    )
    assert r.status_code == 422
    problems = {tuple(d["loc"]): d["msg"] for d in r.json()["detail"]}
    assert problems[("body", "articles", 0, "topic")].startswith(
        "нет тематики «Бизнесс»; похожие: «Бизнес» (business)"
    )
    assert problems[("body", "articles", 0, "agency")] == (
        "нет ведомства «Минздрав»; похожие: «Минздрав ИО» (minzdrav_io)"
    )


def test_the_index_is_opened_and_caught_up_at_start_not_by_a_search(
    client: TestClient, admin, settings, engine
) -> None:
    started = client.app.state.kb_index  # type: ignore[attr-defined]
    assert started.ready.wait(30)
    assert started._index is not None and started.warm_seconds is not None
    publish(client, admin, BASE)  # the running backend's index follows (3 articles)
    # one more written straight to the database (another backend process, say) ...
    with Session(engine) as session:
        kb.import_articles(
            session=session,
            principal=None,
            request=KbImportRequest(
                source_name="elsewhere", articles=[KbArticleIn(**art("kb-late", "Поздняя"))]
            ),
        )
    # ... and a second backend on the same database and data folder catches up while starting
    with TestClient(create_app(settings, engine=engine)) as second:
        index = second.app.state.kb_index  # type: ignore[attr-defined]
        assert index.ready.wait(30)
        with Session(engine) as session:
            top = kb.max_seq(session)
        assert top == 4 and index._index.position == top  # no search was made
        assert second.get("/health").json()["status"] == "ok"


def test_every_reference_name_fits_the_import_limits(client: TestClient, admin) -> None:
    """A topic or agency may be given by its longest name (an agency's full name is 122
    characters): the wire limits hold every name of the reference data and its columns."""
    from ekc_core.reference_data import load_reference_data
    from ekc_core.schemas import KB_AGENCY_REF_MAX, KB_TOPIC_REF_MAX
    from ekc_server.models import Agency, Topic

    reference = load_reference_data(default_reference_dir())
    topics = [name for t in reference.topics for name in (t.code, t.name)]
    agencies = [name for a in reference.agencies for name in (a.code, a.name, a.short_name)]
    assert max(map(len, agencies)) > 120  # what the old limit (a code's) refused
    assert max(map(len, topics)) <= KB_TOPIC_REF_MAX
    assert max(map(len, agencies)) <= KB_AGENCY_REF_MAX
    # and every name the tables can hold
    assert Topic.__table__.c.name.type.length <= KB_TOPIC_REF_MAX  # type: ignore[attr-defined]
    assert Agency.__table__.c.name.type.length <= KB_AGENCY_REF_MAX  # type: ignore[attr-defined]
    longest = max(reference.agencies, key=lambda a: len(a.name))
    topic = max(reference.topics, key=lambda t: len(t.name))
    publish(client, admin, [art("kb-long", "Т", topic=topic.name, agency=longest.name)])
    exported = json.loads(client.get(f"{API}/kb/export", headers=admin.headers).text)
    assert (exported["topic"], exported["agency"]) == (topic.code, longest.code)
    too_long = art("kb-long2", "Т", agency="а" * (KB_AGENCY_REF_MAX + 1))
    r = client.post(
        f"{API}/kb/imports",
        headers=admin.headers,
        json={"source_name": "x", "articles": [too_long]},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "articles", 0, "agency"]


def test_a_rebuild_reads_the_articles_a_page_at_a_time_holding_no_connection(
    client: TestClient, admin, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backend's rebuild reads its articles in short sessions, a page each: between
    pages (while the index is being written) no connection of the pool is checked out."""
    from ekc_server import kb_search

    started = client.app.state.kb_index  # type: ignore[attr-defined]
    assert started.ready.wait(30)
    publish(client, admin, [art(f"kb-page-{i:02d}", f"Статья {i}") for i in range(7)])
    monkeypatch.setattr(kb_search, "PAGE", 3)
    checked_out: list[int] = []
    with Session(engine) as session:
        session.connection()  # the caller's read transaction, ended before the rebuild
        for article in started._articles(session):
            checked_out.append(engine.pool.checkedout())
            assert article.id.startswith("kb-page-")
        ids = [a.id for a in started._articles(session)]
        assert ids == [f"kb-page-{i:02d}" for i in range(7)]  # all, in id order, once
        assert started.rebuild(session) == 7
        assert not session.in_transaction()
    assert checked_out and max(checked_out) == 1  # only the caller's own session
