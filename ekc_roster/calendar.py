"""The Russian production calendar (производственный календарь) and norms of working time.

The data lives in `data/reference/production_calendar.yaml` (one entry per year: the public
holidays of art. 112 of the Labour Code, the days off moved by the government decree or by
art. 112 part 2, and the pre-holiday days shortened by one hour under art. 95). The file is
found the way all shipped reference data is found (`ekc_core.settings.default_reference_dir`),
so it works both from a checkout and from an installed wheel.

Norms of working time follow the order of the Ministry of Health and Social Development of
13.08.2009 No. 588н: for a five-day week of `week_hours` hours, every working day counts
`week_hours / 5` hours and every shortened pre-holiday day one hour less.
"""

from __future__ import annotations

import calendar as _stdcalendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from ekc_core.reference_data import ReferenceDataError
from ekc_core.settings import default_reference_dir

#: the file name inside `data/reference/`
CALENDAR_FILE = "production_calendar.yaml"

YearStatus = Literal["official", "preliminary"]
TransferBasis = Literal["decree", "art112"]

#: the longest normal working week (art. 91 of the Labour Code)
MAX_WEEK_HOURS = 40.0

_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CalendarMissingError(ValueError):
    """The calendar file has no entry for the requested year."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"нет производственного календаря на {year} год: "
            f"добавьте его в data/reference/{CALENDAR_FILE}"
        )


@dataclass(frozen=True, slots=True)
class Transfer:
    """A day off moved from `from_day` (a Saturday or Sunday) to `to_day` (a weekday)."""

    from_day: date
    to_day: date
    basis: TransferBasis


@dataclass(frozen=True, slots=True)
class CalendarYear:
    """One year of the production calendar, as listed in the data file."""

    year: int
    status: YearStatus
    source: str
    #: the non-working public holidays of art. 112 part 1, including those on a weekend
    holidays: frozenset[date]
    transfers: tuple[Transfer, ...]
    #: pre-holiday working days shortened by one hour (art. 95)
    shortened: frozenset[date]

    @property
    def extra_days_off(self) -> frozenset[date]:
        """Weekdays made non-working by a transfer."""
        return frozenset(t.to_day for t in self.transfers)

    @property
    def working_weekends(self) -> frozenset[date]:
        """Saturdays and Sundays made working days by a transfer."""
        return frozenset(t.from_day for t in self.transfers if t.from_day not in self.holidays)

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays or any(t.to_day == day for t in self.transfers):
            return False
        if day.weekday() >= 5:
            return any(t.from_day == day for t in self.transfers)
        return True


def default_calendar_path() -> Path:
    """`data/reference/production_calendar.yaml` in a checkout or in the installed wheel."""
    return default_reference_dir() / "reference" / CALENDAR_FILE


def _check_week_hours(week_hours: float) -> None:
    if not 0 < week_hours <= MAX_WEEK_HOURS:
        raise ValueError(f"week_hours must be in (0, {MAX_WEEK_HOURS:g}], got {week_hours!r}")


def _days(start: date, end_inclusive: date) -> Iterator[date]:
    if end_inclusive < start:
        raise ValueError(f"period end {end_inclusive} is before its start {start}")
    day = start
    while day <= end_inclusive:
        yield day
        day += timedelta(days=1)


class ProductionCalendar:
    """Working days, public holidays and norms of working time for the years in the file."""

    def __init__(self, years: Mapping[int, CalendarYear]) -> None:
        self._years = dict(years)
        # the derived day sets, computed once per year
        self._off: dict[int, frozenset[date]] = {}
        self._on: dict[int, frozenset[date]] = {}
        for number, entry in self._years.items():
            self._off[number] = entry.holidays | entry.extra_days_off
            self._on[number] = entry.working_weekends

    @classmethod
    def load(cls, path: Path | None = None) -> ProductionCalendar:
        """Read and validate the calendar file (the shipped one by default).

        Raises `ReferenceDataError` listing every problem as `file: field: reason`.
        """
        return cls(_load_years(path or default_calendar_path()))

    # -- years -------------------------------------------------------------------------------

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))

    def year(self, year: int) -> CalendarYear:
        try:
            return self._years[year]
        except KeyError:
            raise CalendarMissingError(year) from None

    def year_status(self, year: int) -> YearStatus:
        """`official` once the decree for the year is in the file, else `preliminary`."""
        return self.year(year).status

    def status_warning(self, year: int) -> str | None:
        """A Russian warning for a preliminary year (for the CLI), None for an official one."""
        entry = self.year(year)
        if entry.status == "official":
            return None
        return (
            f"производственный календарь на {year} год предварительный, "
            f"нормы часов могут измениться. {entry.source}"
        )

    # -- single days ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """A working day of the five-day week, after holidays and transfers."""
        self.year(day.year)
        if day in self._off[day.year]:
            return False
        return day.weekday() < 5 or day in self._on[day.year]

    def is_public_holiday(self, day: date) -> bool:
        """One of the non-working public holidays of art. 112 (not a moved day off)."""
        return day in self.year(day.year).holidays

    def is_shortened_day(self, day: date) -> bool:
        """A pre-holiday working day shortened by one hour (art. 95)."""
        return day in self.year(day.year).shortened

    def working_hours(self, day: date, week_hours: float = 40.0) -> float:
        """Norm hours of one day: `week_hours / 5`, one less on a shortened day, 0 on a day off."""
        _check_week_hours(week_hours)
        if not self.is_working_day(day):
            return 0.0
        daily = week_hours / 5
        return max(daily - 1.0, 0.0) if self.is_shortened_day(day) else daily

    # -- periods -------------------------------------------------------------------------------

    def working_days(self, start: date, end_inclusive: date) -> int:
        """Working days in `start..end_inclusive`."""
        return sum(1 for day in _days(start, end_inclusive) if self.is_working_day(day))

    def norm_hours(self, start: date, end_inclusive: date, week_hours: float = 40.0) -> float:
        """The norm of working time for `start..end_inclusive` (a month, a year or a part of it:
        e.g. the days of a person's month outside their vacation or sick leave)."""
        _check_week_hours(week_hours)
        daily = week_hours / 5
        full = short = 0
        for day in _days(start, end_inclusive):
            if self.is_working_day(day):
                if self.is_shortened_day(day):
                    short += 1
                else:
                    full += 1
        # rounded: 7.2 h days must add up to 1774.4, not 1774.3999999999999
        return round(full * daily + short * max(daily - 1.0, 0.0), 6)

    def month_working_days(self, year: int, month: int) -> int:
        first, last = _month_bounds(year, month)
        return self.working_days(first, last)

    def month_norm_hours(self, year: int, month: int, week_hours: float = 40.0) -> float:
        first, last = _month_bounds(year, month)
        return self.norm_hours(first, last, week_hours)

    def year_working_days(self, year: int) -> int:
        return self.working_days(date(year, 1, 1), date(year, 12, 31))

    def year_norm_hours(self, year: int, week_hours: float = 40.0) -> float:
        return self.norm_hours(date(year, 1, 1), date(year, 12, 31), week_hours)


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month!r}")
    return date(year, month, 1), date(year, month, _stdcalendar.monthrange(year, month)[1])


