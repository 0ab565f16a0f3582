"""When a write happened: the desk's time of the operator's action, corrected for the desk's
clock, beside the time the write reached the backend.

The console stores every write in its outbox first and may send it minutes or days later (a
satellite link, an outage). It sends two headers with each request:

- `X-Occurred-At`: when the operator did it, by the desk's clock;
- `X-Sent-At`: the desk's clock when this very request was sent.

The desk's clock may be wrong, but by the same amount in both, so the backend moves the
event by the difference between its own clock at arrival and `X-Sent-At` (the correction
used by Segment and Sentry for `sentAt`):

    occurred = received - (sent - occurred_desk)

The network delay of one request (well under a minute) is the error left. Without
`X-Sent-At` the desk's time is taken as it is, within the skew allowed below. Without
`X-Occurred-At` the write happened when it arrived (a gateway, the admin CLI, curl).
The result is checked: not later than arrival plus `clock_skew_minutes`, not earlier than
the oldest write an outbox keeps (`write_max_age_days`); otherwise 422 naming the header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header

from ekc_core.fields import InputDatetime
from ekc_server.deps import SettingsDep
from ekc_server.errors import InvalidFieldError

OCCURRED_HEADER = "X-Occurred-At"
SENT_HEADER = "X-Sent-At"
#: how far ahead of the backend's clock a time may be (`EKC_CLOCK_SKEW_MINUTES` sets it)
DEFAULT_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class WriteTime:
    """The time a write happened (`occurred_at`) and the time it arrived (`received_at`)."""

    occurred_at: datetime
    received_at: datetime
    desk_offset: timedelta = timedelta(0)
    """How far the desk's clock is behind the backend's (from `X-Sent-At`; 0 without it)."""
    skew: timedelta = DEFAULT_SKEW
    """How far ahead of arrival a time given in the body may be (clocks differ a little)."""

    @classmethod
    def now(cls) -> WriteTime:
        """A write that happens here and now (the backend's own jobs, tests)."""
        now = datetime.now(UTC)
        return cls(occurred_at=now, received_at=now)

    def refuse_future(self, value: datetime, *, field: str, what: str) -> None:
        """422 naming `field` when `value` is later than arrival plus the allowed skew."""
        if value > self.received_at + self.skew:
            raise InvalidFieldError(f"{what} в будущем", field=field)

    def from_desk(self, value: datetime) -> datetime:
        """A time the desk wrote in the body (a manual card's start) on the backend's clock."""
        return value.astimezone(UTC) + self.desk_offset

    @property
    def delayed(self) -> timedelta:
        """How long the write took to arrive after it happened."""
        return self.received_at - self.occurred_at

    def not_before(self, earlier: datetime | None) -> datetime:
        """`occurred_at`, but never before `earlier` (an event that must follow another: a
        desk clock corrected to the second cannot put an end before its start)."""
        if earlier is not None and self.occurred_at < earlier:
            return earlier
        return self.occurred_at


def _aware(value: datetime, header: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidFieldError(
            "укажите часовой пояс во времени (например, +08:00 или Z)",
            field=header,
            location="header",
        )
    return value.astimezone(UTC)


def resolve_write_time(
    *,
    occurred: datetime | None,
    sent: datetime | None,
    received: datetime,
    skew: timedelta,
    max_age: timedelta,
) -> WriteTime:
    """The checked, clock-corrected time of a write (see the module's docstring)."""
    if occurred is None:
        if sent is not None:
            _aware(sent, SENT_HEADER)
        return WriteTime(occurred_at=received, received_at=received, skew=skew)
    occurred = _aware(occurred, OCCURRED_HEADER)
    offset = timedelta(0)
    if sent is not None:
        sent = _aware(sent, SENT_HEADER)
        if occurred > sent + skew:
            raise InvalidFieldError(
                "время события позже времени отправки", field=OCCURRED_HEADER, location="header"
            )
        offset = received - sent
        occurred += offset
    if occurred > received + skew:
        minutes = int((occurred - received).total_seconds() // 60)
        raise InvalidFieldError(
            f"время события впереди часов сервера на {minutes} мин: проверьте часы рабочего места",
            field=OCCURRED_HEADER,
            location="header",
        )
    occurred = min(occurred, received)
    if occurred < received - max_age:
        raise InvalidFieldError(
            f"событие старше {max_age.days} дн.: такую запись принять нельзя, внесите её заново",
            field=OCCURRED_HEADER,
            location="header",
        )
    return WriteTime(occurred_at=occurred, received_at=received, desk_offset=offset, skew=skew)


def get_write_time(
    settings: SettingsDep,
    x_occurred_at: Annotated[
        InputDatetime | None,
        Header(
            alias=OCCURRED_HEADER,
            description="when the operator did it, by the desk's clock (ISO 8601 with zone)",
        ),
    ] = None,
    x_sent_at: Annotated[
        InputDatetime | None,
        Header(
            alias=SENT_HEADER,
            description="the desk's clock when this request was sent (ISO 8601 with zone)",
        ),
    ] = None,
) -> WriteTime:
    return resolve_write_time(
        occurred=x_occurred_at,
        sent=x_sent_at,
        received=datetime.now(UTC),
        skew=timedelta(minutes=settings.clock_skew_minutes),
        max_age=timedelta(days=settings.write_max_age_days),
    )


WriteTimeDep = Annotated[WriteTime, Depends(get_write_time)]
"""The time of the write being handled (desk time corrected, or arrival time)."""
