"""Staffing: the calls-per-hour forecast from the contact history, and required operators.

`forecast` reads the inbound phone calls of the last N whole weeks and averages them per
weekday × hour (public holidays apart); `requirements` turns that profile into required
operators for every hour of a month with Erlang C or Erlang A, adds the non-queue work
(outgoing calls, written channels) and shrinkage, and stores the result for the roster
generator (`StaffingRequirement`).

Definitions (the README's "Staffing" section repeats them for shift leads):

- the window is the `weeks × 7` days before `until` (`until` itself — usually today, still
  incomplete — is not included), so every weekday occurs exactly `weeks` times;
- offered calls: every inbound phone contact queued in the window, whatever its outcome;
- handle time of a contact: (ended_at − answered_at) + (wrapup_ended_at − ended_at), the
  second part only when the wrap-up end is known; contacts without answered_at or ended_at
  are left out of the mean; when no contact of a kind has both, a default is used;
- caller patience: total time waited by all callers (answered: answered_at − queued_at;
  abandoned: ended_at − queued_at) / number of abandoned calls (the maximum-likelihood
  estimate for exponential patience); None when nobody abandoned;
- written channels: every non-phone contact (e-mail, chats, social networks, ПОС, video).
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, and_, case, cast, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ekc_core.enums import Channel, ContactStatus, Direction
from ekc_core.localtime import CENTRE_TZ
from ekc_core.workforce import (
    ForecastProfile,
    QueueModel,
    RequirementsPublic,
    RequirementsRequest,
    holiday_profile_source,
    month_bounds,
)
from ekc_core.workforce_groups import GroupRequirementPublic
from ekc_roster.calendar import (
    CALENDAR_FILE,
    CalendarMissingError,
    ProductionCalendar,
    default_calendar_path,
)
from ekc_roster.erlang import required_agents
from ekc_server.errors import InvalidFieldError, NotFoundError
from ekc_server.models import Contact, StaffingRequirement, utcnow

#: handle times used when the history has no contact of that kind with both timestamps:
#: the centre's measured AHT after the "single operator window" (DESIGN §1: 362 s → 297 s)
DEFAULT_AHT_SECONDS = 297.0
DEFAULT_OUTBOUND_AHT_SECONDS = 297.0
#: a written answer (read, look up, type) when the history has no timestamps for it
DEFAULT_WRITTEN_AHT_SECONDS = 600.0

#: fewer public holidays than this in the history make a thin holiday profile (a warning)
MIN_HOLIDAY_DAYS = 3


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), CENTRE_TZ).astimezone(UTC)


def _today_local() -> date:
    return datetime.now(CENTRE_TZ).date()


def load_calendar(reference_dir: Path | None = None) -> ProductionCalendar:
    """The production calendar of the reference data (the shipped one by default); read
    again only when the file changes."""
    path = (reference_dir / "reference" / CALENDAR_FILE) if reference_dir else None
    path = path or default_calendar_path()
    return _cached_calendar(path, path.stat().st_mtime_ns if path.exists() else 0)


@lru_cache(maxsize=4)
def _cached_calendar(path: Path, _mtime_ns: int) -> ProductionCalendar:
    return ProductionCalendar.load(path)


def _missing_years(cal: ProductionCalendar, days: Iterable[date]) -> set[int]:
    return {d.year for d in days} - set(cal.years)


def _is_holiday(cal: ProductionCalendar, day: date, missing: set[int]) -> bool:
    """Years missing from the calendar count as having no holidays (history older than the
    calendar is rare; `requirements` warns about it)."""
    return day.year not in missing and cal.is_public_holiday(day)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_seconds(session: Session) -> Callable[[Any], ColumnElement[float]]:
    """SQL for a timestamp column as seconds since 1970 (UTC), per database."""
    if session.get_bind().dialect.name == "sqlite":
        # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC; Julian day 2440587.5 is 1970-01-01
        return lambda column: (func.julianday(column) - 2440587.5) * 86400.0
    return lambda column: cast(func.extract("epoch", column), Float)


def _utc_hour(session: Session, column: Any) -> ColumnElement[int]:
    """SQL for the hour since 1970 (UTC) a timestamp falls in, exactly (no float rounding)."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(cast(func.strftime("%s", column), Integer) / 3600, Integer)
    return cast(func.floor(func.extract("epoch", column) / 3600), Integer)


