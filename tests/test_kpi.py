"""The indicators of `ekc_core.kpi` on hand-made contacts, every value worked out by hand
here, on SQLite and PostgreSQL (`engine` runs each test on both)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from ekc_core.kpi import INDICATORS, KpiParams, KpiSums, columns, compute
from ekc_core.reports import Better
from ekc_server.models import Appeal, Citizen, Contact, Staff, Topic
from ekc_server.models_performance import ContactSurvey, QualityForm, QualityReview
from ekc_server.services.kpi import Dimension, kpi_groups, kpi_window, local_day_window
from ekc_server.services.kpi_sql import local_midnight

DAY = date(2026, 11, 10)
"""The hand-made day (local); 10:00 local is 02:00 UTC."""
T0 = local_midnight(DAY) + timedelta(hours=10)
NOW = local_midnight(DAY) + timedelta(days=40)
"""When the indicators are computed: every call decided, appeals' terms partly past."""

S = timedelta(seconds=1)


@dataclass
class Made:
    """Ids of what `make_day` stored."""

    operator_a: int
    operator_b: int
    answered_calls: list[int] = field(default_factory=list)


def _staff(session: Session, username: str) -> int:
    person = Staff(username=username, full_name=f"Оператор {username}", role="operator")
    session.add(person)
    session.flush()
    assert person.id is not None
    return person.id


def _topic(session: Session, code: str) -> int:
    topic = session.exec(select(Topic).where(Topic.code == code)).one()
    assert topic.id is not None
    return topic.id


def call(
    session: Session,
    at: datetime,
    *,
    wait: float | None = None,
    hung_up_after: float | None = None,
    talk: float = 120,
    acw: float | None = 30,
    operator_id: int | None = None,
    line: str = "122",
    topic_id: int | None = None,
    close_reason: str | None = None,
) -> Contact:
    """An inbound call: answered after `wait` s, or abandoned after `hung_up_after` s."""
    contact = Contact(channel="phone", line=line, direction="in", status="done", queued_at=at)
    if wait is not None:
        contact.answered_at = at + wait * S
        contact.ended_at = contact.answered_at + talk * S
        contact.operator_id = operator_id
        contact.topic_id = topic_id
        if acw is None:
            contact.status = "wrapup"
        else:
            contact.wrapup_ended_at = contact.ended_at + acw * S
        contact.close_reason = close_reason
    elif hung_up_after is not None:
        contact.status, contact.abandoned = "abandoned", True
        contact.ended_at = at + hung_up_after * S
    else:
        contact.status = "queued"
    session.add(contact)
    session.flush()
    return contact


