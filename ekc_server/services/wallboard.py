"""The shift lead's live wallboard: one document (`ekc_core.wallboard.Wallboard`) computed
from the contacts, presence, callbacks and appeals, and a cheap fingerprint that says when it
may have changed.

The long poll (`routes/wallboard.py`) asks for the fingerprint every second and recomputes
the board only when it changed or the board is `REFRESH` old (the time-driven parts: the
30-minute window sliding, callbacks falling due, consoles going silent). The board's
`version` is a digest of its content without `at`: an unchanged board answers 304.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_
from sqlmodel import Session, col, select

from ekc_core.enums import OPEN_APPEAL_STATUSES, CallbackStatus, Channel, ContactStatus
from ekc_core.kpi import KpiParams
from ekc_core.presence import Activity
from ekc_core.wallboard import AgentRow, QueueFigure, ServiceLevel, Wallboard
from ekc_server.models import Appeal, CallbackTask, Contact
from ekc_server.models_performance import AgentPresence
from ekc_server.services import presence
from ekc_server.services.kpi import kpi_window

#: seconds after which the board is recomputed even if the fingerprint did not change
REFRESH = 30.0
#: seconds a fingerprint is reused by the polls of other leads in the same process
FINGERPRINT_REUSE = 0.5
WRITTEN = frozenset(
    {Channel.social, Channel.pos, Channel.governor_chat, Channel.web_chat, Channel.email}
)
_OPEN = (ContactStatus.queued.value, ContactStatus.active.value, ContactStatus.wrapup.value)


def short_name(full_name: str) -> str:
    """ "Романов Лев Романович" -> "Романов Л. Р." """
    last, *rest = full_name.split() or [""]
    return " ".join([last, *(f"{p[0]}." for p in rest if p)])


def fingerprint(*, session: Session) -> tuple[Any, ...]:
    """What changes whenever a contact joins, is answered, ends or closes, an operator's
    state changes or a callback is done or moved: one statement over small indexed sets."""
    open_ = (
        select(
            func.count(),
            func.coalesce(func.sum(Contact.id), 0),
            func.coalesce(func.max(Contact.id), 0),
        )
        .where(col(Contact.status).in_(_OPEN))
        .group_by(col(Contact.status))
        .order_by(col(Contact.status))
    )
    contacts = tuple(tuple(r) for r in session.exec(open_).all())
    newest = session.exec(select(func.max(Contact.id))).one()
    people = session.exec(
        select(func.count(), func.coalesce(func.sum(AgentPresence.version), 0))
    ).one()
    callbacks = session.exec(
        select(func.count(), func.coalesce(func.sum(CallbackTask.attempts), 0)).where(
            col(CallbackTask.status) == CallbackStatus.open.value
        )
    ).one()
    return (contacts, newest, tuple(people), tuple(callbacks))


def compute(
    *, session: Session, now: datetime | None = None, params: KpiParams | None = None
) -> Wallboard:
    """The whole board as of `now` (marks silent consoles offline first); the service level
    with the server's KPI thresholds (`params`, default 80/20)."""
    now = now or datetime.now(UTC)
    params = params or KpiParams()
    presence.mark_silent(session=session, now=now)
    lines: dict[str, QueueFigure] = {}
    written = QueueFigure()
    for channel, line, count, oldest in session.exec(
        select(Contact.channel, Contact.line, func.count(), func.min(Contact.queued_at))
        .where(col(Contact.status) == ContactStatus.queued.value)
        .group_by(col(Contact.channel), col(Contact.line))
    ).all():
        if channel == Channel.phone.value:
            figure = lines.setdefault(line or "122", QueueFigure())
        elif channel in WRITTEN:
            figure = written
        else:
            continue
        figure.waiting += count
        figure.oldest = oldest if figure.oldest is None else min(figure.oldest, oldest)
    for line in ("122", "117"):
        lines.setdefault(line, QueueFigure())
    midnight = presence.local_midnight(now)
    end_of_day = midnight + timedelta(days=1)
    due, overdue = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(_case(col(CallbackTask.due_at) < now)), 0),
        ).where(
            col(CallbackTask.status) == CallbackStatus.open.value,
            col(CallbackTask.due_at) < end_of_day,
        )
    ).one()
    open_appeal = col(Appeal.status).in_([s.value for s in OPEN_APPEAL_STATUSES])
    appeals = session.exec(
        select(func.count()).where(
            open_appeal,
            or_(
                and_(col(Appeal.answer_due) >= midnight, col(Appeal.answer_due) < end_of_day),
                and_(
                    col(Appeal.forwarded_at).is_(None),
                    col(Appeal.forward_due) >= midnight,
                    col(Appeal.forward_due) < end_of_day,
                ),
            ),
        )
    ).one()
    rows = presence.doing(session=session, now=now)
    board = Wallboard(
        version="",
        at=now,
        lines=dict(sorted(lines.items())),
        written=written,
        sl_target=params.sl_target,
        sl_seconds=params.sl_threshold_seconds,
        sl_today=service_level(session=session, start=midnight, end=now, params=params),
        sl_30m=service_level(
            session=session, start=now - timedelta(minutes=30), end=now, params=params
        ),
        callbacks_due=int(due),
        callbacks_overdue=int(overdue),
        appeals_due_today=int(appeals),
        agents=[
            AgentRow(
                id=d.staff.id or 0,
                name=short_name(d.staff.full_name),
                act=d.activity,
                since=d.since,
                reason=d.presence.reason
                if d.presence is not None and d.activity == Activity.away
                else None,
            )
            for d in rows
            if d.activity != Activity.offline
        ],
        offline=sum(1 for d in rows if d.activity == Activity.offline),
    )
    board.version = version_of(board)
    return board


