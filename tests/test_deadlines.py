"""59-FZ deadline arithmetic, and the SQL `overdue` filter agreeing with `is_overdue`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ekc_core.deadlines import DeadlineTerms, check_extension, compute_deadlines, is_overdue
from ekc_core.enums import AppealStatus
from ekc_server.models import Appeal, Citizen, Topic
from ekc_server.services.appeals import overdue_clause

FZ59 = DeadlineTerms(register_days=3, forward_days=7, answer_days=30, max_extension_days=30)
RECEIVED = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
REGISTERED = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)


def test_59fz_terms_count_from_receipt_and_registration() -> None:
    dues = compute_deadlines(FZ59, received_at=RECEIVED, registered_at=REGISTERED)
    assert dues.register_due == RECEIVED + timedelta(days=3)
    assert dues.forward_due == REGISTERED + timedelta(days=7)
    assert dues.answer_due == REGISTERED + timedelta(days=30)


def test_pos_topic_term_wins_when_shorter() -> None:
    dues = compute_deadlines(
        FZ59, received_at=RECEIVED, registered_at=REGISTERED, answer_days_override=5
    )
    assert dues.answer_due == REGISTERED + timedelta(days=5)
    # the other terms are untouched by the topic's ПОС term
    assert dues.forward_due == REGISTERED + timedelta(days=7)


def test_pos_topic_term_longer_than_the_rule_does_not_extend_it() -> None:
    short_rule = DeadlineTerms(
        register_days=3, forward_days=7, answer_days=10, max_extension_days=None
    )
    dues = compute_deadlines(
        short_rule, received_at=RECEIVED, registered_at=REGISTERED, answer_days_override=20
    )
    assert dues.answer_due == REGISTERED + timedelta(days=10)


def test_pos_topic_term_applies_when_the_rule_has_no_answer_term() -> None:
    no_answer = DeadlineTerms(
        register_days=None, forward_days=None, answer_days=None, max_extension_days=None
    )
    dues = compute_deadlines(
        no_answer, received_at=RECEIVED, registered_at=REGISTERED, answer_days_override=12
    )
    assert dues.answer_due == REGISTERED + timedelta(days=12)
    assert dues.register_due is None
    assert dues.forward_due is None


def test_zero_days_means_within_24_hours() -> None:
    emergency = DeadlineTerms(
        register_days=0, forward_days=0, answer_days=1, max_extension_days=None
    )
    dues = compute_deadlines(emergency, received_at=RECEIVED, registered_at=REGISTERED)
    assert dues.register_due == RECEIVED + timedelta(hours=24)
    assert dues.forward_due == REGISTERED + timedelta(hours=24)
    assert dues.answer_due == REGISTERED + timedelta(days=1)


def test_no_terms_give_no_deadlines() -> None:
    consultation = DeadlineTerms(None, None, None, None)
    dues = compute_deadlines(consultation, received_at=RECEIVED, registered_at=REGISTERED)
    assert (dues.register_due, dues.forward_due, dues.answer_due) == (None, None, None)


@pytest.mark.parametrize(
    ("already", "requested", "allowed"),
    [(0, 30, True), (0, 1, True), (10, 20, True), (0, 31, False), (20, 11, False), (30, 1, False)],
)
def test_extension_limit(already: int, requested: int, allowed: bool) -> None:
    reason = check_extension(FZ59, already=already, requested=requested)
    if allowed:
        assert reason is None
    else:
        assert reason is not None
        assert "30" in reason
        assert f"осталось {max(30 - already, 0)} дн." in reason


def test_extension_impossible_without_a_limit() -> None:
    reason = check_extension(DeadlineTerms(0, None, None, None), already=0, requested=1)
    assert reason is not None
    assert "не предусмотрено" in reason


NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
PAST = NOW - timedelta(days=1)
FUTURE = NOW + timedelta(days=1)


@pytest.mark.parametrize(
    ("status", "forward_due", "answer_due", "forwarded", "expected"),
    [
        (AppealStatus.registered, FUTURE, PAST, False, True),  # answer term passed
        (AppealStatus.in_progress, None, PAST, True, True),
        (AppealStatus.registered, PAST, FUTURE, False, True),  # never forwarded in time
        (AppealStatus.forwarded, PAST, FUTURE, True, False),  # forwarded: forward term met
        (AppealStatus.registered, FUTURE, FUTURE, False, False),
        (AppealStatus.registered, None, None, False, False),  # a consultation
        (AppealStatus.registered, NOW, NOW, False, False),  # due exactly now: not yet late
        (AppealStatus.resolved, PAST, PAST, False, False),  # closed statuses are never late
        (AppealStatus.closed, PAST, PAST, False, False),
        (AppealStatus.cancelled, PAST, PAST, False, False),
    ],
)
def test_is_overdue(
    status: AppealStatus,
    forward_due: datetime | None,
    answer_due: datetime | None,
    forwarded: bool,
    expected: bool,
) -> None:
    assert (
        is_overdue(
            status=status,
            forward_due=forward_due,
            answer_due=answer_due,
            forwarded=forwarded,
            now=NOW,
        )
        is expected
    )


def test_sql_overdue_clause_selects_exactly_the_overdue_appeals(engine: Engine) -> None:
    """Every combination of status, forward/answer due (past/future/none) and forwarded."""
    now = datetime.now(UTC)
    dues = [None, now - timedelta(days=2), now + timedelta(days=2)]
    with Session(engine) as session:
        topic = session.exec(select(Topic).where(Topic.code == "svo")).one()
        citizen = Citizen(last_name="Проверкин")
        session.add(citizen)
        session.flush()
        expected: set[int] = set()
        n = 0
        for status in AppealStatus:
            for forward_due in dues:
                for answer_due in dues:
                    for forwarded in (False, True):
                        n += 1
                        appeal = Appeal(
                            number=f"T-{n}",
                            citizen_id=citizen.id or 0,
                            kind="appeal_59fz",
                            topic_id=topic.id or 0,
                            summary="проверка",
                            status=status.value,
                            forward_due=forward_due,
                            answer_due=answer_due,
                            forwarded_at=now - timedelta(days=3) if forwarded else None,
                        )
                        session.add(appeal)
                        session.flush()
                        if is_overdue(
                            status=status,
                            forward_due=forward_due,
                            answer_due=answer_due,
                            forwarded=forwarded,
                            now=now,
                        ):
                            expected.add(appeal.id or 0)
        session.commit()
        selected = set(session.exec(select(Appeal.id).where(overdue_clause(now))).all())
        not_selected = set(session.exec(select(Appeal.id).where(~overdue_clause(now))).all())
        total = session.exec(select(col(Appeal.id))).all()
    assert len(total) == n == len(AppealStatus) * 18
    assert expected  # the mix has overdue appeals in open statuses …
    assert len(expected) < n  # … and others
    assert selected == expected
    assert not_selected == set(total) - expected
