"""Bounded input types: what the API accepts, in one place.

Shared by the wire schemas (`ekc_core.schemas`, `ekc_core.workforce`), the backend's path and
query parameters and the clients that check input before sending it. The limits (also in the
README, "Input limits"):

- ids: 1 … 2 147 483 647 (the database's 32-bit integer keys); offsets, counters, versions,
  sort orders and seeds: 0 (or the negative 32-bit bound) … 2 147 483 647;
- dates and points in time: years 2000 … 2100, points in time with a time zone;
- text: no control characters other than tab, line feed and carriage return (a NUL cannot
  be stored by PostgreSQL; the others are never typed by a person), no lone surrogates.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

#: the largest value of a 32-bit signed integer column (ids, counters)
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)

#: the calendar range accepted for dates and points in time
YEAR_MIN = 2000
YEAR_MAX = 2100
DATE_MIN = date(YEAR_MIN, 1, 1)
DATE_MAX = date(YEAR_MAX, 12, 31)
DATE_RANGE_MESSAGE = f"дата вне допустимого диапазона: годы {YEAR_MIN}–{YEAR_MAX}"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: half of a UTF-16 surrogate pair: JSON can carry one (`"\ud800"`), UTF-8 cannot store it
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_text(value: str) -> str:
    """Refuse control characters (tab, line feed and carriage return are allowed) and lone
    surrogates."""
    for pattern, what in ((_CONTROL, "управляющий символ"), (_SURROGATE, "символ")):
        found = pattern.search(value)
        if found is not None:
            code = f"U+{ord(found.group()):04X}"
            raise ValueError(f"недопустимый {what} {code} в позиции {found.start() + 1}")
    return value


def check_date(value: date) -> date:
    """A date within the accepted years."""
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise ValueError(DATE_RANGE_MESSAGE)
    return value


def check_moment(value: datetime) -> datetime:
    """A point in time with a time zone, within the accepted years (checked on the local
    date, so the conversion to UTC can never overflow)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("укажите часовой пояс времени (например, 2026-03-01T10:00:00+08:00)")
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise ValueError(DATE_RANGE_MESSAGE)
    return value


#: text from a person or a gateway: no control characters except tab and line breaks
Text = Annotated[str, AfterValidator(check_text)]
#: a code or a name looked up as it is (topic, agency, office, login, template, article)
Code = Annotated[Text, Field(max_length=120)]
#: a database id (32-bit key)
Id = Annotated[int, Field(ge=1, le=INT32_MAX)]
#: a position in a list (`offset`), a change-feed position, a count
Offset = Annotated[int, Field(ge=0, le=INT32_MAX)]
#: any other integer stored in a 32-bit column (sort order, version, solver seed)
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
#: a calendar date within years 2000–2100
InputDate = Annotated[
    date, AfterValidator(check_date), Field(description=f"годы {YEAR_MIN}–{YEAR_MAX}")
]
#: a point in time with a time zone, within years 2000–2100 (naive ones are ambiguous)
InputDatetime = Annotated[
    datetime,
    AfterValidator(check_moment),
    Field(description=f"с часовым поясом, годы {YEAR_MIN}–{YEAR_MAX}"),
]
