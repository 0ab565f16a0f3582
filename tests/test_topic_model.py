"""The headless topic classifier (`topic_model`) on a small in-test corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.topic_corpus import DEV, HOLDOUT, TRAIN, write_sets
from topic_model import Sample, TopicModel, evaluate, labelled_texts, read_labelled, train
from topic_model.data import (
    LabelledFileError,
    article_samples,
    read_rules,
    reference_samples,
)
from topic_model.evaluate import MostFrequent, PlainTfidf
from topic_model.model import calibrate, choose_threshold, rule_samples

GROUPS = {"svo": "svo", "medicine": "medicine", "housing": "housing", "transport": "transport"}


def group_of(topic: str) -> str:
    return GROUPS.get(topic.split(".")[0], "general")


def samples() -> list[Sample]:
    return [Sample(t, topic) for topic, texts in TRAIN.items() for t in texts]


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return train(samples(), shares={"svo": 45, "medicine": 15, "housing": 14, "transport": 2})


def test_learns_topics_and_routes_new_texts_to_their_group(model: TopicModel) -> None:
    assert sorted(model.topics) == sorted(TRAIN)
    guess = model.guess("муж ушёл на СВО по контракту, положена ли выплата", group_of)
    assert (guess.topic, guess.group) == ("svo", "svo")
    assert 0.5 < guess.confidence <= 1.0
    assert next(t for t, _ in guess.top) == "svo" and len(guess.top) == 3
    guess = model.guess("Батареи в квартире ледяные, управляющая компания молчит", group_of)
    assert (guess.topic, guess.group) == ("housing", "housing")
    p = model.proba(["нет талонов к терапевту", "автобус не пришёл"])
    assert p.shape == (2, 4)
    assert np.allclose(p.sum(axis=1), 1.0)


def test_one_text_is_scored_as_scikit_learn_scores_it(model: TopicModel) -> None:
    texts = [t for t, _ in HOLDOUT + DEV] + ["", "ыфвап", "СВО СВО СВО контракт"]
    for text in texts:
        assert np.allclose(model._one_scores(text), model.scores([text])[0], atol=1e-4)
    two = train([Sample(t, topic) for topic in ("svo", "housing") for t in TRAIN[topic]])
    for text in texts:
        assert np.allclose(two._one_scores(text), two.scores([text])[0], atol=1e-4)
        assert np.allclose(two.guess(text, group_of).confidence, two.proba([text]).max())


def test_nonsense_gets_a_low_confidence_below_the_dev_threshold(model: TopicModel) -> None:
    clear = model.guess("не могу записаться к врачу в поликлинике", group_of)
    nonsense = model.guess("ыфвап олдж 12345 qwerty", group_of)
    assert nonsense.confidence < 0.5 < clear.confidence
    dev = [Sample(t, c.split(".")[0]) for t, c in DEV]
    model.threshold = choose_threshold(model, dev, group_of, "general")
    assert model.guess("ыфвап олдж 12345 qwerty", group_of).confidence < clear.confidence


@pytest.mark.parametrize("text", ["", " ", "😀😀😀", "1234567890", "а" * 50_000, "<b>\x00</b>"])
def test_odd_text_never_raises(model: TopicModel, text: str) -> None:
    guess = model.guess(text, group_of)
    assert guess.topic in TRAIN and 0.0 <= guess.confidence <= 1.0


def test_serialized_model_predicts_the_same(model: TopicModel) -> None:
    blob = model.dumps()
    assert len(blob) < 3_000_000
    again = TopicModel.loads(blob)
    texts = [t for t, _ in HOLDOUT]
    assert np.allclose(again.proba(texts), model.proba(texts))
    with pytest.raises(Exception):  # noqa: B017 - any refusal: not a model of ours
        TopicModel.loads(b"not a model")


def test_evaluation_and_baselines(model: TopicModel, tmp_path: Path) -> None:
    write_sets(tmp_path)
    holdout = read_labelled(tmp_path / "routing" / "holdout" / "texts.yaml")
    assert [s.topic for s in holdout][:2] == ["svo", "svo"]  # sub-topics rolled up
    scores = evaluate(model, holdout, group_of)
    assert scores.n == 8
    assert scores.topic_top1 >= 0.75 and scores.group_top1 >= scores.topic_top1
    assert scores.topic_top3 >= scores.topic_top1
    assert set(scores.per_topic) == set(TRAIN)
    assert sum(n for row in scores.confusion.values() for n in row.values()) == round(
        8 * (1 - scores.topic_top1)
    )
    frequent = evaluate(MostFrequent([*samples(), Sample("x", "svo")]), holdout, group_of)
    assert frequent.topic_top1 == 0.25  # always svo: 2 of 8
    plain = evaluate(PlainTfidf(samples()), holdout, group_of, group_by_sum=False)
    assert 0.0 <= plain.topic_top1 <= 1.0 and plain.n == 8


def test_calibration_on_a_dev_set_changes_only_the_probabilities(model: TopicModel) -> None:
    dev = [Sample(t, c.split(".")[0]) for t, c in DEV]
    texts = [t for t, _ in HOLDOUT]
    before = model.proba(texts).argmax(axis=1)
    calibrate(model, dev)
    assert model.temperature > 0
    assert (model.proba(texts).argmax(axis=1) == before).all()


def test_training_pairs_and_labelled_files(tmp_path: Path) -> None:
    rows = [("Нет воды", "housing.water", 3), ("Нет  воды", "svo", 1), ("Автобус", "transport", 1)]
    assert sorted((s.text, s.topic) for s in labelled_texts(rows)) == [
        ("Автобус", "transport"),
        ("Нет воды", "housing"),
    ]
    parts = article_samples(
        "Запись к врачу",
        "Первый абзац о записи.\n\nВторой абзац о талонах.",
        ["талон"],
        "medicine.x",
    )
    assert {s.topic for s in parts} == {"medicine"}
    assert [s.text for s in parts][1:] == [
        "Запись к врачу",
        "талон",
        "Первый абзац о записи.",
        "Второй абзац о талонах.",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {id: x, text: привет}\n", encoding="utf-8")
    with pytest.raises(LabelledFileError, match="запись 1"):
        read_labelled(bad)
    with pytest.raises(ValueError, match="двух тематик"):
        train([Sample("a", "svo"), Sample("b", "svo")])


def test_reference_names_become_short_samples() -> None:
    topics = [
        ("svo", "Служба по контракту", "punkt"),
        ("svo.payments", "Выплаты при заключении контракта", "minsoc"),
        ("social", "Социальная поддержка", "minsoc"),
        ("housing", "ЖКХ", None),
        ("housing.water", " ", None),
    ]
    agencies = {"punkt": "Пункт отбора на военную службу", "minsoc": "Минсоцразвития"}
    got = sorted((s.text, s.topic, s.part) for s in reference_samples(topics, agencies))
    # the ministry is the default agency of two top-level topics: it says nothing of either
    assert got == [
        ("Выплаты при заключении контракта", "svo", True),
        ("ЖКХ", "housing", True),
        ("Пункт отбора на военную службу", "svo", True),
        ("Служба по контракту", "svo", True),
        ("Социальная поддержка", "social", True),
    ]


def test_colloquial_rules_are_labelled_through_their_article_wording(
    model: TopicModel, tmp_path: Path
) -> None:
    path = tmp_path / "colloquial.txt"
    path.write_text(
        "# caller phrases => article wording\n"
        "дубак в хате,  не греет => батареи в квартире, управляющая компания  # heating\n"
        "no arrow here\n"
        "a => b => c\n"
        " => пусто слева\n"
        "контрактник,зэт => контракт, выплата участнику СВО\n",
        encoding="utf-8",
    )
    rules = read_rules(path)
    assert [(r.callers, r.articles) for r in rules] == [
        ("дубак в хате, не греет", "батареи в квартире, управляющая компания"),
        ("контрактник, зэт", "контракт, выплата участнику СВО"),
    ]
    assert read_rules(tmp_path / "missing.txt") == []
    labelled = rule_samples(model, rules)
    assert [(s.text, s.topic) for s in labelled] == [
        ("дубак в хате, не греет", "housing"),
        ("контрактник, зэт", "svo"),
    ]
    assert all(s.part and s.weight < 1 for s in labelled)
    with_rules = train(samples(), shares={"svo": 45, "housing": 14}, rules=rules)
    assert with_rules.counts["housing"] == model.counts["housing"] + 1
    assert with_rules.counts["svo"] == model.counts["svo"] + 1


def test_a_citizens_name_address_or_number_in_one_contact_is_not_learnt() -> None:
    texts = [
        ("Иванов Пётр Семёнович, ул. Подгорная 17, ivanov.p@mail.ru, 8 (902) 555-12-34: "
         "в квартире нет отопления третий день", "housing", 1),
        ("Батареи ледяные, отопления нет, управляющая компания молчит", "housing", 1),
    ]  # fmt: skip
    model = train(samples() + labelled_texts(texts))
    words = set(model.words.vocabulary_)
    assert "отопление" in " ".join(words)  # the situation is learnt
    leaked = [w for w in words if any(p in w for p in ("иванов", "подгорн", "mail", "555", "902"))]
    assert leaked == []
    assert all("@" not in s.text and "555" not in s.text for s in labelled_texts(texts))
