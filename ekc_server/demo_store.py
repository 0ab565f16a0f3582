"""Bulk inserts of the demo rows (SQLAlchemy core `insert` in chunks, no per-row ORM), the
appeal numbers, and the PostgreSQL sequences moved past the explicit ids."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text, update
from sqlmodel import Session

from ekc_core.localtime import CENTRE_TZ
from ekc_server.demo_contacts import ContactRows
from ekc_server.demo_people import CitizenRows, StaffRows
from ekc_server.demo_transfers import transfer_rows
from ekc_server.demo_workforce import Workforce
from ekc_server.models import (
    Appeal,
    AppealCounter,
    AppealEvent,
    CallbackTask,
    Citizen,
    CitizenPhone,
    Contact,
    Roster,
    RosterShift,
    Staff,
    StaffingRequirement,
)
from ekc_server.models_events import ContactEvent
from ekc_server.models_performance import AgentPresence, AgentStateEvent

_SEQUENCES = (
    "staff",
    "citizen",
    "citizen_phone",
    "contact",
    "appeal",
    "appeal_event",
    "callback_task",
    "roster",
    "roster_shift",
    "agent_state_event",
)


def _chunked(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Core executemany on the table (the ORM's bulk insert may fall back to a statement
    per row when values differ in kind)."""
    table = model.__table__
    connection = session.connection()
    for i in range(0, len(rows), 5000):
        connection.execute(table.insert(), rows[i : i + 5000])


def _number_appeals(rows: ContactRows) -> dict[int, int]:
    """Appeal numbers: sequential per local year in registration order."""
    per_year: dict[int, int] = {}
    for appeal in sorted(rows.appeals, key=lambda a: (a["registered_at"], a["id"])):
        year = appeal["registered_at"].astimezone(CENTRE_TZ).year
        per_year[year] = per_year.get(year, 0) + 1
        appeal["number"] = f"122-{year}-{per_year[year]:06d}"
    for task in rows.callbacks:
        if task["reason"].startswith("Сообщить результат"):
            number = rows.appeals[task["appeal_id"] - 1]["number"]
            task["reason"] = f"Сообщить результат по обращению {number}"
    return per_year


def presence_rows(
    workforce: Workforce, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The state-change log of every session (in time order per operator) and each
    operator's current state (offline since the last sign-out)."""
    delay = random.Random(len(workforce.sessions))  # when the backend learnt of it
    events: list[dict[str, Any]] = []
    last: dict[int, datetime] = {}
    for s in sorted(workforce.sessions, key=lambda s: (s.staff_id, s.login)):
        for at, state, reason in s.events:
            when = datetime.fromtimestamp(at, UTC)
            if when > now:
                continue
            events.append(
                {
                    "staff_id": s.staff_id,
                    "state": state,
                    "reason": reason,
                    "at": when,
                    "recorded_at": when + timedelta(seconds=delay.uniform(0.1, 2.5)),
                }
            )
            last[s.staff_id] = when
    events.sort(key=lambda e: (e["at"], e["staff_id"]))
    for i, e in enumerate(events, start=1):
        e["id"] = i
    current = [
        {"staff_id": staff_id, "state": "offline", "reason": None, "since": at,
         "last_seen_at": at, "version": 1}
        for staff_id, at in sorted(last.items())
    ]  # fmt: skip
    return events, current


def store(
    *,
    session: Session,
    staff: StaffRows,
    people: CitizenRows,
    rows: ContactRows,
    workforce: Workforce,
    now: datetime,
) -> int:
    """Insert everything (flushed, not committed); the number of presence events."""
    per_year = _number_appeals(rows)
    appeal_links = [(r["id"], r["appeal_id"]) for r in rows.contacts if r["appeal_id"]]
    for r in rows.contacts:
        r["appeal_id"] = None  # set after appeals exist (the foreign keys point both ways)
    _chunked(session, Staff, staff.rows)
    _chunked(session, Citizen, people.rows)
    _chunked(session, CitizenPhone, people.phones)
    _chunked(session, Contact, rows.contacts)
    _chunked(session, ContactEvent, transfer_rows(session, rows.contacts))
    _chunked(session, Appeal, rows.appeals)
    _chunked(session, AppealEvent, rows.events)
    _chunked(session, CallbackTask, rows.callbacks)
    if appeal_links:
        table = Contact.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            update(table).where(table.c.id == bindparam("cid")).values(appeal_id=bindparam("aid")),
            [{"cid": c, "aid": a} for c, a in appeal_links],
        )
    for year, last_seq in per_year.items():
        existing = session.get(AppealCounter, year)
        if existing is None:
            session.add(AppealCounter(year=year, last_seq=last_seq))
        else:
            existing.last_seq = max(existing.last_seq, last_seq)
            session.add(existing)
    _chunked(session, StaffingRequirement, workforce.requirements)
    _chunked(session, Roster, workforce.rosters)
    _chunked(session, RosterShift, workforce.shifts)
    events, current = presence_rows(workforce, now)
    _chunked(session, AgentStateEvent, events)
    _chunked(session, AgentPresence, current)
    session.flush()
    _reset_sequences(session)
    return len(events)


def _reset_sequences(session: Session) -> None:
    """After inserting explicit ids, move PostgreSQL sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in _SEQUENCES:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
        )
