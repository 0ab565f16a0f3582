"""SQL expressions the indicator aggregates are built from, compiled per database so that
SQLite and PostgreSQL give the same numbers.

- `seconds_between(start, end)`: `end − start` in seconds (float, millisecond precision on
  both: SQLite's date functions read milliseconds, so values are rounded to 3 decimals there
  and a 20.000 s wait compares equal to 20 on both databases).
- `utc_hour(ts)`: whole hours since 1970-01-01 UTC, exactly (no float rounding). Every
  offset of Irkutsk time (UTC+8) is a whole number of hours, so grouping by it and folding
  the groups into local days, weeks, months or hours of the day in Python is exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ekc_core.localtime import CENTRE_TZ

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class seconds_between(FunctionElement[float]):  # noqa: N801 (an SQL function's name)
    """`end − start` in seconds; NULL when either is NULL."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"ROUND((julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)})) * 86400.0, 3)"
    )


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    # date_part (double precision), not EXTRACT (numeric since PostgreSQL 14: slower)
    return f"date_part('epoch', {compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


class utc_hour(FunctionElement[int]):  # noqa: N801 (an SQL function's name)
    """Whole hours since 1970-01-01 00:00 UTC of a timestamp."""

    type = BigInteger()
    name = "utc_hour"
    inherit_cache = True


@compiles(utc_hour, "sqlite")
def _utc_hour_sqlite(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = list(element.clauses)
    return f"(CAST(strftime('%s', {compiler.process(column, **kw)}) AS INTEGER) / 3600)"


@compiles(utc_hour, "postgresql")
def _utc_hour_postgresql(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = list(element.clauses)
    return f"CAST(floor(date_part('epoch', {compiler.process(column, **kw)}) / 3600) AS BIGINT)"


def hour_start(index: int) -> datetime:
    """The UTC moment an `utc_hour` index stands for."""
    return EPOCH + timedelta(hours=int(index))


def local_midnight(day: date) -> datetime:
    """The UTC moment the local (Irkutsk) day begins."""
    return datetime(day.year, day.month, day.day, tzinfo=CENTRE_TZ).astimezone(UTC)