# -- loading and validation -----------------------------------------------------------------


def _load_years(path: Path) -> dict[int, CalendarYear]:
    problems: list[str] = []
    try:
        with path.open(encoding="utf-8") as fh:
            raw = yaml.load(fh, Loader=_YAML_LOADER)  # a safe loader (C or Python)
    except FileNotFoundError:
        raise ReferenceDataError([f"{path}: файл не найден"]) from None
    except yaml.YAMLError as exc:
        raise ReferenceDataError([f"{path}: ошибка YAML: {exc}"]) from None

    years_raw = raw.get("years") if isinstance(raw, dict) else None
    if not isinstance(years_raw, dict) or not years_raw:
        raise ReferenceDataError([f"{path}: years: ожидалось отображение год → календарь"])

    years: dict[int, CalendarYear] = {}
    for key, entry in years_raw.items():
        where = f"{path}: years.{key}"
        if not isinstance(key, int) or isinstance(key, bool) or not 1990 <= key <= 2200:
            problems.append(f"{where}: год должен быть числом вроде 2026")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{where}: ожидалось отображение")
            continue
        parsed = _parse_year(key, entry, where, problems)
        if parsed is not None:
            years[key] = parsed
    if problems:
        raise ReferenceDataError(problems)
    return years


def _parse_dates(
    year: int, raw: Any, where: str, problems: list[str], *, required: bool = True
) -> list[date] | None:
    if raw is None and not required:
        return []
    if not isinstance(raw, list):
        problems.append(f"{where}: ожидался список дат ГГГГ-ММ-ДД")
        return None
    seen: set[date] = set()
    result: list[date] = []
    for item in raw:
        if not isinstance(item, date) or isinstance(item, datetime):
            problems.append(f"{where}: «{item}» не дата ГГГГ-ММ-ДД")
        elif item.year != year:
            problems.append(f"{where}: {item} не в {year} году")
        elif item in seen:
            problems.append(f"{where}: {item} указана дважды")
        else:
            seen.add(item)
            result.append(item)
    return result


