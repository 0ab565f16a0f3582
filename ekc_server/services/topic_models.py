"""The topic classifier's versions (issue 14, point 2): train, gate, activate, guess.

`retrain` learns from what the centre already has — the knowledge base's articles with
their topics, the names of the topic tree and of the agencies, the KB's colloquial rules
(`topic_model.model.rule_samples`), and past contacts' texts
(written text, the assistant's transcript, the operator's summary) with the topic operators
gave them, sub-topics rolled up — and scores
the candidate on the labelled hold-out (`data/routing/holdout/texts.yaml`, never learnt
from). It becomes the model in force only when it scores at least as well there as the
active one (re-scored on the same hold-out now); otherwise it is kept, inactive, with its
scores and the reason. The dev set (`data/routing/dev/texts.yaml`) sets the threshold below
which the general group is the better answer (the probabilities keep the temperature fitted
out-of-fold on the training data: refitting it on the dev set did not carry over to dev2).

`guess_topic` is what the inbound path calls for every contact without the assistant's
topic: the model in force is cached per process and reloaded when the active version
changes; the group comes from the routing table in force.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from ekc_core.settings import default_reference_dir
from ekc_core.topic_wire import RetrainResult, TopicGuessPublic, TopicModelPublic, TopicScores
from ekc_server.errors import ConflictError
from ekc_server.models import Agency, Contact, KbArticle, Staff, Topic
from ekc_server.models_topic import TopicModelVersion
from ekc_server.services import routing
from topic_model import Sample, TopicModel, evaluate, labelled_texts, read_labelled
from topic_model.data import (
    LabelledFileError,
    article_samples,
    reference_samples,
    shipped_rules,
    top_level,
)
from topic_model.model import choose_threshold, train

log = logging.getLogger("ekc_server.topic_models")

HOLDOUT_FILE = "routing/holdout/texts.yaml"
DEV_FILE = "routing/dev/texts.yaml"
#: without a dev set: confident when the group is more probable than all others together
DEFAULT_THRESHOLD = 0.5
#: contacts' texts read for training: the newest ones (distinct texts, counted)
MAX_CONTACT_ROWS = 200_000


@dataclass(frozen=True)
class TopicGuess:
    topic: str
    """Top-level topic code."""
    group: str
    """The model's group (route to it when `confident`, else to the general group)."""
    confidence: float
    confident: bool


# --- what the model learns from --------------------------------------------------------


@dataclass
class TrainingData:
    samples: list[Sample]
    articles: int
    contacts: int
    shares: dict[str, float]
    """Top-level topic → how many past contacts operators gave it."""
    learnt_topics: int = 0
    """Top-level topics among the articles and contacts (the reference names alone are no
    data to learn from)."""


def training_data(session: Session) -> TrainingData:
    codes = dict(session.exec(select(Topic.id, Topic.code)).all())
    agencies = session.exec(select(Agency.id, Agency.code, Agency.name)).all()
    agency_codes = {aid: code for aid, code, _name in agencies}
    tree = session.exec(
        select(Topic.code, Topic.name, Topic.default_agency_id).where(col(Topic.active).is_(True))
    ).all()
    # the topic tree's names and the agencies' names: short samples the centre owns
    samples: list[Sample] = reference_samples(
        ((code, name, agency_codes.get(agency)) for code, name, agency in tree),
        {code: name for _aid, code, name in agencies},
    )
    articles = session.exec(
        select(KbArticle.title, KbArticle.body, KbArticle.tags, KbArticle.topic_id).where(
            col(KbArticle.topic_id).is_not(None), col(KbArticle.deleted).is_(False)
        )
    ).all()
    for title, body, tags, topic_id in articles:
        samples.extend(article_samples(title, body, tags or [], codes[topic_id]))
    pairs: list[tuple[str, str, int]] = []
    # the newest contacts only: a retrain's memory and time stay bounded as history grows
    newest = session.exec(select(func.max(Contact.id))).one() or 0
    recent = col(Contact.id) > newest - MAX_CONTACT_ROWS
    for column in (col(Contact.text), col(Contact.summary)):
        rows = session.exec(
            select(column, Contact.topic_id, func.count())
            .where(recent, col(Contact.topic_id).is_not(None), column.is_not(None))
            .group_by(column, col(Contact.topic_id))
        ).all()
        pairs.extend((str(text), codes[tid], int(n)) for text, tid, n in rows if tid in codes)
    handoffs = session.exec(
        select(Contact.handoff, Contact.topic_id)
        .where(col(Contact.topic_id).is_not(None), col(Contact.handoff).is_not(None))
        .order_by(col(Contact.id).desc())
        .limit(MAX_CONTACT_ROWS)
    ).all()
    for handoff, tid in handoffs:
        transcript = handoff.get("transcript") if isinstance(handoff, dict) else None
        if isinstance(transcript, str) and tid in codes:
            pairs.append((transcript, codes[tid], 1))
    contacts = labelled_texts(pairs)
    shares: dict[str, float] = {}
    per_topic = session.exec(
        select(Contact.topic_id, func.count())
        .where(col(Contact.topic_id).is_not(None))
        .group_by(col(Contact.topic_id))
    ).all()
    for tid, n in per_topic:
        if tid in codes:
            top = top_level(codes[tid])
            shares[top] = shares.get(top, 0.0) + float(n)
    own = {s.topic for s in contacts} | {top_level(codes[a[3]]) for a in articles}
    return TrainingData(samples + contacts, len(articles), len(contacts), shares, len(own))


