"""Deterministic generator of realistic demo data (`ekc-server db seed --demo`).

The same seed and the same `today` give the same rows. By default a year of history that
lands in the centre's real ranges (its presentation for January–October 2024): ~120,000
calls a year (55 % incoming), service level 80/20 between 80 and 96 % a month (worse in the
busy months), answer rate ≈ 93 %, missed ≈ 6.6 %, handle time ≈ 3 min, written channels
answered within 10 minutes, video consultations from 44 MFC offices, appeals followed to
their result (none overdue but a few, no complaints but a rare one).

The parts, each in its own module:
- `demo_people`: staff (with the demo logins) and citizens;
- `demo_traffic`: when contacts arrive (hour, weekday, season, holidays, bursts);
- `demo_workforce`: staffing requirement, published roster and sign-in sessions per month;
- `demo_queue`: who answered which contact when, from the sessions (a queue model);
- `demo_contacts` / `demo_appeals`: contact rows, outcomes, appeals, callbacks;
- `demo_store`: bulk inserts of all of it;
- `demo_feedback` (the feedback part's): post-call surveys and quality reviews.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import yaml
from sqlalchemy import func
from sqlmodel import Session, col, select

from ekc_core.deadlines import DeadlineTerms
from ekc_core.enums import AppealKind, Channel
from ekc_core.localtime import CENTRE_TZ
from ekc_roster.calendar import CalendarMissingError, ProductionCalendar
from ekc_roster.model import template_table
from ekc_server.demo_contacts import Incoming, Reference, make_contacts
from ekc_server.demo_feedback import seed_feedback
from ekc_server.demo_people import (
    DEMO_LOGINS,
    DEMO_PASSWORDS,
    Names,
    Numbers,
    make_citizens,
    make_staff,
)
from ekc_server.demo_queue import KINDS, simulate
from ekc_server.demo_store import store
from ekc_server.demo_traffic import make_arrivals
from ekc_server.demo_workforce import make_workforce
from ekc_server.models import (
    Agency,
    Citizen,
    Contact,
    DeadlineRule,
    Office,
    ShiftTemplate,
    Staff,
    Topic,
)
from ekc_server.services.staffing import load_calendar

__all__ = ["DEMO_LOGINS", "DEMO_PASSWORDS", "DemoCounts", "has_demo_data", "seed_demo"]

#: handle times fall over the year (the single operator window: 362 s → 297 s at the centre)
AHT_TREND = (1.06, 0.94)


@dataclass
class DemoCounts:
    staff: int = 0
    citizens: int = 0
    contacts: int = 0
    appeals: int = 0
    events: int = 0
    callbacks: int = 0
    rosters: int = 0
    shifts: int = 0
    presence_events: int = 0
    surveys: int = 0
    quality_reviews: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)


_OCCUPIED = ((Citizen, "граждане"), (Contact, "контакты"), (Staff, "сотрудники"))


def _occupied_by(session: Session) -> str | None:
    """What already fills the database (citizens, contacts or staff), if anything."""
    for model, what in _OCCUPIED:
        if session.exec(select(func.count()).select_from(model)).one():
            return what
    return None


def has_demo_data(*, session: Session) -> bool:
    """True when demo data cannot be loaded because the database is not empty."""
    return _occupied_by(session) is not None


def _reference(session: Session, demo: Path) -> Reference:
    topics = list(session.exec(select(Topic).where(Topic.active)).all())
    if not topics:
        raise ValueError("справочники не загружены: сначала ekc-server db seed")
    top_by_code = {t.code: t for t in topics if t.parent_id is None}
    children: dict[int, list[Topic]] = {}
    for t in topics:
        if t.parent_id is not None:
            children.setdefault(t.parent_id, []).append(t)
    texts = yaml.safe_load((demo / "summaries.yaml").read_text(encoding="utf-8"))
    return Reference(
        topics=topics,
        children=children,
        top_by_id={t.id: t for t in top_by_code.values()},
        top_by_code=top_by_code,
        agencies=list(session.exec(select(Agency).where(Agency.active)).all()),
        rules={
            AppealKind(r.kind): DeadlineTerms(
                r.register_days, r.forward_days, r.answer_days, r.max_extension_days
            )
            for r in session.exec(select(DeadlineRule)).all()
        },
        summaries=texts["summaries"],
        replies=texts["agency_replies"],
        messages=yaml.safe_load((demo / "messages.yaml").read_text(encoding="utf-8"))["messages"],
    )


def _calendar(data_dir: Path) -> ProductionCalendar | None:
    try:
        return load_calendar(data_dir)
    except (OSError, CalendarMissingError, ValueError):
        return None


def seed_demo(
    *,
    session: Session,
    data_dir: Path,
    citizens: int = 12000,
    contacts: int = 128000,
    days: int = 365,
    seed: int = 122,
    today: date | None = None,
) -> DemoCounts:
    """Insert demo staff, citizens, contacts, appeals with events, callbacks, staffing
    requirements, published rosters and the operators' presence. Not committed.

    Refuses (ValueError) when the database already has staff, citizens or contacts: the
    demo rows carry their own ids and logins, which would collide with existing ones.
    """
    what = _occupied_by(session)
    if what is not None:
        raise ValueError(f"в базе уже есть {what}: демо-данные загружаются только в пустую базу")
    rng = random.Random(seed)
    today = today or datetime.now(CENTRE_TZ).date()
    now = datetime.now(UTC)
    demo = data_dir / "demo"
    ref = _reference(session, demo)
    offices = {o.code: o for o in session.exec(select(Office).order_by(col(Office.id))).all()}

    names = Names(rng, demo)
    staff = make_staff(
        rng=rng, names=names, offices=offices, seed=seed, created=now - timedelta(days=days + 60)
    )
    numbers = Numbers(rng)
    people = make_citizens(
        rng=rng, names=names, numbers=numbers, demo=demo, count=citizens, now=now, days=days
    )

    # when contacts arrive; the workforce that was planned and came; who answered what
    traffic_rng = random.Random(seed * 7919 + 1)
    calendar = _calendar(data_dir)
    start_day = today - timedelta(days=days - 1)
    video_offices = [o.id for o in offices.values() if o.kind == "mfc" and not o.remote]
    arrivals = make_arrivals(
        rng=traffic_rng,
        start_day=start_day,
        days=days,
        contacts=contacts,
        video_offices=[i for i in video_offices if i is not None],
        calendar=calendar,
    )
    window_end = datetime.combine(today + timedelta(days=1), time(0), CENTRE_TZ)
    cutoff = min(now - timedelta(minutes=30), window_end.astimezone(UTC))
    templates = template_table(
        (t.code, t.starts_at, t.ends_at, t.break_minutes)
        for t in session.exec(select(ShiftTemplate).where(ShiftTemplate.active)).all()
    )
    workforce = make_workforce(
        rng=traffic_rng,
        arrivals=arrivals,
        calendar=calendar,
        templates=templates,
        operators=list(staff.operators.values()),
        lead_id=staff.lead_ids[0] if staff.lead_ids else None,
        today=today,
        cutoff=cutoff,
    )
    incoming: list[Incoming] = []
    for at in arrivals.inbound:
        incoming.append(Incoming(at.timestamp(), "inbound"))
    for at in arrivals.outbound:
        incoming.append(Incoming(at.timestamp(), "outbound"))
    for at, channel in arrivals.written:
        incoming.append(Incoming(at.timestamp(), "written", channel=channel))
    for at, office_id in arrivals.video:
        incoming.append(
            Incoming(at.timestamp(), "video", channel=Channel.video, office_id=office_id)
        )
    limit = cutoff.timestamp()
    incoming = sorted((i for i in incoming if i.at < limit), key=lambda i: (i.at, i.kind))
    first = start_day.toordinal()
    low, high = AHT_TREND

    def trend(at: float) -> float:
        day = datetime.fromtimestamp(at, CENTRE_TZ).date().toordinal() - first
        return low + (high - low) * day / max(1, days - 1)

    handled = simulate(
        rng=traffic_rng,
        sessions=workforce.sessions,
        contacts=[(i.at, KINDS.index(i.kind)) for i in incoming],
        handle_factor=[trend(i.at) for i in incoming],
    )
    for item, result in zip(incoming, handled, strict=True):
        item.handled = result
    incoming = [i for i in incoming if i.handled.start is not None or i.kind == "inbound"]
    incoming.sort(key=lambda i: (i.handled.start if i.kind == "outbound" else i.at) or i.at)

    rows = make_contacts(
        rng=rng,
        incoming=incoming,
        ref=ref,
        citizens=len(people.rows),
        citizen_phone=people.main_phone,
        numbers=numbers,
        lead_ids=staff.lead_ids,
        today_year=today.year,
        now=now,
    )
    del incoming, handled, arrivals  # a thin machine: free them before the inserts
    stored = store(
        session=session, staff=staff, people=people, rows=rows, workforce=workforce, now=now
    )
    counts = DemoCounts(
        staff=len(staff.rows),
        citizens=len(people.rows),
        contacts=len(rows.contacts),
        appeals=len(rows.appeals),
        events=len(rows.events),
        callbacks=len(rows.callbacks),
        rosters=len(workforce.rosters),
        shifts=len(workforce.shifts),
        presence_events=stored,
        logins=[(u, DEMO_PASSWORDS[r], r.value) for u, r in DEMO_LOGINS],
    )
    del rows, people, workforce
    # post-call surveys and quality reviews over these contacts (the feedback part's)
    feedback = seed_feedback(session=session, data_dir=data_dir, seed=seed, now=now)
    counts.surveys = feedback.get("surveys", 0)
    counts.quality_reviews = feedback.get("quality_reviews", 0)
    return counts
