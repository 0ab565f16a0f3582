"""What every report builder shares: checking a period of local dates, the current day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ekc_core.localtime import CENTRE_TZ
from ekc_server.errors import InvalidFieldError

MAX_REPORT_DAYS = 732
"""The longest period of a report (two years, a leap year included)."""


def today_local(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(CENTRE_TZ).date()


def check_period(
    date_from: date, date_to: date, *, max_days: int = MAX_REPORT_DAYS, too_long_field: str = "to"
) -> None:
    """422 with a Russian message naming the field for a period that cannot be reported;
    `too_long_field`: the field to blame for a period over `max_days` (the one the caller
    gave, when the other was a default)."""
    if date_from > date_to:
        raise InvalidFieldError(
            f"начало периода ({date_from:%d.%m.%Y}) позже его конца ({date_to:%d.%m.%Y})",
            field="from",
            location="query",
        )
    days = (date_to - date_from).days + 1
    if days > max_days:
        raise InvalidFieldError(
            f"период слишком длинный: с {date_from:%d.%m.%Y} по {date_to:%d.%m.%Y} — {days} дн.; "
            f"не больше {max_days} дней: сузьте from/to",
            field=too_long_field,
            location="query",
        )


def month_bounds(month: str) -> tuple[date, date]:
    """`"2026-12"` → its first and last day; 422 naming `month` when it is not a month."""
    try:
        year, mon = (int(part) for part in month.split("-"))
        first = date(year, mon, 1)
    except ValueError as exc:
        raise InvalidFieldError(
            "месяц в виде ГГГГ-ММ, например 2026-12", field="month", location="query"
        ) from exc
    following = date(year + (mon == 12), mon % 12 + 1, 1)
    return first, following - timedelta(days=1)