def make_day(session: Session) -> Made:
    """The hand-made day:

    - 12 inbound calls offered: 11 answered after 2, 4, 6, 8, 10, 12, 15, 18, 19, 20 (exactly
      the threshold: in time) and 30 s; 1 abandoned after 40 s → SL 10/12 = 83.3 %, answer
      rate 11/12 = 91.7 %, abandoned 1/12 = 8.3 %.
    - 2 short abandons (2 s and 4 s): not offered with the default 5 s.
    - handle time: 8 calls talk 120 + acw 30, one 200 + 60; one still in after-call work and
      one closed as stale (talk 4 h) are left out → AHT (8×150 + 260) / 9 = 162.2 s.
    - 3 outbound calls; 5 written: taken after 60, 300, 600, 601 s and one never → 3/5 = 60 %.
    - 2 video contacts, one abandoned → 1.
    - 4 appeals: 1 complaint (25 %); overdue at NOW: one past its answer term and open, one
      not forwarded past its forward term → 2.
    - surveys csat 5, 5, 4, 3, 1 → 3/5 = 60 %; recommend 10, 9, 8, 6 → (2 − 1) / 4 = 25 %.
    - 2 quality reviews 0.9 and 1.0 → 95 %.
    """
    made = Made(operator_a=_staff(session, "kpi_a"), operator_b=_staff(session, "kpi_b"))
    svo_contract = _topic(session, "svo.contract")
    waits = [2, 4, 6, 8, 10, 12, 15, 18, 19, 20, 30]
    for i, wait in enumerate(waits):
        kwargs: dict[str, object] = {}
        if i == 8:
            kwargs = {"talk": 200, "acw": 60}
        elif i == 9:
            kwargs = {"acw": None}  # after-call work still going on
        elif i == 10:
            kwargs = {"talk": 4 * 3600, "close_reason": "закрыт как зависший"}
        operator = made.operator_a if i < 6 else made.operator_b
        contact = call(
            session,
            T0 + i * 60 * S,
            wait=wait,
            operator_id=operator,
            line="122" if i % 2 == 0 else "117",
            topic_id=svo_contract if i < 4 else None,
            **kwargs,  # type: ignore[arg-type]
        )
        assert contact.id is not None
        made.answered_calls.append(contact.id)
    call(session, T0 + 20 * 60 * S, hung_up_after=40)
    call(session, T0 + 21 * 60 * S, hung_up_after=2)
    call(session, T0 + 22 * 60 * S, hung_up_after=4)
    for i in range(3):
        at = T0 + (30 + i) * 60 * S
        session.add(
            Contact(
                channel="phone",
                direction="out",
                status="done",
                queued_at=at,
                answered_at=at,
                ended_at=at + 60 * S,
                wrapup_ended_at=at + 70 * S,
                operator_id=made.operator_a,
            )
        )
    for i, taken in enumerate([60, 300, 600, 601, None]):
        at = T0 + (40 + i) * 60 * S
        written = Contact(channel="email", direction="in", status="queued", queued_at=at)
        if taken is not None:
            written.status, written.answered_at = "done", at + taken * S
        session.add(written)
    session.add(Contact(channel="video", direction="in", status="done", queued_at=T0))
    session.add(
        Contact(channel="video", direction="in", status="abandoned", abandoned=True, queued_at=T0)
    )
    _appeals(session, svo_contract)
    for contact_id, csat, recommend in zip(
        made.answered_calls,
        [5, 5, 4, 3, 1, None],
        [10, 9, 8, 6, None, None],
        strict=False,
    ):
        session.add(ContactSurvey(contact_id=contact_id, csat=csat, recommend=recommend))
    form = QualityForm(code="base", name="Базовый", items=[])
    session.add(form)
    session.flush()
    assert form.id is not None
    for contact_id, score in zip(made.answered_calls[:2], [0.9, 1.0], strict=True):
        session.add(QualityReview(contact_id=contact_id, form_id=form.id, score=score))
    session.commit()
    return made


def _appeals(session: Session, topic_id: int) -> None:
    citizen = Citizen(last_name="Иванов")
    session.add(citizen)
    session.flush()
    assert citizen.id is not None
    registered = T0 + 2 * 3600 * S
    plans = [
        ("appeal_59fz", "registered", None, 30, 7, True),  # past the answer term: overdue
        ("appeal_59fz", "resolved", None, 30, 7, True),  # late but closed: not overdue
        ("appeal_59fz", "forwarded", registered + 3600 * S, 60, 7, True),  # in time
        ("complaint", "registered", None, 60, 7, False),  # not forwarded in 7 days: overdue
    ]
    for n, (kind, status, forwarded_at, answer_days, forward_days, _) in enumerate(plans):
        session.add(
            Appeal(
                number=f"122-2026-9{n:05d}",
                citizen_id=citizen.id,
                kind=kind,
                topic_id=topic_id,
                summary="тест",
                status=status,
                received_at=registered,
                registered_at=registered,
                forward_due=registered + timedelta(days=forward_days),
                answer_due=registered + timedelta(days=answer_days),
                forwarded_at=forwarded_at,
            )
        )


