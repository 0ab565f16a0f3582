"""The demo's workforce history: the staffing requirement of every month (Erlang C on the
planner's forecast of the demo's own calls, as `ekc-admin staffing requirements` computes
it), a published roster per month (the lawful first roster of `ekc_roster.greedy`, checked
by `ekc_roster.checker`), and the shifts the operators actually came to (sign-in a few
minutes around the start, a lunch and short breaks, sign-out at the end; a few no-shows).

The roster covers the requirement, not every operator's full norm: the demo centre has more
operators than its calls need, and a roster topping everybody up to the norm would leave
no hour short, which is not what plan against fact is for.
"""

from __future__ import annotations

import calendar as month_calendar
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ekc_core.enums import AwayReason
from ekc_core.localtime import CENTRE_TZ
from ekc_core.workforce import QueueModel, RequirementsRequest, RosterRules
from ekc_roster.calendar import ProductionCalendar
from ekc_roster.checker import check
from ekc_roster.erlang import required_agents
from ekc_roster.greedy import first_roster
from ekc_roster.model import LOOKBACK_DAYS, Assignment, Person, Problem, Template
from ekc_server.demo_queue import HANDLE_SECONDS, AgentSession
from ekc_server.demo_traffic import Arrivals, forecast

#: the requirement's parameters (the product's defaults: 80/20, 30 % shrinkage, ≥ 2 an hour)
REQUEST_DEFAULTS: dict[str, Any] = {"shrinkage": 0.3, "min_per_hour": 2}
#: the operators' norms are cut to this many times the required operator-hours (tried in
#: turn until the roster leaves no hour short)
ROSTER_COVER = (1.25, 1.5, 1.8)
#: share of rostered shifts nobody came to (sick on the day)
NO_SHOW = 0.03


@dataclass
class Workforce:
    requirements: list[dict[str, Any]] = field(default_factory=list)
    rosters: list[dict[str, Any]] = field(default_factory=list)
    shifts: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[AgentSession] = field(default_factory=list)


def _months(first: date, last: date) -> list[tuple[int, int]]:
    result = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        result.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def _local(day: date, minutes: int) -> datetime:
    return (datetime.combine(day, time(0), CENTRE_TZ) + timedelta(minutes=minutes)).astimezone(UTC)


def requirement(
    *, arrivals: Arrivals, calendar: ProductionCalendar | None, year: int, month: int
) -> tuple[list[int], dict[str, Any]]:
    """Required operators per hour of the month and the parameters, as the staffing service
    computes them (Erlang C for the forecast calls, the back-office work 08–20, shrinkage)."""
    request = RequirementsRequest(month=f"{year:04d}-{month:02d}", **REQUEST_DEFAULTS)
    aht = sum(HANDLE_SECONDS["inbound"])
    back_office_hours = (
        sum(
            arrivals.per_day[kind] * sum(HANDLE_SECONDS[kind])
            for kind in ("outbound", "written", "video")
        )
        / 3600
    )
    span = request.back_office_to - request.back_office_from
    cache: dict[float, int] = {}
    hourly: list[int] = []
    calls_out: list[float] = []
    for day_no in range(month_calendar.monthrange(year, month)[1]):
        calls = forecast(arrivals, date(year, month, day_no + 1), calendar)
        for hour in range(24):
            rate = round(calls[hour], 2)
            if rate not in cache:
                cache[rate] = required_agents(
                    rate, 3600, aht, target_sl=0.8, answer_within_seconds=20
                )
            hourly.append(
                request.hour_need(
                    hour=hour, phone_agents=cache[rate], back_office_hours_per_day=back_office_hours
                )
            )
            calls_out.append(rate)
    params = {
        "request": request.model_dump(mode="json"),
        "model": QueueModel.erlang_c.value,
        "aht_seconds": aht,
        "aht_source": "demo",
        "patience_seconds": None,
        "back_office_hours_per_day": round(back_office_hours, 3),
        "back_office_per_hour": round(back_office_hours / span, 4),
        "source": "demo: the planner's forecast (last month's level, the usual week)",
        "warnings": [],
        "calls": calls_out,
    }
    return hourly, params


def _roster(
    *,
    year: int,
    month: int,
    operators: Sequence[dict[str, Any]],
    templates: dict[str, Template],
    calendar: ProductionCalendar,
    required: list[int],
    before: list[Assignment],
) -> tuple[list[Assignment], dict[str, Any]]:
    first = date(year, month, 1)
    last = date(year, month, month_calendar.monthrange(year, month)[1])
    norms = sum(
        calendar.norm_hours(first, last, float(o["week_hours"])) * float(o["employment_rate"])
        for o in operators
    )
    for cover in ROSTER_COVER:
        scale = min(1.0, cover * sum(required) / norms) if norms else 1.0
        people = [
            Person(
                username=o["username"],
                full_name=o["full_name"],
                employment_rate=float(o["employment_rate"]) * scale,
                week_hours=float(o["week_hours"]),
                night_work=bool(o["night_work"]),
            )
            for o in operators
        ]
        problem = Problem(
            year=year,
            month=month,
            people=people,
            templates=templates,
            calendar=calendar,
            rules=RosterRules(),
            required=required,
            before=before,
            previous_known=bool(before),
        )
        shifts = first_roster(problem)
        result = check(problem, shifts)
        if not result.gaps:
            break
    solver = {
        "phase": "demo",
        "method": "greedy first roster (ekc_roster.greedy), checked",
        "shifts": len(shifts),
        "violations": len(result.violations),
        "gaps": len(result.gaps),
        "norm_share": round(scale, 3),
    }
    return shifts, solver