def _mean(total: float, count: int, default: float) -> float:
    return round(total / count, 1) if count else default


def forecast(
    *,
    session: Session,
    weeks: int,
    until: date | None = None,
    calendar: ProductionCalendar | None = None,
) -> ForecastProfile:
    """Calls per weekday × hour (and per hour of a public holiday) from the contact history."""
    if weeks < 1:
        raise InvalidFieldError("число недель не меньше 1", field="weeks", location="query")
    cal = calendar or load_calendar()
    end_day = until or _today_local()
    start_day = end_day - timedelta(days=7 * weeks)
    days = [start_day + timedelta(days=i) for i in range(7 * weeks)]
    missing = _missing_years(cal, days)
    holiday_days = {d for d in days if _is_holiday(cal, d, missing)}

    by_day: dict[date, list[int]] = {d: [0] * 24 for d in days}
    window = (
        col(Contact.queued_at) >= _local_midnight_utc(start_day),
        col(Contact.queued_at) < _local_midnight_utc(end_day),
    )
    seconds = _epoch_seconds(session)
    queued, answered_at, ended, wrapped = (
        seconds(col(Contact.queued_at)),
        seconds(col(Contact.answered_at)),
        seconds(col(Contact.ended_at)),
        seconds(col(Contact.wrapup_ended_at)),
    )
    is_answered = col(Contact.answered_at).is_not(None)
    has_handle = and_(is_answered, col(Contact.ended_at).is_not(None))
    # talk + after-call work; negative spans (clock skew) count as zero
    handle = case(
        (col(Contact.ended_at) > col(Contact.answered_at), ended - answered_at), else_=0.0
    ) + case((col(Contact.wrapup_ended_at) > col(Contact.ended_at), wrapped - ended), else_=0.0)
    is_abandoned = and_(
        col(Contact.answered_at).is_(None),
        or_(
            col(Contact.abandoned).is_(True),
            col(Contact.status) == ContactStatus.abandoned.value,
        ),
    )
    waited = case(
        (
            and_(is_answered, col(Contact.answered_at) > col(Contact.queued_at)),
            answered_at - queued,
        ),
        (
            and_(is_abandoned, col(Contact.ended_at) > col(Contact.queued_at)),
            ended - queued,
        ),
        else_=0.0,
    )
    inbound_phone = and_(
        col(Contact.channel) == Channel.phone.value,
        col(Contact.direction) == Direction.inbound.value,
    )

    # inbound calls by UTC hour (every Irkutsk offset is a whole number of hours)
    utc_hour = _utc_hour(session, col(Contact.queued_at)).label("utc_hour")
    inbound = answered = abandoned = handled = 0
    handle_total = waited_total = 0.0
    for hour_index, n, n_answered, n_abandoned, n_handled, handle_sum, wait_sum in session.execute(
        sa_select(
            utc_hour,
            func.count(),
            func.count(col(Contact.answered_at)),
            func.sum(case((is_abandoned, 1), else_=0)),
            func.sum(case((has_handle, 1), else_=0)),
            func.sum(case((has_handle, handle), else_=0.0)),
            func.sum(waited),
        )
        .where(*window, inbound_phone)
        .group_by(utc_hour)
    ):
        local = (_EPOCH + timedelta(hours=int(hour_index))).astimezone(CENTRE_TZ)
        if local.date() in by_day:
            by_day[local.date()][local.hour] += int(n)
        inbound += int(n)
        answered += int(n_answered)
        abandoned += int(n_abandoned or 0)
        handled += int(n_handled or 0)
        handle_total += float(handle_sum or 0)
        waited_total += float(wait_sum or 0)

    # outgoing calls and written channels: counts and handle times only
    kind = case((col(Contact.channel) == Channel.phone.value, "outbound"), else_="written")
    work: dict[str, tuple[int, int, float]] = {}
    for name, n, n_handled, handle_sum in session.execute(
        sa_select(
            kind,
            func.count(),
            func.sum(case((has_handle, 1), else_=0)),
            func.sum(case((has_handle, handle), else_=0.0)),
        )
        .where(*window, ~inbound_phone)
        .group_by(kind)
    ):
        work[str(name)] = (int(n), int(n_handled or 0), float(handle_sum or 0))
    outbound, outbound_handled, outbound_total = work.get("outbound", (0, 0, 0.0))
    written, written_handled, written_total = work.get("written", (0, 0, 0.0))

    def mean_profile(selected: Iterable[date]) -> list[float]:
        chosen = list(selected)
        if not chosen:
            return [0.0] * 24
        return [sum(by_day[d][h] for d in chosen) / len(chosen) for h in range(24)]

    calls: list[list[float]] = []
    for weekday in range(7):
        same = [d for d in days if d.weekday() == weekday]
        ordinary = [d for d in same if d not in holiday_days]
        # a weekday that was a holiday every time (a one-week window) keeps its own days
        calls.append(mean_profile(ordinary or same))
    holiday_dates, holiday_hours = _holiday_history(session, cal, end_day, inbound_phone)
    holiday_calls = (
        [sum(holiday_hours[d][h] for d in holiday_dates) / len(holiday_dates) for h in range(24)]
        if holiday_dates
        else list(calls[6])
    )
    n_days = len(days)
    return ForecastProfile(
        from_date=start_day,
        to_date=end_day - timedelta(days=1),
        weeks=weeks,
        calls=calls,
        holiday_calls=holiday_calls,
        holiday_dates=holiday_dates,
        inbound_calls=inbound,
        answered_calls=answered,
        abandoned_calls=abandoned,
        aht_seconds=_mean(handle_total, handled, DEFAULT_AHT_SECONDS),
        patience_seconds=round(waited_total / abandoned, 1) if abandoned else None,
        outbound_per_day=round(outbound / n_days, 2),
        outbound_aht_seconds=_mean(outbound_total, outbound_handled, DEFAULT_OUTBOUND_AHT_SECONDS),
        written_per_day=round(written / n_days, 2),
        written_aht_seconds=_mean(written_total, written_handled, DEFAULT_WRITTEN_AHT_SECONDS),
    )