def _case(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def service_level(
    *, session: Session, start: datetime, end: datetime, params: KpiParams
) -> ServiceLevel:
    """Service level of the calls queued in [start, end), as of `end`: the KPI report's own
    computation (`ekc_server.services.kpi.kpi_window`, rules in `ekc_core.kpi`)."""
    values = kpi_window(session=session, start=start, end=end, params=params, now=end)
    return ServiceLevel(
        offered=int(values.sums.offered),
        answered_in=int(values.sums.answered_within),
        value=values.service_level,
    )


def version_of(board: Wallboard) -> str:
    """A digest of the board without `at` and `version` (16 hex digits)."""
    content = board.model_dump(mode="json", exclude={"at", "version"})
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def wire(board: Wallboard) -> dict[str, Any]:
    """The board as sent: empty parts left out (the console's schema fills the defaults)."""
    return board.model_dump(mode="json", exclude_defaults=True) | {
        "version": board.version,
        "at": board.at.isoformat().replace("+00:00", "Z"),
    }


class BoardCache:
    """The last board of this process and the fingerprint it was computed at, shared by the
    long polls of every lead (one computation per change, not one per watcher)."""

    def __init__(self, engine: Engine, params: KpiParams | None = None) -> None:
        self.engine = engine
        self.params = params
        self._lock = threading.Lock()
        self._board: Wallboard | None = None
        self._fingerprint: tuple[Any, ...] | None = None
        self._computed = 0.0
        self._checked = 0.0
        self.computations = 0
        """How many times the whole board was computed (the bench reads it)."""

    def current(self) -> Wallboard:
        """The board now (blocking: call it from a worker thread)."""
        with self._lock:
            clock = time.monotonic()
            if self._board is not None and clock - self._checked < FINGERPRINT_REUSE:
                return self._board
            with Session(self.engine, expire_on_commit=False) as session:
                print_ = fingerprint(session=session)
                self._checked = clock
                fresh = clock - self._computed < REFRESH
                if self._board is not None and print_ == self._fingerprint and fresh:
                    return self._board
                board = compute(session=session, params=self.params)
                # computing marks silent consoles offline: take the fingerprint after it
                print_ = fingerprint(session=session)
            self._board, self._fingerprint, self._computed = board, print_, clock
            self.computations += 1
            return board