# --- the routing table in force, as topic → group ----------------------------------------

_lock = threading.Lock()
_models: dict[str, tuple[tuple[Any, ...], TopicModel, int]] = {}


def _bind_key(session: Session) -> str:
    return str(session.get_bind().engine.url)


def group_mapping(session: Session) -> tuple[Callable[[str], str], str]:
    """Topic code → group of the routing table in force (the one the offers poll routes
    by), and the general group."""
    table = routing.table_in_force(session)
    return table.group_for_topic, table.general


# --- training and the gate ---------------------------------------------------------------


def _labelled(path: Path) -> list[Sample] | None:
    if not path.is_file():
        return None
    try:
        return read_labelled(path)
    except (LabelledFileError, yaml.YAMLError, OSError) as exc:
        raise ConflictError(f"размеченные тексты {path.name} не читаются: {exc}") from exc


def _scores(raw: dict[str, Any] | None) -> TopicScores | None:
    return TopicScores.model_validate(raw) if raw else None


def _public(row: TopicModelVersion, names: dict[int | None, str]) -> TopicModelPublic:
    return TopicModelPublic(
        version=row.version,
        created_at=row.created_at,
        created_by=names.get(row.created_by),
        active=row.active,
        activated_at=row.activated_at,
        reason=row.reason,
        articles=row.articles,
        contacts=row.contacts,
        samples=row.samples,
        train_seconds=round(row.train_seconds, 2),
        threshold=round(row.threshold, 4),
        holdout=_scores(row.scores.get("holdout")),
        dev=_scores(row.scores.get("dev")),
        size_bytes=len(row.blob),
    )


def _names(session: Session) -> dict[int | None, str]:
    return {s.id: s.full_name for s in session.exec(select(Staff))}


def _active_row(session: Session) -> TopicModelVersion | None:
    return session.exec(
        select(TopicModelVersion)
        .where(col(TopicModelVersion.active).is_(True))
        .order_by(col(TopicModelVersion.version).desc())
        .limit(1)
    ).first()


def _fmt(scores: dict[str, Any]) -> str:
    return f"группа {scores['group_top1']:.3f}, тематика {scores['topic_top1']:.3f}"


def _gate(new: dict[str, Any] | None, old: dict[str, Any] | None, version: int) -> str | None:
    """Why the candidate must not replace the active version `version`, or None."""
    if old is None:
        return None
    if new is None:
        return "нет отложенной выборки: новая модель не может доказать, что она не хуже"
    worse = [key for key in ("group_top1", "topic_top1") if new[key] + 1e-9 < old[key]]
    if worse:
        return (
            f"на отложенной выборке хуже действующей версии {version}: "
            f"{_fmt(new)} против {_fmt(old)}"
        )
    return None


