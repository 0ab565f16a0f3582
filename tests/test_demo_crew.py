"""`make run`'s simulated crew: operators that take, talk and wrap up contacts over the
real HTTP API (ekc_admin.simulate_crew), against a real backend."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ekc_admin.simulate_crew import Operator
from ekc_core.client import EkcClient
from ekc_core.enums import Channel, Role
from ekc_core.schemas import ContactInbound
from ekc_server.models import Contact
from tests.conftest import MakeStaff, StaffAccount

pytestmark = pytest.mark.client_side


def test_the_crew_works_the_queue(
    live_server: str, engine: Engine, make_staff: MakeStaff, gateway: StaffAccount
) -> None:
    crew = [make_staff(Role.operator, username=u, password="oper122") for u in ("op_a", "op_b")]
    with EkcClient(live_server, token=gateway.token) as telephony:
        posted = [
            telephony.post_contact(
                ContactInbound(channel=Channel.phone, line="122", caller_number=f"+7914555010{i}")
            ).id
            for i in range(5)
        ]
    stop = threading.Event()
    operators = [
        Operator(
            server=live_server,
            username=account.username,
            password="oper122",
            hold_back=0.0,
            speed=400.0,  # a 60-second call in a fraction of a second
            seed=1,
            stop=stop,
        )
        for account in crew
    ]
    threads = [threading.Thread(target=o.run) for o in operators]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                statuses = session.exec(
                    select(Contact.status).where(col(Contact.id).in_(posted))
                ).all()
            if all(s == "done" for s in statuses):
                break
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
    assert not any(t.is_alive() for t in threads)
    with Session(engine) as session:
        contacts = session.exec(select(Contact).where(col(Contact.id).in_(posted))).all()
    ids = {a.id for a in crew}
    assert all(c.status == "done" and c.outcome and c.operator_id in ids for c in contacts)
    assert all(c.answered_at and c.ended_at and c.wrapup_ended_at for c in contacts)
    assert sum(o.handled for o in operators) == len(posted)