def _breaks(rng: random.Random, login: float, logout: float) -> list[tuple[float, float, str]]:
    """Planned breaks of a session (epoch seconds): a lunch mid-shift and short breaks."""
    hours = (logout - login) / 3600
    plan: list[tuple[float, float, str]] = []
    # lunches are staggered over the middle of the shift (a lead does not send everyone at
    # once); a short break before and after
    if hours >= 10:
        lunch = rng.uniform(3.5, 7.5)
        marks = [
            (lunch - rng.uniform(1.5, 2.5), 12, AwayReason.break_),
            (lunch, 40, AwayReason.lunch),
            (lunch + rng.uniform(2.0, 3.5), 12, AwayReason.break_),
        ]
    elif hours >= 6:
        lunch = rng.uniform(3.0, 5.0)
        marks = [
            (lunch - rng.uniform(1.2, 2.0), 10, AwayReason.break_),
            (lunch, 40, AwayReason.lunch),
            (lunch + rng.uniform(1.5, 2.5), 10, AwayReason.break_),
        ]
    else:
        marks = [(hours / 2, 10, AwayReason.break_)]
    for at_hours, minutes, reason in marks:
        at = login + at_hours * 3600
        plan.append((at, rng.uniform(0.8, 1.25) * minutes * 60, reason.value))
    if hours >= 8 and rng.random() < 0.06:  # a training session or a briefing
        reason = rng.choice([AwayReason.training, AwayReason.meeting])
        plan.append((login + rng.uniform(2.8, 4.5) * 3600, 30 * 60, reason.value))
    return sorted(plan)


def make_workforce(
    *,
    rng: random.Random,
    arrivals: Arrivals,
    calendar: ProductionCalendar | None,
    templates: dict[str, Template],
    operators: Sequence[dict[str, Any]],
    lead_id: int | None,
    today: date,
    cutoff: datetime,
) -> Workforce:
    """Requirements and published rosters for every month of the history and the next one;
    the sign-in sessions of the rostered shifts up to `cutoff`."""
    wf = Workforce()
    first_day = arrivals.start_day
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    by_username = {o["username"]: o for o in operators}
    previous: list[Assignment] = []
    history_start = _local(first_day, 0).timestamp()
    # the month before the history is rostered too (not stored): its last nights and rest
    # days carry into the first month, whose first hours would otherwise be nobody's
    lead_in = first_day.replace(day=1) - timedelta(days=1)
    for year, month in _months(lead_in, next_month):
        month_code = f"{year:04d}-{month:02d}"
        hourly, params = requirement(arrivals=arrivals, calendar=calendar, year=year, month=month)
        published = _local(date(year, month, 1), 0) - timedelta(days=40)
        stored = (year, month) != (lead_in.year, lead_in.month)
        if stored:
            wf.requirements.append(
                {
                    "month": month_code,
                    "hourly": hourly,
                    "params": params,
                    "created_by_id": lead_id,
                    "created_at": published - timedelta(days=2),
                }
            )
        if calendar is None or year not in calendar.years or not templates or not operators:
            previous = []
            continue
        first = date(year, month, 1)
        before = [a for a in previous if a.on_date >= first - timedelta(days=LOOKBACK_DAYS)]
        shifts, solver = _roster(
            year=year,
            month=month,
            operators=operators,
            templates=templates,
            calendar=calendar,
            required=hourly,
            before=before,
        )
        previous = shifts
        if not stored:
            continue
        roster_id = len(wf.rosters) + 1
        wf.rosters.append(
            {
                "id": roster_id,
                "month": month_code,
                "status": "published",
                "rules": RosterRules().model_dump(mode="json"),
                "solver": solver,
                "version": 1,
                "created_by_id": lead_id,
                "created_at": published - timedelta(days=1),
                "updated_at": published,
                "published_at": published,
                "published_by_id": lead_id,
            }
        )
        for a in shifts:
            staff = by_username[a.username]
            wf.shifts.append(
                {
                    "id": len(wf.shifts) + 1,
                    "roster_id": roster_id,
                    "staff_id": staff["id"],
                    "on_date": a.on_date,
                    "template_code": a.template_code,
                }
            )
            template = templates[a.template_code]
            start = _local(a.on_date, template.start_min).timestamp()
            end = start + template.span_min * 60
            if start < history_start or start >= cutoff.timestamp() or rng.random() < NO_SHOW:
                continue
            login = start + max(-600.0, min(480.0, rng.gauss(-180, 180)))
            logout = min(end + rng.uniform(0, 240), cutoff.timestamp())
            wf.sessions.append(
                AgentSession(
                    staff_id=staff["id"],
                    login=login,
                    logout=logout,
                    breaks=_breaks(rng, login, logout),
                )
            )
    wf.sessions.sort(key=lambda s: (s.login, s.staff_id))
    return wf
