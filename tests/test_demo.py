"""The demo generator: deterministic, realistic in shape, with working demo logins."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from ekc_core.enums import Role
from ekc_core.localtime import CENTRE_TZ
from ekc_core.settings import default_reference_dir
from ekc_server.demo import DEMO_LOGINS, DEMO_PASSWORDS, seed_demo
from ekc_server.models import (
    Appeal,
    AppealEvent,
    CallbackTask,
    Citizen,
    CitizenPhone,
    Contact,
    Staff,
    Topic,
)
from ekc_server.services.appeals import overdue_clause

DATA_DIR = default_reference_dir()
# a few days back, so that no generated contact falls into "the last half hour"
TODAY = date.today() - timedelta(days=3)
SMALL = {"citizens": 60, "contacts": 1200, "days": 90, "today": TODAY}


def _snapshot(session: Session) -> tuple[list[tuple[str, str, str]], list[str], int]:
    names = [
        (c.last_name, c.first_name, c.middle_name)
        for c in session.exec(select(Citizen).order_by(col(Citizen.id))).all()
    ]
    phones = list(session.exec(select(CitizenPhone.e164).order_by(col(CitizenPhone.id))).all())
    contacts = session.exec(select(func.count()).select_from(Contact)).one()
    return names, phones, contacts


def test_same_seed_and_day_give_the_same_data(engine: Engine) -> None:
    runs = []
    for _ in range(2):
        with Session(engine) as session:
            counts = seed_demo(
                session=session, data_dir=DATA_DIR, citizens=60, contacts=400, today=TODAY
            )
            runs.append((counts.citizens, counts.contacts, _snapshot(session)))
            session.rollback()
    assert runs[0] == runs[1]
    names, phones, contacts = runs[0][2]
    assert len(names) == runs[0][0] >= 60
    assert contacts == runs[0][1] == 400
    assert len(set(phones)) == len(phones)  # no number shared by two citizens
    assert all(re.fullmatch(r"\+7\d{10}", p) for p in phones)
    assert all(re.fullmatch(r"[А-ЯЁ][а-яё-]+", last) for last, _, _ in names)

    with Session(engine) as session:
        other = seed_demo(
            session=session, data_dir=DATA_DIR, citizens=60, contacts=400, today=TODAY, seed=7
        )
        assert other.contacts == 400
        assert _snapshot(session)[0] != names
        session.rollback()


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    with Session(engine) as session:
        seed_demo(session=session, data_dir=DATA_DIR, **SMALL)  # type: ignore[arg-type]
        session.commit()
    return engine


def test_demo_logins_work(seeded: Engine, client: TestClient) -> None:
    assert {r for _, r in DEMO_LOGINS} == {Role.admin, Role.shift_lead, Role.operator}
    for username, role in DEMO_LOGINS:
        r = client.post(
            "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORDS[role]}
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["username"] == username
        assert me.json()["role"] == role.value
    wrong = client.post("/api/v1/auth/token", json={"username": "admin", "password": "oper122"})
    assert wrong.status_code == 401


def test_demo_data_has_the_shape_of_the_real_centre(seeded: Engine) -> None:
    with Session(seeded) as session:
        topics = {t.id: t for t in session.exec(select(Topic)).all()}
        inbound_calls = session.exec(
            select(Contact).where(Contact.channel == "phone", Contact.direction == "in")
        ).all()
        abandoned = [c for c in inbound_calls if c.abandoned]
        assert all(c.status == "abandoned" and c.operator_id is None for c in abandoned)
        share = len(abandoned) / len(inbound_calls)
        assert 0.06 <= share <= 0.14, share

        tops: Counter[str] = Counter()
        for c in inbound_calls:
            if c.topic_id is not None:
                topic = topics[c.topic_id]
                top = topics[topic.parent_id] if topic.parent_id else topic
                tops[top.code] += 1
        (leader, n_first), (_, n_second) = tops.most_common(2)
        assert leader == "svo"
        assert n_first > 2 * n_second
        assert 0.35 <= n_first / sum(tops.values()) <= 0.55

        # every contact was routed to a group (issue 14): the assistant's topic mostly, the
        # general group for a share of texts the classifier was unsure of
        routes = Counter((c.route_source, c.group_code) for c in inbound_calls)
        assert all(source is not None and group is not None for source, group in routes)
        assert sum(n for (s, g), n in routes.items() if s == "handoff") > len(inbound_calls) / 2
        assert routes[("none", "general")] > 0
        assert sum(n for (s, g), n in routes.items() if g == "svo") > len(inbound_calls) / 3

        # the last `days` days up to `today`, with the hour-of-day pattern of a call centre
        first, last = session.exec(
            select(func.min(Contact.queued_at), func.max(Contact.queued_at))
        ).one()
        start = datetime.combine(TODAY - timedelta(days=89), datetime.min.time(), CENTRE_TZ)
        end = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), CENTRE_TZ)
        assert start <= first < last < end
        day_hours = Counter(
            c.queued_at.astimezone(CENTRE_TZ).hour for c in session.exec(select(Contact)).all()
        )
        assert sum(day_hours[h] for h in (10, 11)) > 3 * sum(day_hours[h] for h in (2, 3))

        now = datetime.now(UTC)
        overdue = session.exec(
            select(func.count()).select_from(Appeal).where(overdue_clause(now))
        ).one()
        assert overdue >= 1
        appeals = session.exec(select(Appeal)).all()
        assert len(appeals) > overdue
        numbers = [a.number for a in appeals]
        assert len(set(numbers)) == len(numbers)
        assert all(re.fullmatch(r"122-\d{4}-\d{6}", n) for n in numbers)
        statuses = Counter(a.status for a in appeals)
        assert statuses["closed"] > 0 and statuses["forwarded"] + statuses["in_progress"] > 0

        # every appeal has its "created" event first; linked contacts point back
        created = session.exec(
            select(func.count()).select_from(AppealEvent).where(AppealEvent.type == "created")
        ).one()
        assert created == len(appeals)
        linked = session.exec(
            select(func.count()).select_from(Contact).where(col(Contact.appeal_id).is_not(None))
        ).one()
        assert linked == len(appeals)
        assert session.exec(select(func.count()).select_from(CallbackTask)).one() > 0
        assert session.exec(select(func.count()).select_from(Staff)).one() >= 50


def test_seeding_twice_refuses_and_writes_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        seed_demo(session=session, data_dir=DATA_DIR, citizens=10, contacts=20, today=TODAY)
        session.commit()
    with Session(engine) as session:
        before = _snapshot(session)
        staff_before = session.exec(select(func.count()).select_from(Staff)).one()
        with pytest.raises(ValueError, match="пустую базу"):
            seed_demo(
                session=session, data_dir=DATA_DIR, citizens=10, contacts=20, today=TODAY, seed=5
            )
        session.commit()
    with Session(engine) as session:
        assert _snapshot(session) == before
        assert session.exec(select(func.count()).select_from(Staff)).one() == staff_before


def test_seeding_refuses_a_database_with_staff_accounts(engine: Engine, make_staff) -> None:
    make_staff(Role.admin, username="admin")
    with Session(engine) as session, pytest.raises(ValueError, match="пустую базу"):
        seed_demo(session=session, data_dir=DATA_DIR, citizens=10, contacts=20, today=TODAY)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Citizen)).one() == 0
        assert session.exec(select(func.count()).select_from(Staff)).one() == 1


def test_the_demos_transferred_contacts_have_their_transfer_on_record(seeded: Engine) -> None:
    """Each transferred contact with an agency for its topic has the `contact_event` a
    transfer from the card records: the transfers report has rows in the demo."""
    from ekc_server.models_events import ContactEvent

    with Session(seeded) as session:
        transferred = session.exec(select(Contact).where(Contact.outcome == "transferred")).all()
        events = {e.contact_id: e for e in session.exec(select(ContactEvent)).all()}
    assert transferred and events
    assert set(events) <= {c.id for c in transferred}
    assert len(events) >= 0.8 * len(transferred)  # topics without an agency have none
    for contact in transferred:
        event = events.get(contact.id or 0)
        if event is not None:
            assert (event.type, event.actor_id, event.at) == (
                "transferred",
                contact.operator_id,
                contact.ended_at,
            )
            assert event.agency_id is not None and event.data["reason"]
