"""Staffing by operator group (issue 14): each group's own forecast and requirement.

A contact's group is its topic's group in the routing table in force
(`RoutingTable.group_for_topic`; no topic: the general group). A group's calls in an hour
are the pooled forecast (`staffing.forecast`) times the group's share of the history's
inbound calls on that weekday and hour (at that hour over all days for public holidays and
for hours with no history), so the groups' calls add up to the pooled forecast.

In every hour a group whose own load is below `merge_below_erlangs` joins its first overflow
target's queue and has no own requirement (`ekc_roster.group_merge`); every other group is
its own queue: its operators come from Erlang for its calls plus those merged into it,
grossed up by the shrinkage; the general group also takes the back-office work and the
hourly floor. Small queues need relatively more operators, so the groups' sum stays above
the pooled requirement — the cost of splitting, shown next to the pooled total.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ekc_core.enums import Channel, Direction
from ekc_core.localtime import CENTRE_TZ
from ekc_core.routing import RoutingTable
from ekc_core.workforce import ForecastProfile, RequirementsPublic, RequirementsRequest
from ekc_roster.calendar import ProductionCalendar
from ekc_roster.group_merge import merge_map, queue_calls
from ekc_server.errors import InvalidFieldError
from ekc_server.models import Contact, Topic
from ekc_server.services.routing import table_in_force
from ekc_server.services.staffing import _EPOCH, _local_midnight_utc, _utc_hour

Shares = dict[str, list[list[float]]]
"""Group → 8 × 24 shares of the calls: rows 0–6 weekdays (Monday first), row 7 any day."""


def call_shares(session: Session, table: RoutingTable, start_day: date, end_day: date) -> Shares:
    """Each group's share of the inbound phone calls queued in [start_day, end_day) by
    weekday × local hour, and by hour over all days (row 7)."""
    utc_hour = _utc_hour(session, col(Contact.queued_at)).label("utc_hour")
    rows = session.execute(
        sa_select(utc_hour, col(Topic.code), func.count())
        .select_from(Contact)
        .outerjoin(Topic, col(Topic.id) == col(Contact.topic_id))
        .where(
            col(Contact.queued_at) >= _local_midnight_utc(start_day),
            col(Contact.queued_at) < _local_midnight_utc(end_day),
            and_(
                col(Contact.channel) == Channel.phone.value,
                col(Contact.direction) == Direction.inbound.value,
            ),
        )
        .group_by(utc_hour, col(Topic.code))
    )
    counts: dict[str, list[list[int]]] = defaultdict(lambda: [[0] * 24 for _ in range(8)])
    totals = [[0] * 24 for _ in range(8)]
    for hour_index, topic, n in rows:
        local = (_EPOCH + timedelta(hours=int(hour_index))).astimezone(CENTRE_TZ)
        group = table.group_for_topic(topic)
        for row in (local.weekday(), 7):
            counts[group][row][local.hour] += int(n)
            totals[row][local.hour] += int(n)
    shares: Shares = {}
    for group, grid in counts.items():
        shares[group] = [
            [
                grid[row][h] / totals[row][h]
                if totals[row][h]
                else (grid[7][h] / totals[7][h] if totals[7][h] else 0.0)
                for h in range(24)
            ]
            for row in range(8)
        ]
    return shares


def group_requirements(
    *,
    session: Session,
    request: RequirementsRequest,
    profile: ForecastProfile,
    cal: ProductionCalendar,
    days: list[date],
    agents: Callable[[float], int],
    aht_seconds: float,
    back_office_hours: float,
) -> list[dict[str, Any]]:
    """Each group's calls, required operators and the group its calls are merged into for
    every hour of `days` (stored in the requirement's params under `groups`)."""
    table = table_in_force(session)
    end_day = profile.to_date + timedelta(days=1)
    shares = call_shares(session, table, profile.from_date, end_day)
    codes = list(table.groups)
    none = [[0.0] * 24 for _ in range(8)]
    hourly: dict[str, list[int]] = {c: [] for c in codes}
    calls_out: dict[str, list[float]] = {c: [] for c in codes}
    merged: dict[str, list[str]] = {c: [] for c in codes}
    for day in days:
        holiday = bool(cal.is_public_holiday(day))
        row = profile.holiday_calls if holiday else profile.calls[day.weekday()]
        part = 7 if holiday else day.weekday()
        for hour in range(24):
            calls = {c: row[hour] * shares.get(c, none)[part][hour] * request.growth for c in codes}
            loads = {c: n * aht_seconds / 3600 for c, n in calls.items()}
            into = merge_map(table, loads, request.merge_below_erlangs)
            queues = queue_calls(calls, into)
            for code in codes:
                calls_out[code].append(calls[code])
                merged[code].append("" if into[code] == code else into[code])
                if into[code] != code:
                    need = 0
                elif code == table.general:  # back-office work and the floor stay here
                    need = request.hour_need(
                        hour=hour,
                        phone_agents=agents(queues.get(code, 0.0)),
                        back_office_hours_per_day=back_office_hours,
                    )
                else:
                    need = math.ceil(agents(queues.get(code, 0.0)) / (1 - request.shrinkage) - 1e-9)
                hourly[code].append(need)
    total_calls = sum(sum(row) for row in profile.calls)
    result: list[dict[str, Any]] = []
    for code in codes:
        if code != table.general and code not in shares and not any(merged[code]):
            continue  # no calls in the history, and a queue of its own (empty) all month
        share = shares.get(code, none)
        week = sum(profile.calls[wd][h] * share[wd][h] for wd in range(7) for h in range(24))
        result.append(
            {
                "code": code,
                "name": table.groups[code].name,
                "hourly": hourly[code],
                "calls": calls_out[code],
                "share": round(week / total_calls, 4) if total_calls else 0.0,
                "merged_into": merged[code] if any(merged[code]) else [],
            }
        )
    return result


def one_group(result: RequirementsPublic, group: str) -> RequirementsPublic:
    """The stored requirement with only `group`'s own (422 naming `group` when it has none)."""
    chosen = [g for g in result.groups if g.code == group]
    if not chosen:
        known = ", ".join(g.code for g in result.groups) or "не рассчитаны — пересчитайте"
        raise InvalidFieldError(
            f"группы «{group}» нет в потребности на {result.month} (группы: {known})",
            field="group",
            location="query",
        )
    return result.model_copy(update={"groups": chosen})