def _parse_year(
    year: int, entry: dict[Any, Any], where: str, problems: list[str]
) -> CalendarYear | None:
    before = len(problems)
    unknown = set(entry) - {"status", "source", "holidays", "transfers", "shortened"}
    for name in sorted(map(str, unknown)):
        problems.append(f"{where}.{name}: неизвестное поле")
    status = entry.get("status")
    if status not in get_args(YearStatus):
        problems.append(f"{where}.status: ожидалось official или preliminary")
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append(f"{where}.source: нужен источник (постановление или пояснение)")

    holidays = _parse_dates(year, entry.get("holidays"), f"{where}.holidays", problems) or []
    holiday_set = frozenset(holidays)

    transfers: list[Transfer] = []
    raw_transfers = entry.get("transfers") or []
    if not isinstance(raw_transfers, list):
        problems.append(f"{where}.transfers: ожидался список переносов")
        raw_transfers = []
    froms: set[date] = set()
    tos: set[date] = set()
    for index, item in enumerate(raw_transfers):
        at = f"{where}.transfers[{index}]"
        if not isinstance(item, dict) or set(item) != {"from", "to", "basis"}:
            problems.append(f"{at}: ожидались поля from, to, basis")
            continue
        pair = _parse_dates(year, [item["from"], item["to"]], at, problems)
        if pair is None or len(pair) != 2:
            continue
        from_day, to_day = pair
        basis = item["basis"]
        if basis not in get_args(TransferBasis):
            problems.append(f"{at}.basis: ожидалось decree или art112")
            continue
        if from_day.weekday() < 5:
            problems.append(f"{at}.from: {from_day} не суббота и не воскресенье")
        if to_day.weekday() >= 5 or to_day in holiday_set:
            problems.append(f"{at}.to: {to_day} не будний день (или праздник)")
        if basis == "art112" and (from_day not in holiday_set or from_day.month == 1):
            problems.append(
                f"{at}.from: по ч. 2 ст. 112 переносится только неянварский праздник, "
                f"совпавший с выходным"
            )
        if from_day in froms or to_day in tos or from_day in tos or to_day in froms:
            problems.append(f"{at}: дата уже участвует в другом переносе")
        froms.add(from_day)
        tos.add(to_day)
        transfers.append(Transfer(from_day=from_day, to_day=to_day, basis=basis))

    shortened = (
        _parse_dates(year, entry.get("shortened"), f"{where}.shortened", problems, required=False)
        or []
    )
    if len(problems) > before:
        return None
    result = CalendarYear(
        year=year,
        status="official" if status == "official" else "preliminary",
        source=source.strip() if isinstance(source, str) else "",
        holidays=holiday_set,
        transfers=tuple(transfers),
        shortened=frozenset(shortened),
    )
    for day in shortened:
        if not result.is_working_day(day):
            problems.append(f"{where}.shortened: {day} — нерабочий день, его нельзя сократить")
    return result if len(problems) == before else None
