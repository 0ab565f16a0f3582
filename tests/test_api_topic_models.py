"""The topic classifier in the backend: retrain with the hold-out gate, versions, the model
in force for `guess_topic`, and the routes (`/routing/retrain|models|guess`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from ekc_core.settings import ServerSettings
from ekc_server.models import Contact, KbArticle, Topic
from ekc_server.models_topic import TopicModelVersion
from ekc_server.services import topic_models
from ekc_server.services.topic_models import guess_topic, retrain
from tests.conftest import DATA_DIR, StaffAccount
from tests.topic_corpus import TRAIN, write_sets

#: a "worse" training set, honestly: the same texts with their topics rotated
SCRAMBLE = {"svo": "medicine", "medicine": "housing", "housing": "transport", "transport": "svo"}


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    """The shipped data folder with a small dev set and hold-out of our own."""
    folder = tmp_path / "reference-data"
    folder.mkdir()
    for entry in DATA_DIR.iterdir():
        if entry.name != "routing":
            (folder / entry.name).symlink_to(entry)
    return write_sets(folder)


@pytest.fixture
def settings(db_url: str, tmp_path: Path, reference: Path) -> ServerSettings:
    return ServerSettings(data_dir=tmp_path, database_url=db_url, reference_dir=reference)


def load_corpus(engine: Engine, labels: dict[str, str] | None = None) -> None:
    """Each training text as a KB article, and again as a written contact's text."""
    with Session(engine) as session:
        ids = {t.code: t.id for t in session.exec(select(Topic))}
        for topic, texts in TRAIN.items():
            label = (labels or {}).get(topic, topic)
            for i, text in enumerate(texts):
                session.add(
                    KbArticle(id=f"t-{topic}-{i}", title=text, body=text, topic_id=ids[label])
                )
                session.add(
                    Contact(
                        channel="email",
                        direction="in",
                        status="done",
                        text=f"Здравствуйте. {text}",
                        summary=text,
                        topic_id=ids[label],
                        queued_at=datetime.now(UTC),
                    )
                )
        session.commit()


def relabel(engine: Engine, mapping: dict[str, str]) -> None:
    with Session(engine) as session:
        ids = {t.code: t.id for t in session.exec(select(Topic))}
        for article in session.exec(select(KbArticle)):
            topic = article.id.split("-")[1]
            article.topic_id = ids[mapping[topic]]
            session.add(article)
        for contact in session.exec(select(Contact)):
            topic = next(t for t, texts in TRAIN.items() if contact.summary in texts)
            contact.topic_id = ids[mapping[topic]]
            session.add(contact)
        session.commit()