#: how far back public holidays feed the holiday profile (all of the past year's)
HOLIDAY_LOOKBACK_DAYS = 365


def _holiday_history(
    session: Session, cal: ProductionCalendar, end_day: date, inbound_phone: Any
) -> tuple[list[date], dict[date, list[int]]]:
    """Public holidays of the year before `end_day` that the contact history covers (from the
    day of its first inbound call), and their inbound calls per local hour."""
    first = session.execute(
        sa_select(func.min(col(Contact.queued_at))).where(inbound_phone)
    ).scalar_one_or_none()
    if first is None:
        return [], {}
    if first.tzinfo is None:  # SQLite hands back naive UTC
        first = first.replace(tzinfo=UTC)
    since = max(end_day - timedelta(days=HOLIDAY_LOOKBACK_DAYS), first.astimezone(CENTRE_TZ).date())
    span = [since + timedelta(days=i) for i in range((end_day - since).days)]
    missing = _missing_years(cal, span)
    chosen = [d for d in span if _is_holiday(cal, d, missing)]
    if not chosen:
        return [], {}
    hours: dict[date, list[int]] = {d: [0] * 24 for d in chosen}
    utc_hour = _utc_hour(session, col(Contact.queued_at)).label("utc_hour")
    in_days = or_(
        *(
            and_(
                col(Contact.queued_at) >= _local_midnight_utc(d),
                col(Contact.queued_at) < _local_midnight_utc(d + timedelta(days=1)),
            )
            for d in chosen
        )
    )
    for hour_index, n in session.execute(
        sa_select(utc_hour, func.count()).where(inbound_phone, in_days).group_by(utc_hour)
    ):
        local = (_EPOCH + timedelta(hours=int(hour_index))).astimezone(CENTRE_TZ)
        if local.date() in hours:
            hours[local.date()][local.hour] += int(n)
    return chosen, hours


