"""When the demo's contacts arrive: the centre's hour-of-day, weekday and seasonal profiles,
public holidays, busy days, and bursts of calls (news, a campaign, an outage: many people
call within minutes), which is what makes a well-staffed hour still miss some calls.

Volumes follow the centre's own figures for 10 months of 2024 (extracted presentation):
53,802 incoming and 43,686 outgoing calls (≈ 120,000 calls a year), 1,663 video
consultations over 44 of the 48 MFC offices, and the written channels.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ekc_core.enums import Channel
from ekc_core.localtime import CENTRE_TZ
from ekc_roster.calendar import ProductionCalendar

# inbound calls per hour of day (local time), relative
HOUR_PROFILE = [
    1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 3, 6.5, 9, 9.5, 9,
    8, 8.5, 9, 8.5, 7.5, 6, 4.5, 3.5, 3, 2.5, 2, 1.4,
]  # fmt: skip
WEEKDAY_PROFILE = [1.15, 1.1, 1.05, 1.0, 0.95, 0.6, 0.5]  # Monday first
#: calls per month, relative (January first): the New Year lull, the autumn peak of the
#: contract-service campaign (the centre's busiest months were September and October)
MONTH_PROFILE = [0.88, 0.94, 0.98, 0.97, 0.95, 0.93, 0.97, 1.02, 1.1, 1.16, 1.08, 0.98]
#: a public holiday is about as quiet as a Sunday
HOLIDAY_FACTOR = 0.55
# outgoing calls (callbacks, results of appeals): working hours mostly
OUTBOUND_HOURS = [
    0, 0, 0, 0, 0, 0, 0, 0.2, 0.8, 1, 1, 1,
    0.7, 0.9, 1, 1, 0.9, 0.8, 0.6, 0.4, 0.2, 0.05, 0, 0,
]  # fmt: skip
# written messages: like the calls, but people write late in the evening too
WRITTEN_HOURS = [
    1.2, 0.8, 0.5, 0.4, 0.4, 0.5, 1, 2, 4, 6, 6.5, 6.5,
    6, 6, 6.5, 6, 5.5, 5, 4.5, 4.5, 4.5, 4, 3, 2,
]  # fmt: skip
# video consultations: the self-service zones of the MFCs, open 8:00–20:00 Monday–Saturday
VIDEO_HOURS = [0] * 8 + [0.6, 1, 1, 1, 0.8, 0.9, 1, 1, 0.9, 0.7, 0.5, 0.3] + [0] * 4
#: shares of all contacts: ~120,000 calls a year (55 % in, 45 % out), written, video
CHANNEL_SHARES = {"inbound": 0.505, "outbound": 0.41, "written": 0.07, "video": 0.015}
WRITTEN_CHANNELS = [
    (Channel.social, 35),
    (Channel.pos, 25),
    (Channel.governor_chat, 15),
    (Channel.web_chat, 15),
    (Channel.email, 10),
]
#: share of the inbound calls that come in bursts, and a burst's mean size and spread
BURST_SHARE = 0.3
BURST_SIZE = 9.0
#: inbound calls a day the burst size is meant for (the centre's ~177): a smaller demo has
#: fewer operators on shift, and its bursts are as much smaller (down to 4 calls)
BURST_DAILY_CALLS = 177.0
BURST_SPREAD_SECONDS = 300.0


@dataclass
class Arrivals:
    start_day: date
    days: int
    #: UTC times, sorted, per kind
    inbound: list[datetime] = field(default_factory=list)
    outbound: list[datetime] = field(default_factory=list)
    written: list[tuple[datetime, Channel]] = field(default_factory=list)
    video: list[tuple[datetime, int]] = field(default_factory=list)
    #: calls per unit of day weight × hour profile (see `forecast`)
    forecast_scale: float = 0.0
    #: expected outgoing, written and video contacts per day (for the back-office work)
    per_day: dict[str, float] = field(default_factory=dict)


def _day_weight(day: date, calendar: ProductionCalendar | None, month_factor: float) -> float:
    holiday = (
        calendar is not None and day.year in calendar.years and calendar.is_public_holiday(day)
    )
    return (HOLIDAY_FACTOR if holiday else WEEKDAY_PROFILE[day.weekday()]) * month_factor


def forecast(arrivals: Arrivals, day: date, calendar: ProductionCalendar | None) -> list[float]:
    """The planner's forecast of inbound calls per local hour of `day`, which the staffing
    requirement is computed from: the usual week at a seasonal level half-way between the
    month before (the history the roster is made from, a month ahead) and the month itself
    (what the planner expects), without busy days or bursts: a rising month is short of
    operators, a falling one has some to spare."""
    previous = (day.replace(day=1) - timedelta(days=1)).month
    level = (MONTH_PROFILE[previous - 1] + MONTH_PROFILE[day.month - 1]) / 2
    weight = _day_weight(day, calendar, level)
    return [weight * h * arrivals.forecast_scale for h in HOUR_PROFILE]


def _at(rng: random.Random, day: date, hour: int) -> datetime:
    local = datetime.combine(day, time(hour), CENTRE_TZ) + timedelta(seconds=rng.random() * 3600)
    return local.astimezone(UTC)


def _draw(
    rng: random.Random, days: list[date], day_weights: list[float], hours: list[float], k: int
) -> list[datetime]:
    """`k` times over the days, by day weight × hour profile."""
    if k <= 0:
        return []
    weights = [dw * hw for dw in day_weights for hw in hours]
    slots = rng.choices(range(len(weights)), weights=weights, k=k)
    slots.sort()
    return [_at(rng, days[s // 24], s % 24) for s in slots]


def make_arrivals(
    *,
    rng: random.Random,
    start_day: date,
    days: int,
    contacts: int,
    video_offices: list[int],
    calendar: ProductionCalendar | None,
) -> Arrivals:
    """Arrival times of `contacts` contacts over `days` days from `start_day` (local)."""
    dates = [start_day + timedelta(days=d) for d in range(days)]
    # busy and quiet days: a day's level varies by ~10 %, a few days (news) by much more
    noise = [rng.lognormvariate(0, 0.08) * (1.35 if rng.random() < 0.03 else 1.0) for _ in dates]
    actual = [
        _day_weight(d, calendar, MONTH_PROFILE[d.month - 1]) * n
        for d, n in zip(dates, noise, strict=True)
    ]
    n_in = round(contacts * CHANNEL_SHARES["inbound"])
    n_out = round(contacts * CHANNEL_SHARES["outbound"])
    n_video = round(contacts * CHANNEL_SHARES["video"]) if video_offices else 0
    n_written = contacts - n_in - n_out - n_video
    arrivals = Arrivals(start_day=start_day, days=days)

    # inbound: a steady stream plus bursts, more bursts in the busy months
    n_burst = round(n_in * BURST_SHARE)
    steady = _draw(rng, dates, actual, HOUR_PROFILE, n_in - n_burst)
    burst: list[datetime] = []
    burst_size = max(4.0, BURST_SIZE * min(1.0, n_in / days / BURST_DAILY_CALLS) ** 0.5)
    burst_weights = [
        w * MONTH_PROFILE[d.month - 1] ** 2 for d, w in zip(dates, actual, strict=True)
    ]
    while len(burst) < n_burst:
        centres = _draw(rng, dates, burst_weights, HOUR_PROFILE, 1 + int(n_burst / burst_size))
        rng.shuffle(centres)  # drawn in time order: the last ones may be left unused
        for centre in centres:
            size = min(n_burst - len(burst), 1 + int(rng.expovariate(1 / (burst_size - 1))))
            burst += [
                centre + timedelta(seconds=rng.expovariate(1 / BURST_SPREAD_SECONDS))
                for _ in range(size)
            ]
            if len(burst) >= n_burst:
                break
    end = datetime.combine(dates[-1] + timedelta(days=1), time(0), CENTRE_TZ).astimezone(UTC)
    arrivals.inbound = sorted(t for t in steady + burst if t < end)
    arrivals.outbound = _draw(rng, dates, actual, OUTBOUND_HOURS, n_out)
    channels = [c for c, _ in WRITTEN_CHANNELS]
    channel_weights = [w for _, w in WRITTEN_CHANNELS]
    arrivals.written = [
        (t, rng.choices(channels, weights=channel_weights, k=1)[0])
        for t in _draw(rng, dates, actual, WRITTEN_HOURS, n_written)
    ]
    office_weights = [rng.uniform(0.3, 1.7) for _ in video_offices]
    video_days = [0.0 if d.weekday() == 6 else w for d, w in zip(dates, actual, strict=True)]
    arrivals.video = [
        (t, rng.choices(video_offices, weights=office_weights, k=1)[0])
        for t in _draw(rng, dates, video_days, VIDEO_HOURS, n_video)
    ]

    total_actual = sum(actual) * sum(HOUR_PROFILE)
    arrivals.forecast_scale = n_in / total_actual if total_actual else 0.0
    arrivals.per_day = {
        "outbound": n_out / days,
        "written": n_written / days,
        "video": n_video / days,
    }
    return arrivals
