"""The Russian production calendar: shipped data, day rules and norms of working time."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from ekc_core.reference_data import ReferenceDataError
from ekc_roster.calendar import (
    CalendarMissingError,
    ProductionCalendar,
    default_calendar_path,
)


@pytest.fixture(scope="module")
def cal() -> ProductionCalendar:
    return ProductionCalendar.load()


def test_the_shipped_file_is_found_beside_the_other_reference_data():
    path = default_calendar_path()
    assert path.name == "production_calendar.yaml"
    assert (path.parent / "topics.yaml").is_file()


def test_2026_totals(cal):
    # Постановление № 1466: 247 working days, 1972 hours at 40 h, 1774.4 at 36 h
    assert cal.year_working_days(2026) == 247
    assert cal.year_norm_hours(2026) == pytest.approx(1972.0)
    assert cal.year_norm_hours(2026, week_hours=36) == pytest.approx(1774.4)
    assert cal.year_norm_hours(2026, week_hours=24) == pytest.approx(1181.6)
    assert cal.year_status(2026) == "official"
    assert cal.status_warning(2026) is None


# 2026 per month (working days, hours at 40 h/week), as published for decree No. 1466
MONTHS_2026 = [
    (15, 120),
    (19, 152),
    (21, 168),
    (22, 175),
    (19, 151),
    (21, 167),
    (23, 184),
    (21, 168),
    (22, 176),
    (22, 176),
    (20, 159),
    (22, 176),
]


@pytest.mark.parametrize(("month", "expected"), list(enumerate(MONTHS_2026, start=1)))
def test_2026_month_norms(cal, month, expected):
    days, hours = expected
    assert cal.month_working_days(2026, month) == days
    assert cal.month_norm_hours(2026, month) == pytest.approx(hours)


def test_2026_quarters_at_36_hours(cal):
    quarters = [
        sum(cal.month_norm_hours(2026, m, week_hours=36) for m in range(q * 3 + 1, q * 3 + 4))
        for q in range(4)
    ]
    assert quarters == pytest.approx([396.0, 443.4, 475.2, 459.8])


def test_2026_days(cal):
    assert not cal.is_working_day(date(2026, 1, 9))  # moved from Sat Jan 3
    assert not cal.is_public_holiday(date(2026, 1, 9))  # a moved day off, not a holiday
    assert cal.is_public_holiday(date(2026, 1, 3))  # a holiday even on a Saturday
    assert not cal.is_working_day(date(2026, 3, 9))  # Mar 8 fell on a Sunday
    assert not cal.is_working_day(date(2026, 12, 31))  # moved from Sun Jan 4
    assert cal.is_working_day(date(2026, 1, 12))
    assert not cal.is_working_day(date(2026, 1, 17))  # an ordinary Saturday
    assert cal.is_public_holiday(date(2026, 11, 4))
    assert not cal.is_public_holiday(date(2026, 11, 3))


def test_2025_totals_and_the_working_saturday(cal):
    # Постановление № 1335: 247 days (4 of them shortened), 1972 hours
    assert cal.year_working_days(2025) == 247
    assert cal.year_norm_hours(2025) == pytest.approx(1972.0)
    # Nov 1, 2025 (Sat) was a shortened working day; its day off moved to Mon Nov 3
    assert cal.is_working_day(date(2025, 11, 1))
    assert cal.working_hours(date(2025, 11, 1)) == 7.0
    assert not cal.is_working_day(date(2025, 11, 3))
    assert cal.month_working_days(2025, 11) == 19
    assert cal.month_norm_hours(2025, 11) == pytest.approx(151.0)
    # Feb 23 and Mar 8 fell on a weekend and were moved by the decree to May 8 and Jun 13
    assert cal.is_working_day(date(2025, 2, 24))
    assert not cal.is_working_day(date(2025, 5, 8))
    assert not cal.is_working_day(date(2025, 6, 13))


def test_shortened_days(cal):
    # Apr 30, 2026 (Thu) precedes the May 1 holiday
    assert cal.is_shortened_day(date(2026, 4, 30))
    assert cal.working_hours(date(2026, 4, 30)) == 7.0
    assert cal.working_hours(date(2026, 4, 30), week_hours=36) == pytest.approx(6.2)
    assert cal.working_hours(date(2026, 4, 29)) == 8.0
    assert cal.working_hours(date(2026, 4, 29), week_hours=36) == pytest.approx(7.2)
    # no shortening before a holiday that follows a weekend (Feb 23, 2026 is a Monday)
    assert cal.working_hours(date(2026, 2, 20)) == 8.0
    # days off have no norm
    assert cal.working_hours(date(2026, 5, 1)) == 0.0
    assert cal.working_hours(date(2026, 5, 2)) == 0.0


def test_36_hour_week(cal):
    # January 2026: 15 days * 7.2 h, no shortened day
    assert cal.month_norm_hours(2026, 1, week_hours=36) == pytest.approx(108.0)
    # April 2026: 22 days * 7.2 h - 1 h for Apr 30
    assert cal.month_norm_hours(2026, 4, week_hours=36) == pytest.approx(157.4)


def test_partial_period_norm(cal):
    # a person on vacation May 12-25, 2026 works May 1-11 and May 26-31
    before = cal.norm_hours(date(2026, 5, 1), date(2026, 5, 11))
    after = cal.norm_hours(date(2026, 5, 26), date(2026, 5, 31))
    vacation = cal.norm_hours(date(2026, 5, 12), date(2026, 5, 25))
    assert before == pytest.approx(4 * 8 + 7)  # May 4-7 and the shortened May 8
    assert after == pytest.approx(4 * 8)  # May 26-29
    assert vacation == pytest.approx(10 * 8)
    assert before + vacation + after == pytest.approx(cal.month_norm_hours(2026, 5))
    assert cal.working_days(date(2026, 5, 12), date(2026, 5, 25)) == 10
    # one day, and across a year boundary
    assert cal.norm_hours(date(2026, 4, 30), date(2026, 4, 30)) == 7.0
    assert cal.norm_hours(date(2025, 12, 29), date(2026, 1, 12)) == pytest.approx(3 * 8)
    with pytest.raises(ValueError, match="before"):
        cal.norm_hours(date(2026, 5, 2), date(2026, 5, 1))


def test_week_hours_must_be_a_normal_week(cal):
    for bad in (0, -8, 41):
        with pytest.raises(ValueError, match="week_hours"):
            cal.month_norm_hours(2026, 1, week_hours=bad)
    with pytest.raises(ValueError, match="month"):
        cal.month_norm_hours(2026, 13)


def test_2027_is_preliminary_and_built_from_article_112(cal):
    assert cal.year_status(2027) == "preliminary"
    warning = cal.status_warning(2027)
    assert warning is not None
    assert "2027" in warning
    assert "предварительный" in warning
    # without the decree the January weekend holidays are not moved anywhere
    assert not cal.is_working_day(date(2027, 1, 8))
    assert cal.is_working_day(date(2027, 1, 11))
    # art. 112 part 2: May 1 (Sat), May 9 (Sun), Jun 12 (Sat) move to the next Monday
    for day in (date(2027, 5, 3), date(2027, 5, 10), date(2027, 6, 14)):
        assert not cal.is_working_day(day)
        assert not cal.is_public_holiday(day)
    # Dec 31, 2027 (Fri) precedes the Jan 1, 2028 holiday
    assert cal.working_hours(date(2027, 12, 31)) == 7.0
    assert cal.year_working_days(2027) == 249


def test_missing_year(cal):
    with pytest.raises(CalendarMissingError) as info:
        cal.is_working_day(date(2028, 3, 1))
    assert isinstance(info.value, ValueError)
    assert str(info.value) == (
        "нет производственного календаря на 2028 год: "
        "добавьте его в data/reference/production_calendar.yaml"
    )
    with pytest.raises(CalendarMissingError, match="2024"):
        cal.month_norm_hours(2024, 12)
    with pytest.raises(CalendarMissingError, match="2028"):
        cal.norm_hours(date(2027, 12, 30), date(2028, 1, 2))
    assert cal.years == (2025, 2026, 2027)


def test_data_file_dates_are_in_their_year_and_listed_once():
    raw = yaml.safe_load(default_calendar_path().read_text(encoding="utf-8"))
    for year, entry in raw["years"].items():
        assert entry["status"] in {"official", "preliminary"}
        assert entry["source"].strip()
        holidays = list(entry["holidays"])
        shortened = list(entry.get("shortened") or [])
        transfers = entry.get("transfers") or []
        froms = [t["from"] for t in transfers]
        tos = [t["to"] for t in transfers]
        everything = holidays + shortened + froms + tos
        assert all(isinstance(d, date) and d.year == year for d in everything)
        for listed in (holidays, shortened, froms, tos):
            assert len(listed) == len(set(listed))
        # a day is a holiday, a moved day off or a shortened working day, never two of them
        assert len(set(holidays) | set(tos) | set(shortened)) == (
            len(holidays) + len(tos) + len(shortened)
        )
        # the 14 holidays of art. 112 part 1
        assert {(d.month, d.day) for d in holidays} == (
            {(1, day) for day in range(1, 9)} | {(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)}
        )


def test_every_weekend_holiday_outside_january_is_moved(cal):
    # art. 112 part 2: by the decree or automatically, never lost
    for year in cal.years:
        entry = cal.year(year)
        moved = {t.from_day for t in entry.transfers}
        for day in entry.holidays:
            if day.month > 1 and day.weekday() >= 5:
                assert day in moved, day


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_broken_files_are_refused_with_every_problem(tmp_path):
    path = _write(
        tmp_path,
        """
years:
  2030:
    status: draft
    source: ""
    holidays: [2030-01-01, 2030-01-01, 2031-02-23]
    transfers:
      - {from: 2030-01-07, to: 2030-01-12, basis: decree}
    shortened: [2030-01-05]
""",
    )
    with pytest.raises(ReferenceDataError) as info:
        ProductionCalendar.load(path)
    text = "\n".join(info.value.problems)
    assert "status" in text
    assert "source" in text
    assert "2030-01-01 указана дважды" in text
    assert "2031-02-23 не в 2030 году" in text
    assert "не суббота и не воскресенье" in text  # Jan 7, 2030 is a Monday
    assert "не будний день" in text  # Jan 12, 2030 is a Saturday


def test_shortening_a_day_off_is_refused(tmp_path):
    path = _write(
        tmp_path,
        """
years:
  2030:
    status: official
    source: test
    holidays: [2030-01-01]
    shortened: [2030-01-05]
""",
    )
    with pytest.raises(ReferenceDataError, match="нерабочий день"):
        ProductionCalendar.load(path)


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(ReferenceDataError, match="файл не найден"):
        ProductionCalendar.load(tmp_path / "nope.yaml")