def _month_days(month: str) -> list[date]:
    year, mon = month_bounds(month)
    count = month_calendar.monthrange(year, mon)[1]
    return [date(year, mon, day) for day in range(1, count + 1)]


def requirements(
    *,
    session: Session,
    request: RequirementsRequest,
    created_by_id: int | None,
    until: date | None = None,
    calendar: ProductionCalendar | None = None,
) -> RequirementsPublic:
    """Required operators for every hour of `request.month`; stored (replacing an earlier
    result for the month) and committed."""
    cal = calendar or load_calendar()
    year, mon = month_bounds(request.month)
    try:
        status = cal.year_status(year)
    except CalendarMissingError as exc:
        raise InvalidFieldError(str(exc), field="month") from exc
    if request.back_office_from >= request.back_office_to:
        raise InvalidFieldError(
            "часы работы вне очереди: начало раньше конца (например, 8–20)",
            field="back_office_to",
        )

    profile = forecast(session=session, weeks=request.weeks, until=until, calendar=cal)
    if profile.inbound_calls == 0:
        raise InvalidFieldError(
            f"в истории нет входящих звонков за {request.weeks} нед. "
            f"({profile.from_date:%d.%m.%Y}–{profile.to_date:%d.%m.%Y}): "
            "прогноз не из чего строить",
            field="weeks",
        )
    aht = request.aht_seconds or profile.aht_seconds
    patience: float | None = None
    if request.model == QueueModel.erlang_a:
        patience = request.patience_seconds or profile.patience_seconds
        if patience is None:
            raise InvalidFieldError(
                "для модели Эрланга A нужно терпение звонящих: в истории нет брошенных "
                "звонков, укажите его явно (--patience, секунды)",
                field="patience_seconds",
            )

    warnings: list[str] = []
    calendar_warning = cal.status_warning(year)
    if calendar_warning:
        warnings.append(calendar_warning)
    missing_years = _missing_years(cal, (profile.from_date, profile.to_date))
    if missing_years:
        years = ", ".join(str(y) for y in sorted(missing_years))
        warnings.append(
            f"в календаре нет {years} г.: праздники этих лет в истории не отделены от будней"
        )
    month_holidays = [d for d in _month_days(request.month) if cal.is_public_holiday(d)]
    if month_holidays and 0 < len(profile.holiday_dates) < MIN_HOLIDAY_DAYS:
        warnings.append(
            f"{holiday_profile_source(profile.holiday_dates)}; по нему рассчитаны "
            f"праздничные дни месяца ({len(month_holidays)}) — мало дней для надёжного "
            "профиля, проверьте их потребность"
        )
    if profile.answered_calls == 0 and request.aht_seconds is None:
        warnings.append(
            f"в истории нет отвеченных звонков: время обслуживания взято по умолчанию ({aht:.0f} с)"
        )

    back_office_hours = (
        profile.outbound_per_day * profile.outbound_aht_seconds
        + profile.written_per_day * profile.written_aht_seconds
    ) / 3600
    span = request.back_office_to - request.back_office_from
    back_office_per_hour = back_office_hours / span

    agents_for: dict[float, int] = {}

    def agents(calls: float) -> int:
        if calls not in agents_for:
            agents_for[calls] = required_agents(
                calls,
                3600,
                aht,
                target_sl=request.target_service_level,
                answer_within_seconds=request.answer_within_seconds,
                patience_seconds=patience,
            )
        return agents_for[calls]

    days = _month_days(request.month)
    hourly: list[int] = []
    calls_out: list[float] = []
    holidays: list[str] = []
    for day in days:
        holiday = bool(cal.is_public_holiday(day))
        if holiday:
            holidays.append(day.isoformat())
        row = profile.holiday_calls if holiday else profile.calls[day.weekday()]
        for hour in range(24):
            calls = row[hour] * request.growth
            hourly.append(
                request.hour_need(
                    hour=hour,
                    phone_agents=agents(calls),
                    back_office_hours_per_day=back_office_hours,
                )
            )
            calls_out.append(calls)
    # the groups' module reads this one's helpers: imported here, not at the top
    from ekc_server.services.staffing_groups import group_requirements

    groups = group_requirements(
        session=session,
        request=request,
        profile=profile,
        cal=cal,
        days=days,
        agents=agents,
        aht_seconds=aht,
        back_office_hours=back_office_hours,
    )

    params: dict[str, Any] = {
        "request": request.model_dump(mode="json"),
        "model": request.model.value,
        "aht_seconds": aht,
        "aht_source": "request" if request.aht_seconds else "history",
        "patience_seconds": patience,
        "patience_source": (
            None if patience is None else "request" if request.patience_seconds else "history"
        ),
        "back_office_hours_per_day": round(back_office_hours, 3),
        "back_office_per_hour": round(back_office_per_hour, 4),
        "profile": {
            "from_date": profile.from_date.isoformat(),
            "to_date": profile.to_date.isoformat(),
            "weeks": profile.weeks,
            "inbound_calls": profile.inbound_calls,
            "answered_calls": profile.answered_calls,
            "abandoned_calls": profile.abandoned_calls,
            "aht_seconds": profile.aht_seconds,
            "patience_seconds": profile.patience_seconds,
            "outbound_per_day": profile.outbound_per_day,
            "outbound_aht_seconds": profile.outbound_aht_seconds,
            "written_per_day": profile.written_per_day,
            "written_aht_seconds": profile.written_aht_seconds,
            "calls_per_week": round(sum(sum(r) for r in profile.calls), 1),
            "holiday_dates": [d.isoformat() for d in profile.holiday_dates],
            "holiday_source": holiday_profile_source(profile.holiday_dates),
        },
        "calendar": {
            "year": year,
            "status": status,
            "holidays": holidays,
            "norm_hours": cal.month_norm_hours(year, mon),
        },
        "warnings": warnings,
        "calls": calls_out,
        "groups": groups,
    }
    row_db = session.get(StaffingRequirement, request.month)
    if row_db is None:
        row_db = StaffingRequirement(month=request.month)
    row_db.hourly = hourly
    row_db.params = params
    row_db.created_by_id = created_by_id
    row_db.created_at = utcnow()
    session.add(row_db)
    session.commit()
    return _public(row_db)


def _public(row: StaffingRequirement) -> RequirementsPublic:
    params = dict(row.params)
    calls = params.pop("calls", [])
    groups = params.pop("groups", [])
    return RequirementsPublic(
        month=row.month,
        hourly=list(row.hourly),
        calls=list(calls),
        params=params,
        created_at=row.created_at,
        operator_hours=sum(row.hourly),
        groups=[GroupRequirementPublic(**g, operator_hours=sum(g["hourly"])) for g in groups],
    )


def stored(*, session: Session, month: str) -> RequirementsPublic:
    """The requirement last computed for `month`."""
    row = session.get(StaffingRequirement, month)
    if row is None:
        raise NotFoundError(
            f"потребность в операторах на {month} не рассчитана; "
            f"выполните: ekc-admin staffing requirements --month {month}"
        )
    return _public(row)
