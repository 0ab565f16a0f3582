"""Demo post-call surveys and quality reviews over the demo's contacts (`seed_feedback`),
landing on the centre's own yearly figures: customer satisfaction 91.9 %, loyalty index
90.1 %, contact quality 93.5 %.

The figures are those of the definitions the product uses (`ekc_core.kpi` computes them;
this module only writes answers):

- CSAT: share of the callers' `csat` answers that are 4 or 5;
- loyalty index (NPS-style): share of `recommend` answers 9–10 minus share of 0–6;
- contact quality: the mean score of the reviews (`ekc_core.quality.review_score`).

Answers are drawn by quota (exact shares, shuffled with the seed), so the figures land on
target for any volume; a month or an operator varies around them as real data does. The
same contacts and seed give the same rows. Bulk inserts: ~120,000 contacts take seconds.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ekc_core.enums import Channel, ContactOutcome, ContactStatus, Direction, Role
from ekc_core.quality import QualityItem, review_score
from ekc_server.models import Contact, ContactSurvey, QualityForm, QualityReview, Staff
from ekc_server.services.quality import FORMS_FILE, seed_forms

#: share of answered inbound calls whose caller answers the survey
SURVEY_SHARE = 1 / 3
#: of the surveys: only the first question answered / only the second
CSAT_ONLY, RECOMMEND_ONLY = 0.07, 0.02
#: `csat` answers 5…1: 91.9 % are 4 or 5
CSAT_SHARES = {5: 0.800, 4: 0.119, 3: 0.040, 2: 0.020, 1: 0.021}
#: `recommend` answers: 91.5 % promoters (9–10), 1.4 % detractors (0–6): index 90.1
RECOMMEND_SHARES = {
    10: 0.780,
    9: 0.135,
    8: 0.050,
    7: 0.021,
    6: 0.006,
    5: 0.004,
    3: 0.002,
    0: 0.002,
}
#: share of answered contacts a lead reviews
REVIEW_SHARE = 0.025
#: share of reviews with a critical item failed (score 0)
CRITICAL_FAIL_SHARE = 0.02
#: the mean review score the demo lands on
QUALITY_TARGET = 0.935

#: how often each non-critical item is missed, relative (scaled to land on the target)
_MISS_WEIGHT = {
    "greeting": 1.0,
    "listening": 1.2,
    "appeal_registered": 1.5,
    "topic_correct": 2.0,
    "speech": 0.6,
    "hold_rules": 1.5,
    "callback_offered": 1.8,
    "polite_close": 0.8,
}
#: items that apply only sometimes: share of contacts where they are not applicable
_NOT_APPLICABLE = {"hold_rules": 0.7, "callback_offered": 0.6}
_COMMENTS = {
    "greeting": "Приветствие не по стандарту.",
    "identification": "Не получено согласие на обработку персональных данных.",
    "listening": "Перебивал гражданина, не уточнил суть вопроса.",
    "kb_answer": "Ответ не соответствует базе знаний.",
    "appeal_registered": "Не зарегистрировано обращение, хотя вопрос требовал решения ведомства.",
    "topic_correct": "Тематика указана неверно.",
    "no_disclosure": "Раскрыты сведения об обращениях без согласия гражданина.",
    "speech": "Замечание по речи: жаргон.",
    "hold_rules": "Удержание дольше минуты без предупреждения.",
    "callback_offered": "Не предложен обратный звонок.",
    "polite_close": "Разговор завершён без прощания.",
}
_CHUNK = 5000


@dataclass(frozen=True)
class _Answered:
    id: int
    channel: str
    direction: str
    operator_id: int | None
    outcome: str | None
    ended_at: datetime


def _quota(rng: random.Random, shares: dict[int, float], n: int) -> list[int]:
    """`n` values in exactly the given shares (largest remainders), shuffled."""
    raw = {v: s * n for v, s in shares.items()}
    counts = {v: int(x) for v, x in raw.items()}
    left = n - sum(counts.values())
    for v in sorted(raw, key=lambda v: raw[v] - counts[v], reverse=True)[:left]:
        counts[v] += 1
    values = [v for v, c in counts.items() for _ in range(c)]
    rng.shuffle(values)
    return values


def _answered_contacts(session: Session) -> list[_Answered]:
    table = Contact.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa_select(
            table.c.id,
            table.c.channel,
            table.c.direction,
            table.c.operator_id,
            table.c.outcome,
            table.c.ended_at,
        )
        .where(
            table.c.answered_at.is_not(None),
            table.c.ended_at.is_not(None),
            table.c.status == ContactStatus.done.value,
        )
        .order_by(table.c.id)
    ).all()
    return [_Answered(*row) for row in rows]


def _surveys(
    rng: random.Random, contacts: list[_Answered], now: datetime, surveyed: set[int]
) -> list[dict[str, Any]]:
    calls = [
        c
        for c in contacts
        if c.channel == Channel.phone.value
        and c.direction == Direction.inbound.value
        and c.id not in surveyed
    ]
    chosen = sorted(rng.sample(calls, round(len(calls) * SURVEY_SHARE)), key=lambda c: c.id)
    n = len(chosen)
    kinds = ["both"] * n
    cut_csat, cut_rec = round(n * CSAT_ONLY), round(n * RECOMMEND_ONLY)
    for i in range(cut_csat):
        kinds[i] = "csat"
    for i in range(cut_csat, cut_csat + cut_rec):
        kinds[i] = "recommend"
    rng.shuffle(kinds)
    csat = _quota(rng, CSAT_SHARES, sum(1 for k in kinds if k != "recommend"))
    recommend = _quota(rng, RECOMMEND_SHARES, sum(1 for k in kinds if k != "csat"))
    # a satisfied caller tends to recommend: pair the two lists by rank with some noise
    csat.sort(key=lambda v: v + rng.gauss(0, 0.8))
    recommend.sort(key=lambda v: v / 2 + rng.gauss(0, 0.8))
    pairs_both = [i for i, k in enumerate(kinds) if k == "both"]
    order = list(range(len(pairs_both)))
    rng.shuffle(order)
    both_csat = csat[: len(pairs_both)]
    both_rec = recommend[: len(pairs_both)]
    rest_csat = iter(csat[len(pairs_both) :])
    rest_rec = iter(recommend[len(pairs_both) :])
    values: list[tuple[int | None, int | None]] = [(None, None)] * n
    for rank, slot in zip(order, pairs_both, strict=True):
        values[slot] = (both_csat[rank], both_rec[rank])
    for i, kind in enumerate(kinds):
        if kind == "csat":
            values[i] = (next(rest_csat), None)
        elif kind == "recommend":
            values[i] = (None, next(rest_rec))
    rows = []
    for contact, (c, r) in zip(chosen, values, strict=True):
        at = min(contact.ended_at + timedelta(seconds=rng.randint(15, 90)), now)
        rows.append(
            {
                "contact_id": contact.id,
                "csat": c,
                "recommend": r,
                "answered_at": at,
                "recorded_at": at + timedelta(seconds=rng.randint(1, 5)),
            }
        )
    return rows


def _draw_answers(
    rng: random.Random, items: Sequence[QualityItem], contacts: list[_Answered]
) -> tuple[list[dict[str, bool | None]], list[dict[str, float]]]:
    """Per review: which items apply (and the critical failures, by quota), and a uniform
    draw per non-critical item (missed when below the scaled miss rate)."""
    n = len(contacts)
    critical = [i.code for i in items if i.critical]
    failing = set(rng.sample(range(n), round(n * CRITICAL_FAIL_SHARE))) if critical else set()
    base: list[dict[str, bool | None]] = []
    draws: list[dict[str, float]] = []
    for k, contact in enumerate(contacts):
        answers: dict[str, bool | None] = {}
        for item in items:
            if item.code == "appeal_registered":
                needed = contact.outcome in (
                    ContactOutcome.appeal_registered.value,
                    ContactOutcome.forwarded.value,
                )
                answers[item.code] = True if needed or rng.random() < 0.15 else None
            elif rng.random() < _NOT_APPLICABLE.get(item.code, 0.0):
                answers[item.code] = None
            else:
                answers[item.code] = True
        if k in failing:
            answers[rng.choice(critical)] = False
        base.append(answers)
        draws.append({code: rng.random() for code in _MISS_WEIGHT})
    return base, draws


def _with_misses(
    base: dict[str, bool | None], draws: dict[str, float], scale: float
) -> dict[str, bool | None]:
    answers = dict(base)
    for code, u in draws.items():
        if answers.get(code) is True and u < scale * _MISS_WEIGHT[code]:
            answers[code] = False
    return answers


def _scale_for_target(
    items: Sequence[QualityItem],
    base: list[dict[str, bool | None]],
    draws: list[dict[str, float]],
) -> float:
    """The miss-rate scale whose mean score is closest to the target (bisection: the mean
    falls as the scale grows)."""
    if not base:
        return 0.0

    def mean(scale: float) -> float:
        scores = [
            review_score(items, _with_misses(b, d, scale)) for b, d in zip(base, draws, strict=True)
        ]
        values = [s for s in scores if s is not None]
        return sum(values) / len(values) if values else 1.0

    low, high = 0.0, 1.0
    for _ in range(24):
        mid = (low + high) / 2
        if mean(mid) > QUALITY_TARGET:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _reviews(
    rng: random.Random,
    session: Session,
    contacts: list[_Answered],
    now: datetime,
    reviewed: set[int],
) -> list[dict[str, Any]]:
    form_file = FORMS_FILE.name
    form = session.exec(
        select(QualityForm)
        .where(col(QualityForm.active).is_(True))
        .order_by(col(QualityForm.code), col(QualityForm.version).desc())
    ).first()
    if form is None or form.id is None:
        raise ValueError(f"нет действующей формы оценки ({form_file})")
    items = [QualityItem.model_validate(i) for i in form.items]
    leads = list(session.exec(select(Staff.id).where(Staff.role == Role.shift_lead.value)).all())
    eligible = [c for c in contacts if c.operator_id is not None and c.id not in reviewed]
    chosen = sorted(rng.sample(eligible, round(len(eligible) * REVIEW_SHARE)), key=lambda c: c.id)
    base, draws = _draw_answers(rng, items, chosen)
    scale = _scale_for_target(items, base, draws)
    rows = []
    for contact, b, d in zip(chosen, base, draws, strict=True):
        answers = _with_misses(b, d, scale)
        score = review_score(items, answers)
        if score is None:
            continue
        missed = [code for code, v in answers.items() if v is False]
        at = min(contact.ended_at + timedelta(hours=rng.uniform(1, 72)), now)
        rows.append(
            {
                "contact_id": contact.id,
                "form_id": form.id,
                "operator_id": contact.operator_id,
                "reviewer_id": rng.choice(leads) if leads else None,
                "answers": answers,
                "score": score,
                "comment": " ".join(_COMMENTS[c] for c in missed if c in _COMMENTS),
                "reviewed_at": at,
                "recorded_at": at,
            }
        )
    return rows


def seed_feedback(*, session: Session, data_dir: Path, seed: int, now: datetime) -> dict[str, int]:
    """Add the default quality form(s), post-call surveys and quality reviews over the
    contacts already in the session (flushed). Does not commit. Contacts that already have
    a survey or a review keep theirs. Returns counts by kind."""
    rng = random.Random(f"feedback-{seed}")
    forms = seed_forms(session=session, data_dir=data_dir)
    contacts = _answered_contacts(session)
    surveyed = set(session.exec(select(ContactSurvey.contact_id)).all())
    reviewed = set(session.exec(select(QualityReview.contact_id)).all())
    surveys = _surveys(rng, contacts, now, surveyed)
    reviews = _reviews(rng, session, contacts, now, reviewed)
    for model, rows in ((ContactSurvey, surveys), (QualityReview, reviews)):
        for start in range(0, len(rows), _CHUNK):
            session.execute(insert(model), rows[start : start + _CHUNK])
    session.flush()
    return {"quality_forms": forms, "surveys": len(surveys), "quality_reviews": len(reviews)}