def test_the_hand_made_day(engine: Engine) -> None:
    with Session(engine) as session:
        make_day(session)
        start, end = local_day_window(DAY, DAY)
        values = kpi_window(session=session, start=start, end=end, now=NOW)
    s = values.sums
    assert (s.offered, s.answered, s.answered_within, s.abandoned) == (12, 11, 10, 1)
    assert s.short_abandoned == 2
    assert s.handled == 9
    assert s.talk_seconds == pytest.approx(8 * 120 + 200)
    assert s.acw_seconds == pytest.approx(8 * 30 + 60)
    row = values.as_row()
    assert row["service_level"] == pytest.approx(10 / 12)  # 83.3 %
    assert row["answer_rate"] == pytest.approx(11 / 12)
    assert row["abandon_rate"] == pytest.approx(1 / 12)
    assert row["aht"] == pytest.approx(1460 / 9)  # 162.2 s
    assert row["talk_time"] == pytest.approx(1160 / 9)
    assert row["acw_time"] == pytest.approx(300 / 9)
    assert (row["outbound"], row["written"], row["video"]) == (3, 5, 1)
    assert row["written_in_time"] == pytest.approx(3 / 5)
    assert row["overdue_appeals"] == 2
    assert row["complaint_share"] == pytest.approx(1 / 4)
    assert row["csat"] == pytest.approx(3 / 5)
    assert row["loyalty"] == pytest.approx((2 - 1) / 4)
    assert row["quality"] == pytest.approx(0.95)


def test_short_abandons_count_when_the_rule_is_off(engine: Engine) -> None:
    with Session(engine) as session:
        make_day(session)
        start, end = local_day_window(DAY, DAY)
        off = KpiParams(short_abandon_seconds=0)
        values = kpi_window(session=session, start=start, end=end, params=off, now=NOW)
        longer = KpiParams(short_abandon_seconds=41)  # the 40 s hang-up is short now too
        strict = kpi_window(session=session, start=start, end=end, params=longer, now=NOW)
    assert (values.sums.offered, values.sums.abandoned, values.sums.short_abandoned) == (14, 3, 0)
    assert values.service_level == pytest.approx(10 / 14)
    assert values.abandon_rate == pytest.approx(3 / 14)
    assert (strict.sums.offered, strict.sums.short_abandoned) == (11, 3)
    assert strict.service_level == pytest.approx(10 / 11)


def test_a_threshold_of_18_seconds_moves_two_calls_out(engine: Engine) -> None:
    with Session(engine) as session:
        make_day(session)
        start, end = local_day_window(DAY, DAY)
        params = KpiParams(sl_threshold_seconds=18)
        values = kpi_window(session=session, start=start, end=end, params=params, now=NOW)
    assert values.sums.answered_within == 8  # 19 s and 20 s are late now
    assert values.service_level == pytest.approx(8 / 12)


def test_calls_and_messages_still_waiting(engine: Engine) -> None:
    """A call waiting past the threshold is offered and missed; a younger one is not counted
    yet; a message younger than 10 minutes is not counted yet, an older one is missed."""
    now = T0 + 3600 * S
    with Session(engine) as session:
        call(session, now - 30 * S)  # waiting 30 s > 20: offered, not in time
        call(session, now - 10 * S)  # waiting 10 s: its fate is open
        call(session, now - 60 * S, wait=5)
        for waited in (300, 900):
            session.add(
                Contact(
                    channel="web_chat", direction="in", status="queued", queued_at=now - waited * S
                )
            )
        session.commit()
        values = kpi_window(session=session, start=T0, end=now, now=now)
    s = values.sums
    assert (s.offered, s.answered, s.waiting_late, s.abandoned) == (2, 1, 1, 0)
    assert values.service_level == pytest.approx(1 / 2)
    assert (s.written, s.written_within) == (1, 0)
    assert values.written_in_time == 0.0


def test_an_empty_window_gives_none_not_zero(engine: Engine) -> None:
    with Session(engine) as session:
        values = kpi_window(session=session, start=T0, end=T0 + 3600 * S, now=NOW)
    row = values.as_row()
    for key in ("service_level", "answer_rate", "aht", "written_in_time", "csat", "quality"):
        assert row[key] is None, key
    assert row["offered"] == 0


