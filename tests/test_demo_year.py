"""A year of demo history: its indicators land in the centre's ranges, the rosters are
published and cover their requirements lawfully, the operators' presence is in order and
within their shifts, and every answered contact was taken by an operator signed in and
ready at that moment. Indicators are computed here by SQL from the rows, with the rules of
ekc_core/kpi.py (SL: answered within 20 s of queued_at over offered; offered excludes
abandons under 5 s; AHT = talk + after-call work)."""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from ekc_core.settings import default_reference_dir
from ekc_server.demo import seed_demo
from ekc_server.models import Contact, Office, Roster, RosterShift, ShiftTemplate, Staff
from ekc_server.models_performance import AgentPresence, AgentStateEvent
from ekc_server.services.roster_problem import check_stored
from ekc_server.services.staffing import load_calendar

DATA_DIR = default_reference_dir()
TODAY = date(2026, 11, 30)
#: a full year at a quarter of the centre's volume (the full volume is in the README table)
YEAR = {"citizens": 1500, "contacts": 30000, "days": 365, "today": TODAY}
WRITTEN = "('social', 'pos', 'governor_chat', 'web_chat', 'email')"


def _seconds(dialect: str, later: str, earlier: str) -> str:
    if dialect == "sqlite":
        return f"((julianday({later}) - julianday({earlier})) * 86400.0)"
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


def _month(dialect: str) -> str:
    if dialect == "sqlite":
        return "strftime('%Y-%m', queued_at, '+8 hours')"
    return "to_char(queued_at AT TIME ZONE 'Asia/Irkutsk', 'YYYY-MM')"


def monthly_indicators(session: Session) -> dict[str, dict[str, float]]:
    """Per local month: SL 80/20, answer rate, missed share, AHT (s), written within 10 min."""
    dialect = session.get_bind().dialect.name
    wait = _seconds(dialect, "answered_at", "queued_at")
    gone = _seconds(dialect, "ended_at", "queued_at")
    handle = _seconds(dialect, "wrapup_ended_at", "answered_at")
    call = "channel = 'phone' AND direction = 'in'"
    sql = f"""
        SELECT m, SUM(offered), SUM(within), SUM(answered), SUM(lost), SUM(handle),
               SUM(written), SUM(written_in)
        FROM (SELECT {_month(dialect)} AS m,
              CASE WHEN {call} AND (answered_at IS NOT NULL OR {gone} >= 5)
                   THEN 1 ELSE 0 END AS offered,
              CASE WHEN {call} AND answered_at IS NOT NULL AND {wait} <= 20
                   THEN 1 ELSE 0 END AS within,
              CASE WHEN {call} AND answered_at IS NOT NULL THEN 1 ELSE 0 END AS answered,
              CASE WHEN {call} AND answered_at IS NULL AND {gone} >= 5
                   THEN 1 ELSE 0 END AS lost,
              CASE WHEN {call} AND answered_at IS NOT NULL THEN {handle} ELSE 0 END AS handle,
              CASE WHEN channel IN {WRITTEN} THEN 1 ELSE 0 END AS written,
              CASE WHEN channel IN {WRITTEN} AND answered_at IS NOT NULL AND {wait} <= 600
                   THEN 1 ELSE 0 END AS written_in
              FROM contact) AS c
        GROUP BY m ORDER BY m"""
    result = {}
    for m, offered, within, answered, lost, handle_sum, written, written_in in session.execute(
        text(sql)
    ):
        result[str(m)] = {
            "offered": float(offered),
            "sl": within / offered,
            "answer": answered / offered,
            "missed": lost / offered,
            "aht": float(handle_sum) / answered,
            "written_in": written_in / written,
            "answered": float(answered),
            "within": float(within),
            "lost": float(lost),
            "handle": float(handle_sum),
        }
    return result


@pytest.fixture
def year(engine: Engine) -> Engine:
    with Session(engine) as session:
        seed_demo(session=session, data_dir=DATA_DIR, **YEAR)  # type: ignore[arg-type]
        session.commit()
    return engine


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_a_year_of_demo_history(year: Engine) -> None:
    with Session(year) as session:
        months = monthly_indicators(session)
        # twelve whole local months (December 2025 – November 2026)
        assert list(months) == ["2025-12"] + [f"2026-{m:02d}" for m in range(1, 12)]
        for m, k in months.items():
            assert 0.80 <= k["sl"] <= 0.97, (m, k)
            assert 0.88 <= k["answer"] <= 0.985, (m, k)
            assert k["missed"] <= 0.12, (m, k)
            assert 150 <= k["aht"] <= 225, (m, k)  # ≈ 3 min
            assert k["written_in"] >= 0.90, (m, k)
        total = {key: sum(k[key] for k in months.values()) for key in next(iter(months.values()))}
        assert 0.84 <= total["within"] / total["offered"] <= 0.95
        assert 0.90 <= total["answered"] / total["offered"] <= 0.96
        assert 0.035 <= total["lost"] / total["offered"] <= 0.09
        assert 170 <= total["handle"] / total["answered"] <= 200
        # months differ, as real ones do; the seasonal profile shows (autumn above January)
        sls = [k["sl"] for k in months.values()]
        assert max(sls) - min(sls) >= 0.02
        assert months["2026-10"]["offered"] > 1.2 * months["2026-01"]["offered"]

        # video consultations: MFC offices (not the four northern ones), answered → ended
        offices = {o.id: o for o in session.exec(select(Office)).all()}
        video = session.exec(select(Contact).where(Contact.channel == "video")).all()
        assert video and all(c.office_id is not None for c in video)
        used = {c.office_id for c in video}
        assert len(used) <= 44
        assert all(offices[i].kind == "mfc" and not offices[i].remote for i in used)
        assert all(c.ended_at and c.answered_at and c.ended_at > c.answered_at for c in video)

        # complaints and overdue appeals: next to none
        kinds = dict(session.execute(text("SELECT kind, COUNT(*) FROM appeal GROUP BY kind")).all())
        assert kinds.get("complaint", 0) <= 0.01 * sum(kinds.values())
        _check_rosters(session)
        _check_presence(session)


