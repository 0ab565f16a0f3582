"""59-FZ deadline arithmetic: the one place where the rules (which are data) are applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ekc_core.enums import OPEN_APPEAL_STATUSES, AppealStatus


@dataclass(frozen=True)
class DeadlineTerms:
    """Terms of one appeal kind in days (None: no such deadline); from deadlines.yaml."""

    register_days: int | None
    forward_days: int | None
    answer_days: int | None
    max_extension_days: int | None


@dataclass(frozen=True)
class Deadlines:
    register_due: datetime | None
    forward_due: datetime | None
    answer_due: datetime | None


def compute_deadlines(
    terms: DeadlineTerms,
    *,
    received_at: datetime,
    registered_at: datetime,
    answer_days_override: int | None = None,
) -> Deadlines:
    """Register within N days of receipt; forward and answer within N days of registration.

    `answer_days_override` is the ПОС term of the topic, used when shorter than the rule.
    """
    answer_days = terms.answer_days
    if answer_days_override is not None:
        answer_days = (
            answer_days_override if answer_days is None else min(answer_days, answer_days_override)
        )
    return Deadlines(
        register_due=_plus(received_at, terms.register_days),
        forward_due=_plus(registered_at, terms.forward_days),
        answer_due=_plus(registered_at, answer_days),
    )


def _plus(start: datetime, days: int | None) -> datetime | None:
    if days is None:
        return None
    if days == 0:  # "the same day": by the end of the 24 hours after the start
        return start + timedelta(hours=24)
    return start + timedelta(days=days)


def check_extension(terms: DeadlineTerms, *, already: int, requested: int) -> str | None:
    """Why an extension by `requested` days is not allowed, or None when it is."""
    if terms.max_extension_days is None:
        return "для этого вида обращения продление срока не предусмотрено"
    if already + requested > terms.max_extension_days:
        left = terms.max_extension_days - already
        return (
            f"срок можно продлить не более чем на {terms.max_extension_days} дн. "
            f"(осталось {max(left, 0)} дн.)"
        )
    return None


def is_overdue(
    *,
    status: AppealStatus,
    forward_due: datetime | None,
    answer_due: datetime | None,
    forwarded: bool,
    now: datetime,
) -> bool:
    """Open and past the answer term, or still not forwarded past the forward term.

    The backend's SQL filter `overdue=true` mirrors this predicate (tested to agree).
    """
    if status not in OPEN_APPEAL_STATUSES:
        return False
    if answer_due is not None and answer_due < now:
        return True
    return forward_due is not None and not forwarded and forward_due < now