def test_buckets_split_at_local_midnight(engine: Engine) -> None:
    """23:59:59 and 00:00:00 Irkutsk time fall in different days, hours, weeks (Sunday 15
    November → Monday 16) and months (30 November → 1 December)."""
    sunday_midnight = local_midnight(date(2026, 11, 16))
    month_midnight = local_midnight(date(2026, 12, 1))
    with Session(engine) as session:
        for edge in (sunday_midnight, month_midnight):
            call(session, edge - S, wait=3)
            call(session, edge, wait=30)
            call(session, edge + 59 * 60 * S, wait=30)
        session.commit()
        start, end = local_day_window(date(2026, 11, 15), date(2026, 12, 1))

        def offered(by: Dimension) -> dict[str, tuple[int, int]]:
            groups = kpi_groups(session=session, start=start, end=end, by=by, now=NOW)
            return {
                g.key: (g.sums.offered, g.sums.answered_within) for g in groups if g.sums.offered
            }

        days = offered(Dimension.day)
        weeks = offered(Dimension.week)
        months = offered(Dimension.month)
        hours = offered(Dimension.hour)
        all_days = kpi_groups(session=session, start=start, end=end, by=Dimension.day, now=NOW)
    assert days == {
        "2026-11-15": (1, 1),
        "2026-11-16": (2, 0),
        "2026-11-30": (1, 1),
        "2026-12-01": (2, 0),
    }
    assert weeks == {"2026-11-09": (1, 1), "2026-11-16": (2, 0), "2026-11-30": (3, 1)}
    assert months == {"2026-11": (4, 2), "2026-12": (2, 0)}
    assert hours == {"23": (2, 2), "00": (4, 0)}
    # every day of the period is a row, also days without calls (their values are None)
    assert [g.key for g in all_days][:3] == ["2026-11-15", "2026-11-16", "2026-11-17"]
    assert len(all_days) == 17
    assert compute(all_days[2].sums)["service_level"] is None


def test_groups_by_line_operator_and_top_level_topic(engine: Engine) -> None:
    with Session(engine) as session:
        made = make_day(session)
        start, end = local_day_window(DAY, DAY)

        def groups(by: Dimension) -> dict[str, KpiSums]:
            return {
                g.label: g.sums
                for g in kpi_groups(session=session, start=start, end=end, by=by, now=NOW)
            }

        lines, operators, topics = (
            groups(Dimension.line),
            groups(Dimension.operator),
            groups(Dimension.topic),
        )
        svo = session.exec(select(Topic).where(Topic.code == "svo")).one()
        name_a = session.get(Staff, made.operator_a)
    # answered calls alternate lines from 122; abandoned ones are on 122
    assert (lines["линия 122"].answered, lines["линия 117"].answered) == (6, 5)
    assert lines["линия 122"].offered == 7
    assert name_a is not None
    assert operators[name_a.full_name].answered == 6
    assert operators[name_a.full_name].outbound == 3
    assert operators["без оператора"].abandoned == 1
    # the four calls on svo.contract and the four appeals fold into the top-level topic
    assert topics[svo.name].answered == 4
    assert topics[svo.name].appeals == 4
    assert topics["без тематики"].answered == 7


def test_every_indicator_has_a_russian_title_a_rule_and_a_direction_with_its_target() -> None:
    params = KpiParams(short_abandon_seconds=7)
    cols = columns(params)
    assert [c.key for c in cols] == [i.key for i in INDICATORS]
    for col in cols:
        assert col.title and col.description, col.key
        assert "{" not in col.title + col.description, col.key
        assert (col.target is None) == (col.better is None), col.key
    by_key = {c.key: c for c in cols}
    assert by_key["service_level"].title == "Уровень сервиса 80/20"
    assert "7 с" in (by_key["service_level"].description or "")
    assert by_key["abandon_rate"].better == Better.less
    assert by_key["abandon_rate"].misses(0.0663) is False
    assert by_key["abandon_rate"].misses(0.09) is True
    assert by_key["written_in_time"].title == "Письменные: ответ за 10 мин"


def test_local_window_is_irkutsk_days() -> None:
    start, end = local_day_window(DAY, DAY)
    assert start == datetime(2026, 11, 9, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 10, 16, tzinfo=UTC)