def _check_rosters(session: Session) -> None:
    calendar = load_calendar(DATA_DIR)
    rosters = session.exec(select(Roster).order_by(col(Roster.month))).all()
    # every month of the history and the next one, published ahead (ст.103)
    assert [r.month for r in rosters] == ["2025-12"] + [f"2026-{m:02d}" for m in range(1, 13)]
    for roster in rosters:
        assert roster.status == "published" and roster.published_at is not None
        first = datetime.strptime(roster.month, "%Y-%m").replace(tzinfo=UTC)
        assert _utc(roster.published_at) <= first - timedelta(days=28)
        problem, shifts, result = check_stored(session=session, calendar=calendar, roster=roster)
        assert shifts and result.violations == [], (roster.month, result.violations[:3])
        required = problem.required
        assert required is not None
        covered = sum(c >= r for c, r in zip(result.covered, required, strict=True))
        assert covered >= 0.97 * len(required), roster.month
        # sized to the requirement, not to everybody's full norm
        assert sum(result.covered) <= 2.0 * sum(required), roster.month


def _check_presence(session: Session) -> None:
    templates = {t.code: t for t in session.exec(select(ShiftTemplate)).all()}
    shifts: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for s in session.exec(select(RosterShift)).all():
        t = templates[s.template_code]
        begin = datetime.fromisoformat(f"{s.on_date}T{t.starts_at}:00+08:00")
        end = datetime.fromisoformat(f"{s.on_date}T{t.ends_at}:00+08:00")
        shifts[s.staff_id].append((begin, end if end > begin else end + timedelta(days=1)))
    events: dict[int, list[AgentStateEvent]] = defaultdict(list)
    for e in session.exec(
        select(AgentStateEvent).order_by(col(AgentStateEvent.at), col(AgentStateEvent.id))
    ).all():
        events[e.staff_id].append(e)
    operators = set(session.exec(select(Staff.id).where(Staff.role == "operator")).all())
    assert set(events) <= operators and len(events) >= 40

    # per operator: sessions of ready (away ready)* offline, each inside a rostered shift
    ready_spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for staff_id, log in events.items():
        states = "".join({"ready": "r", "away": "a", "offline": "o"}[e.state] for e in log)
        assert re.fullmatch(r"(r(ar)*o)+", states), (staff_id, states[:40])
        assert all((e.reason is not None) == (e.state == "away") for e in log)
        assert all(e.recorded_at >= e.at for e in log)
        since: datetime | None = None
        for e in log:
            at = _utc(e.at)
            if e.state == "ready":
                since = at
                if log[log.index(e) - 1].state == "offline" or e is log[0]:
                    on = [s for s in shifts[staff_id] if abs((at - s[0]).total_seconds()) <= 900]
                    assert on, (staff_id, at)
            elif since is not None:
                ready_spans[staff_id].append((since, at))
                since = None
        last = _utc(log[-1].at)
        assert any(s[0] < last <= s[1] + timedelta(hours=1) for s in shifts[staff_id])
        presence = session.get(AgentPresence, staff_id)
        assert presence is not None and presence.state == "offline"
        assert _utc(presence.since) == last

    # every answered contact was taken by an operator signed in and ready at that moment
    answered = session.exec(
        select(Contact.operator_id, Contact.answered_at).where(
            col(Contact.answered_at).is_not(None)
        )
    ).all()
    assert answered
    for operator_id, taken in answered:
        assert operator_id is not None and taken is not None
        spans = ready_spans[operator_id]
        i = bisect.bisect_right(spans, (_utc(taken), datetime.max.replace(tzinfo=UTC))) - 1
        assert i >= 0 and spans[i][0] <= _utc(taken) <= spans[i][1], (operator_id, taken)


def _fingerprint(session: Session) -> tuple[list[tuple[object, ...]], ...]:
    contacts = session.execute(
        text(
            "SELECT id, channel, direction, operator_id, queued_at, answered_at, ended_at, "
            "wrapup_ended_at, abandoned FROM contact ORDER BY id"
        )
    ).all()
    shifts = session.execute(
        text("SELECT staff_id, on_date, template_code FROM roster_shift ORDER BY id")
    ).all()
    events = session.execute(
        text("SELECT staff_id, state, reason, at FROM agent_state_event ORDER BY id")
    ).all()
    hourly = session.execute(
        text("SELECT month, hourly FROM staffing_requirement ORDER BY month")
    ).all()
    return (
        [tuple(r) for r in contacts],
        [tuple(r) for r in shifts],
        [tuple(r) for r in events],
        [tuple(r) for r in hourly],
    )


def test_the_same_seed_and_day_give_the_same_history(engine: Engine) -> None:
    small = {"citizens": 80, "contacts": 2500, "days": 45, "today": TODAY}
    runs = []
    for seed in (5, 5, 6):
        with Session(engine) as session:
            seed_demo(session=session, data_dir=DATA_DIR, seed=seed, **small)  # type: ignore[arg-type]
            session.flush()
            runs.append(_fingerprint(session))
            session.rollback()
    assert runs[0] == runs[1]
    assert all(part for part in runs[0])
    assert runs[2][0] != runs[0][0]