def test_training_data_holds_the_reference_names_but_they_alone_are_not_enough(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        data = topic_models.training_data(session)
    texts = {(s.text, s.topic) for s in data.samples}
    assert ("Поступление на службу по контракту, условия и порядок заключения", "svo") in texts
    assert ("Пункт отбора на военную службу по контракту (1 разряда) г. Иркутск", "svo") in texts
    assert (data.articles, data.contacts, data.learnt_topics) == (0, 0, 0)
    load_corpus(engine)
    with Session(engine) as session:
        assert topic_models.training_data(session).learnt_topics == len(TRAIN)


def test_retrain_activates_a_first_and_an_equal_model_but_not_a_worse_one(
    engine: Engine, reference: Path, admin: StaffAccount
) -> None:
    with Session(engine) as session:
        assert guess_topic(session, "нет отопления") is None  # no model yet
    load_corpus(engine)
    with Session(engine) as session:
        first = retrain(session=session, actor=admin.id, data_dir=reference)
        session.commit()
    assert first.activated and first.previous is None and first.model.version == 1
    assert first.model.articles == 32 and first.model.contacts == 64
    assert first.model.holdout is not None and first.model.holdout.n == 8
    assert first.model.holdout.group_top1 >= 0.75
    assert first.model.dev is not None and first.model.dev.n == 8
    assert first.model.created_by == "Тестовый admin"

    with Session(engine) as session:
        guess = guess_topic(session, "Батареи холодные, управляющая компания не отвечает")
    assert guess is not None
    assert (guess.topic, guess.group) == ("housing", "housing")
    assert 0.0 < guess.confidence <= 1.0 and guess.confident == (guess.confidence >= 0.0)

    with Session(engine) as session:  # the same data again: as good, so it takes over
        second = retrain(session=session, actor=None, data_dir=reference)
        session.commit()
    assert second.activated and second.previous is not None
    assert second.previous.version == 1 and "не хуже" in second.reason

    relabel(engine, SCRAMBLE)
    with Session(engine) as session:
        worse = retrain(session=session, actor=admin.id, data_dir=reference)
        session.commit()
    assert not worse.activated
    assert worse.model.holdout is not None and worse.previous is not None
    assert worse.model.holdout.group_top1 < worse.previous.holdout.group_top1  # type: ignore[union-attr]
    assert "хуже действующей версии 2" in worse.reason
    with Session(engine) as session:
        rows = session.exec(
            select(TopicModelVersion).order_by(col(TopicModelVersion.version))
        ).all()
        assert [(r.version, r.active) for r in rows] == [(1, False), (2, True), (3, False)]
        assert rows[2].reason == worse.reason
        # the model in force still answers as before
        still = guess_topic(session, "Батареи холодные, управляющая компания не отвечает")
        assert still is not None and still.topic == "housing"

        # another process activates version 3: the cache notices the new active version
        session.execute(update(TopicModelVersion).values(active=False))
        session.execute(
            update(TopicModelVersion).where(col(TopicModelVersion.version) == 3).values(active=True)
        )
        session.commit()
        moved = guess_topic(session, "Батареи холодные, управляющая компания не отвечает")
    assert moved is not None and moved.topic == SCRAMBLE["housing"]


@pytest.mark.parametrize("text", ["", "   ", "😀", "\x00\x01", "9" * 30_000, "ёЁ-—«»"])
def test_guess_never_raises_on_odd_text(engine: Engine, reference: Path, text: str) -> None:
    load_corpus(engine)
    with Session(engine) as session:
        retrain(session=session, actor=None, data_dir=reference)
        session.commit()
        guess = guess_topic(session, text)
    assert guess is None if not text.strip() else guess is not None


def test_without_labelled_sets_the_first_model_is_active_and_later_ones_are_not(
    engine: Engine, tmp_path: Path
) -> None:
    load_corpus(engine)
    with Session(engine) as session:
        first = retrain(session=session, actor=None, data_dir=tmp_path)
        session.commit()
        again = retrain(session=session, actor=None, data_dir=tmp_path)
        session.commit()
    assert first.activated and first.model.holdout is None and first.model.dev is None
    assert first.model.threshold == topic_models.DEFAULT_THRESHOLD
    assert not again.activated and "нет отложенной выборки" in again.reason


def test_routes_retrain_list_and_guess(
    client: TestClient, engine: Engine, admin: StaffAccount, lead: StaffAccount
) -> None:
    body = {"text": "не могу записаться к терапевту"}
    r = client.post("/api/v1/routing/guess", headers=lead.headers, json=body)
    assert r.status_code == 409 and "retrain" in r.json()["detail"]
    r = client.post("/api/v1/routing/retrain", headers=admin.headers)
    assert r.status_code == 409 and "не на чем учиться" in r.json()["detail"]
    assert client.get("/api/v1/routing/models", headers=admin.headers).json() == []

    load_corpus(engine)
    r = client.post("/api/v1/routing/retrain", headers=admin.headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["activated"] is True and result["model"]["version"] == 1
    assert result["model"]["holdout"]["n"] == 8 and result["model"]["size_bytes"] > 0
    models = client.get("/api/v1/routing/models", headers=admin.headers).json()
    assert [(m["version"], m["active"]) for m in models] == [(1, True)]

    r = client.post("/api/v1/routing/guess", headers=lead.headers, json=body)
    assert r.status_code == 200, r.text
    guess = r.json()
    assert guess["topic"] == "medicine" and guess["topic_name"] == "Медицина"
    assert guess["group"] == "medicine" and guess["model_version"] == 1
    assert guess["routed_to"] == ("medicine" if guess["confident"] else "general")
    assert next(t for t, _ in guess["top"]) == "medicine"
    r = client.post("/api/v1/routing/guess", headers=lead.headers, json={"text": ""})
    assert r.status_code == 422 and "text" in r.text


def test_a_written_contact_is_routed_by_its_text(
    client: TestClient, engine: Engine, admin: StaffAccount, gateway: StaffAccount
) -> None:
    load_corpus(engine)
    assert client.post("/api/v1/routing/retrain", headers=admin.headers).status_code == 200
    text = "не могу записаться к терапевту в поликлинику, трубку не берут"
    guess = client.post("/api/v1/routing/guess", headers=admin.headers, json={"text": text})
    assert guess.json()["confident"] is True, guess.text  # the wiring below is then visible
    r = client.post(
        "/api/v1/contacts",
        headers=gateway.headers,
        json={"channel": "email", "sender": "citizen@example.ru", "text": text},
    )
    assert r.status_code == 201, r.text
    contact = r.json()
    assert contact["group_code"] == "medicine"
    assert contact["route_reason"].startswith("Здравоохранение, по тексту")
    with Session(engine) as session:
        row = session.get(Contact, contact["id"])
        assert row is not None and row.routed_topic == "medicine" and row.route_source == "text"


def test_an_unreadable_model_in_force_is_gated_on_its_stored_scores(
    engine: Engine, reference: Path
) -> None:
    load_corpus(engine)
    with Session(engine) as session:
        retrain(session=session, actor=None, data_dir=reference)
        session.commit()
    with Session(engine) as session:  # saved by another code version, with perfect scores
        perfect = {"n": 8, "group_top1": 1.0, "topic_top1": 1.0, "topic_top3": 1.0}
        session.execute(
            update(TopicModelVersion).values(blob=b"not a model", scores={"holdout": perfect})
        )
        session.commit()
    relabel(engine, SCRAMBLE)
    with Session(engine) as session:
        worse = retrain(session=session, actor=None, data_dir=reference)
        session.commit()
    assert not worse.activated and "хуже действующей версии 1" in worse.reason