def retrain(*, session: Session, actor: int | None, data_dir: Path | None = None) -> RetrainResult:
    """Train a candidate, score it on the hold-out and the dev set, store it as the next
    version, and activate it only if it scores at least as well on the hold-out as the
    active one (group and topic top-1). Not committed."""
    data_dir = data_dir or default_reference_dir()
    started = time.perf_counter()
    data = training_data(session)
    if data.learnt_topics < 2:
        raise ConflictError(
            "не на чем учиться: нужны статьи базы знаний или контакты хотя бы двух тематик"
        )
    group_of, general = group_mapping(session)
    model = train(data.samples, shares=data.shares, rules=shipped_rules())
    dev = _labelled(data_dir / DEV_FILE)
    if dev:
        model.threshold = choose_threshold(model, dev, group_of, general)
    else:
        model.threshold = DEFAULT_THRESHOLD
    elapsed = time.perf_counter() - started
    holdout = _labelled(data_dir / HOLDOUT_FILE)
    scores: dict[str, Any] = {}
    if holdout:
        scores["holdout"] = evaluate(model, holdout, group_of).as_dict()
    if dev:
        scores["dev"] = evaluate(model, dev, group_of).as_dict()

    previous = _active_row(session)
    old_scores: dict[str, Any] | None = None
    if previous is not None and holdout:
        try:
            old_model = TopicModel.loads(previous.blob)
            old_scores = evaluate(old_model, holdout, group_of).as_dict()
        except Exception:  # unreadable (another code version): gate on its stored scores
            log.exception("active topic model %s unreadable", previous.version)
            old_scores = previous.scores.get("holdout")
    elif previous is not None:
        old_scores = previous.scores.get("holdout") or {"group_top1": 0.0, "topic_top1": 0.0}
    why_not = _gate(scores.get("holdout"), old_scores, previous.version if previous else 0)
    top = int(session.exec(select(func.coalesce(func.max(TopicModelVersion.version), 0))).one())
    row = TopicModelVersion(
        version=top + 1,
        created_by=actor,
        articles=data.articles,
        contacts=data.contacts,
        samples=len(data.samples),
        train_seconds=elapsed,
        threshold=model.threshold,
        scores=scores,
        blob=model.dumps(),
    )
    if why_not is None:
        if previous is not None:
            # compare-and-set: a retrain that finished meanwhile has replaced `previous`
            # (this candidate was gated against the wrong model)
            replaced = session.execute(
                update(TopicModelVersion)
                .where(col(TopicModelVersion.id) == previous.id)
                .where(col(TopicModelVersion.active).is_(True))
                .values(active=False)
            )
            if replaced.rowcount != 1:  # type: ignore[attr-defined]
                session.rollback()
                raise ConflictError(
                    "модель в это же время переобучил другой запрос; повторите, чтобы "
                    "сравнить с действующей"
                )
            session.refresh(previous)
        row.active = True
        row.activated_at = row.created_at
        row.reason = (
            "первая модель"
            if previous is None
            else f"не хуже действующей версии {previous.version} на отложенной выборке"
        )
    else:
        row.reason = why_not
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # two retrains at once took the same number
        session.rollback()
        raise ConflictError("модель в это же время обучает другой запрос; повторите") from exc
    names = _names(session)
    before = None
    if previous is not None:
        before = _public(previous, names)
        if old_scores is not None and holdout:
            before = before.model_copy(update={"holdout": TopicScores(**old_scores)})
    return RetrainResult(
        model=_public(row, names),
        activated=row.active,
        previous=before,
        reason=row.reason or "",
    )


def models(*, session: Session) -> list[TopicModelPublic]:
    """Every version, newest first."""
    names = _names(session)
    rows = session.exec(select(TopicModelVersion).order_by(col(TopicModelVersion.version).desc()))
    return [_public(r, names) for r in rows]


# --- the model in force ------------------------------------------------------------------


def _active_model(session: Session) -> tuple[TopicModel, int] | None:
    head = session.exec(
        select(TopicModelVersion.id, TopicModelVersion.version, TopicModelVersion.created_at)
        .where(col(TopicModelVersion.active).is_(True))
        .order_by(col(TopicModelVersion.version).desc())
        .limit(1)
    ).first()
    if head is None:
        return None
    bind = _bind_key(session)
    key = tuple(head)
    with _lock:
        cached = _models.get(bind)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    blob = session.exec(select(TopicModelVersion.blob).where(TopicModelVersion.id == head[0])).one()
    model = TopicModel.loads(blob)
    with _lock:
        _models[bind] = (key, model, int(head[1]))
    return model, int(head[1])


def guess_topic(session: Session, text: str) -> TopicGuess | None:
    """The topic and group of a contact's text by the model in force; None when there is no
    model (or no text). Never raises: a failure is logged and gives None."""
    try:
        if not text or not text.strip():
            return None
        active = _active_model(session)
        if active is None:
            return None
        group_of, _general = group_mapping(session)
        g = active[0].guess(text, group_of)
        return TopicGuess(g.topic, g.group, g.confidence, g.confident)
    except Exception:
        log.exception("topic guess failed")
        return None


def try_guess(*, session: Session, text: str) -> TopicGuessPublic:
    """`POST /routing/guess`: the model's answer for a text, with the top three topics."""
    active = _active_model(session)
    if active is None:
        raise ConflictError("модели тематик ещё нет: ekc-admin routing retrain")
    model, version = active
    group_of, general = group_mapping(session)
    g = model.guess(text, group_of)
    names = dict(session.exec(select(Topic.code, Topic.name)).all())
    return TopicGuessPublic(
        topic=g.topic,
        topic_name=names.get(g.topic),
        group=g.group,
        confidence=round(g.confidence, 4),
        confident=g.confident,
        routed_to=g.group if g.confident else general,
        top=[(code, round(p, 4)) for code, p in g.top],
        model_version=version,
    )


__all__ = ["TopicGuess", "guess_topic", "models", "retrain", "training_data"]
