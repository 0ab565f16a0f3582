"""The report renderers on hand-made `Report` objects: values written for people, the terminal
table with targets and misses, CSV and XLSX read back, the chart's series and its drawing."""

from __future__ import annotations

import csv
import io
import os
from datetime import date, datetime, timedelta

import pytest
import typer
from openpyxl import load_workbook
from rich.console import Console

from ekc_admin.report_chart import chart_text
from ekc_admin.report_output import write_atomic
from ekc_admin.report_render import (
    MISS,
    csv_text,
    human,
    print_report,
    select_columns,
    series,
    target_text,
)
from ekc_admin.report_xlsx import (
    ABOUT_SHEET,
    CHART_DATA_SHEET,
    CHART_SHEET,
    DATA_SHEET,
    write_xlsx,
)
from ekc_core.reports import Better, ColumnKind, Report, ReportColumn

SL = ReportColumn(
    key="service_level",
    title="Уровень сервиса 80/20",
    kind=ColumnKind.percent,
    target=0.8,
    better=Better.more,
    description="Доля звонков, принятых за 20 с.",
)
ABANDON = ReportColumn(
    key="abandon_rate",
    title="Доля пропущенных",
    kind=ColumnKind.percent,
    target=0.08,
    better=Better.less,
)
AHT = ReportColumn(
    key="aht",
    title="Среднее время обслуживания",
    kind=ColumnKind.seconds,
    target=300.0,
    better=Better.less,
)
OFFERED = ReportColumn(key="offered", title="Поступило звонков", kind=ColumnKind.int)
DAY = ReportColumn(key="day", title="День", kind=ColumnKind.date)


def kpi_by_day() -> Report:
    return Report(
        kind="kpi",
        title="Показатели центра",
        period_from=date(2026, 11, 1),
        period_to=date(2026, 11, 3),
        group_by="day",
        columns=[DAY, SL, ABANDON, AHT, OFFERED],
        rows=[
            {
                "day": "2026-11-01",
                "service_level": 10 / 12,
                "abandon_rate": 0.05,
                "aht": 185,
                "offered": 12,
            },
            {
                "day": "2026-11-02",
                "service_level": 0.75,
                "abandon_rate": 0.1,
                "aht": 310.4,
                "offered": 1663,
            },
            {
                "day": "2026-11-03",
                "service_level": None,
                "abandon_rate": None,
                "aht": None,
                "offered": 0,
            },
        ],
        total={
            "day": None,
            "service_level": 0.7842,
            "abandon_rate": 0.0967,
            "aht": 298.0,
            "offered": 1675,
        },
        notes=["Сбросы короче 5 с не считаются поступившими."],
    )


def rendered(report: Report) -> str:
    console = Console(record=True, width=160, color_system=None, file=io.StringIO())
    print_report(report, console)
    return console.export_text()


def row_of(line: str) -> str:
    """A table line without its frame."""
    return line.strip("│┃ ")


def test_values_are_written_for_people() -> None:
    assert human(SL, 10 / 12) == "83.3 %"
    assert human(AHT, 185) == "3:05"
    assert human(AHT, 3725) == "1:02:05"
    assert human(OFFERED, 1663) == "1 663"
    assert human(SL, None) == "—"
    assert human(DAY, "2026-11-30") == "30.11.2026"
    when = ReportColumn(key="at", title="Когда", kind=ColumnKind.datetime)
    assert human(when, "2026-11-30T02:05:00+00:00") == "30.11.2026 10:05"  # Irkutsk, UTC+8
    assert target_text(SL) == "≥ 80.0 %"
    assert target_text(AHT) == "≤ 5:00"
    assert target_text(OFFERED) == ""


def test_table_marks_misses_under_a_target_row_with_the_total_and_notes() -> None:
    text = rendered(kpi_by_day())
    lines = text.splitlines()
    assert lines[0] == "Показатели центра: 01.11.2026–03.11.2026"
    target = next(line for line in lines if row_of(line).startswith("Цель"))
    assert "≥ 80.0 %" in target and "≤ 8.0 %" in target and "≤ 5:00" in target
    first = next(line for line in lines if row_of(line).startswith("01.11.2026"))
    assert "83.3 %" in first and MISS not in first and "3:05" in first and "12" in first
    second = next(line for line in lines if row_of(line).startswith("02.11.2026"))
    assert second.count(MISS) == 3  # SL below 80 %, abandon over 8 %, AHT over 5:00
    assert "75.0 % ✗" in second and "10.0 % ✗" in second and "5:10 ✗" in second
    assert "1 663" in second
    third = next(line for line in lines if row_of(line).startswith("03.11.2026"))
    assert third.count("—") == 3 and MISS not in third  # nothing offered: no value, no miss
    total = next(line for line in lines if row_of(line).startswith("Итого"))
    assert "78.4 % ✗" in total and "9.7 % ✗" in total and "4:58" in total
    assert f"{MISS} — хуже цели: 5" in text
    assert lines[-1] == "Примечание: Сбросы короче 5 с не считаются поступившими."


def test_a_short_wide_report_is_turned_on_its_side() -> None:
    columns = [SL, ABANDON, AHT, OFFERED] + [
        ReportColumn(key=f"x{i}", title=f"Показатель {i}", kind=ColumnKind.int) for i in range(4)
    ]
    row = {"service_level": 0.9, "abandon_rate": 0.09, "aht": 200, "offered": 120}
    report = Report(
        kind="kpi",
        title="Показатели центра",
        period_from=date(2026, 11, 1),
        period_to=date(2026, 11, 30),
        columns=columns,
        rows=[row],
        total=row,
    )
    lines = rendered(report).splitlines()
    header = next(line for line in lines if "Показатель" in line and "Значение" in line)
    assert "Цель" in header and "Итого" not in header  # one row: the total is the row
    abandon = next(line for line in lines if "Доля пропущенных" in line)
    assert "9.0 % ✗" in abandon and "≤ 8.0 %" in abandon
    sl = next(line for line in lines if "Уровень сервиса" in line)
    assert "90.0 %" in sl and MISS not in sl
    assert f"{MISS} — хуже цели: 1" in lines  # the repeated total is not counted again


def test_a_report_of_numbers_only_gets_a_period_column_in_xlsx(tmp_path) -> None:
    row = {"service_level": 0.7, "abandon_rate": 0.05, "aht": 200, "offered": 120}
    report = Report(
        kind="kpi",
        title="Показатели центра",
        period_from=date(2026, 11, 1),
        period_to=date(2026, 11, 30),
        columns=[SL, ABANDON, AHT, OFFERED],
        rows=[row],
        total=row,
    )
    path = tmp_path / "kpi.xlsx"
    write_xlsx(report, path)
    sheet = load_workbook(path)[DATA_SHEET]
    assert [c.value for c in sheet[1]][:2] == ["Период", "Уровень сервиса 80/20"]
    assert sheet["A2"].value == "Цель" and sheet["B2"].value == 0.8
    assert sheet["A3"].value == "01.11.2026–30.11.2026" and sheet["B3"].value == 0.7
    assert sheet.max_row == 3  # the total repeats the one row: not written twice
    rows = list(csv.reader(io.StringIO(csv_text(report))))
    assert len(rows) == 2 and rows[0][0] == "service_level"


def test_csv_is_plain_and_typed() -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(kpi_by_day()))))
    assert list(rows[0]) == ["day", "service_level", "abandon_rate", "aht", "offered"]
    assert rows[0]["day"] == "2026-11-01"
    assert float(rows[0]["service_level"]) == pytest.approx(10 / 12, abs=1e-6)
    assert rows[1]["aht"] == "310.4" and rows[1]["offered"] == "1663"
    assert rows[2]["service_level"] == ""  # not computable is empty, never 0
    assert rows[3]["day"] == "Итого" and rows[3]["offered"] == "1675"
    assert len(rows) == 4


def test_xlsx_has_typed_cells_targets_marked_misses_and_a_chart_sheet(tmp_path) -> None:
    path = tmp_path / "kpi.xlsx"
    write_xlsx(kpi_by_day(), path)
    book = load_workbook(path)
    assert book.sheetnames[:2] == [DATA_SHEET, ABOUT_SHEET]
    assert [s.title for s in book.chartsheets] == [CHART_SHEET]
    assert book[CHART_DATA_SHEET].sheet_state == "hidden"
    sheet = book[DATA_SHEET]
    assert [c.value for c in sheet[1]] == [
        "День",
        "Уровень сервиса 80/20",
        "Доля пропущенных",
        "Среднее время обслуживания",
        "Поступило звонков",
    ]
    assert sheet["A2"].value == "Цель" and sheet["B2"].value == 0.8
    assert sheet["D2"].value == timedelta(seconds=300)  # a duration, read back as one
    assert sheet.freeze_panes == "B3"
    day, sl, abandon, aht, offered = sheet[3]
    assert day.value == datetime(2026, 11, 1) and day.number_format == "DD.MM.YYYY"
    assert day.is_date
    assert sl.value == pytest.approx(10 / 12) and sl.number_format == "0.0%"
    assert abandon.data_type == "n" and abandon.number_format == "0.0%"
    assert aht.value == timedelta(seconds=185) and aht.number_format == "[m]:ss"
    assert offered.value == 12 and offered.number_format == "#,##0"
    assert sheet["B5"].value is None  # a value that cannot be computed stays empty
    assert sheet["A6"].value == "Итого" and sheet["A6"].font.bold
    assert sheet["E6"].value == 1675
    assert sheet.column_dimensions["B"].width >= 10
    rules = {
        str(rng.sqref): [r.formula[0] for r in rng.rules] for rng in sheet.conditional_formatting
    }
    assert rules["B3:B6"] == ["AND(ISNUMBER(B3),B3<B$2)"]  # higher is better
    assert rules["C3:C6"] == ["AND(ISNUMBER(C3),C3>C$2)"]  # lower is better
    assert rules["D3:D6"] == ["AND(ISNUMBER(D3),D3>D$2)"]
    assert "E3:E6" not in rules  # no target, nothing to miss
    about = book[ABOUT_SHEET]
    texts = [c.value for row in about.iter_rows() for c in row if c.value is not None]
    assert "Показатели центра" in texts and "Доля звонков, принятых за 20 с." in texts
    assert "Сбросы короче 5 с не считаются поступившими." in texts
    chart_data = book[CHART_DATA_SHEET]
    assert [c.value for c in chart_data[1]] == [None, "Уровень сервиса 80/20", "Цель"]
    assert [chart_data.cell(row=r, column=1).value for r in (2, 3, 4)] == [
        "01.11.2026",
        "02.11.2026",
        "03.11.2026",
    ]
    assert chart_data["B3"].value == 0.75 and chart_data["C3"].value == 0.8


def test_series_is_the_first_indicator_or_the_one_asked_for() -> None:
    report = kpi_by_day()
    main = series(report)
    assert main is not None and main.title == SL.title and main.target == 0.8
    assert main.labels == ["01.11.2026", "02.11.2026", "03.11.2026"]
    assert main.values[2] is None
    other = series(report, "offered")
    assert other is not None and other.values == [12, 1663, 0] and other.target is None
    one_row = report.model_copy(update={"rows": report.rows[:1], "group_by": None})
    profile = series(one_row)
    assert profile is not None and profile.profile
    assert profile.labels == ["Уровень сервиса 80/20", "Доля пропущенных"]


def test_chart_is_plain_text_with_labels_and_target() -> None:
    report = kpi_by_day()
    data = series(report)
    assert data is not None
    text = chart_text(report, data, width=80)
    assert "\x1b[" not in text
    assert "Уровень сервиса 80/20, % (цель 80 %): 01.11.2026–03.11.2026" in text
    assert "01.11" in text and "02.11" in text  # days of one year without it
    target = next(line for line in text.splitlines() if line.startswith("80 %┼"))
    assert "────" in target  # the target line across the chart, at its tick
    assert "03.11" not in text.splitlines()[-1]  # no bar for a day with nothing to compute
    assert max(len(line) for line in text.splitlines()) <= 80
    offices = report.model_copy(
        update={
            "group_by": "office",
            "columns": [ReportColumn(key="office", title="Офис", kind=ColumnKind.text), OFFERED],
            "rows": [{"office": f"МФЦ Бодайбо {i}", "offered": 10 * i} for i in range(1, 6)],
            "total": None,
        }
    )
    bars = series(offices)
    assert bars is not None
    sideways = chart_text(offices, bars, width=80)
    assert "МФЦ Бодайбо 5" in sideways  # long labels: horizontal bars, labels on the left


def test_select_columns_keeps_the_label_first() -> None:
    cut = select_columns(kpi_by_day(), ["aht", "service_level"])
    assert [c.key for c in cut.columns] == ["day", "aht", "service_level"]
    assert set(cut.rows[0]) == {"day", "aht", "service_level"}
    with pytest.raises(KeyError):
        select_columns(kpi_by_day(), ["nope"])


def test_a_wide_table_is_cut_into_tables_that_fit_the_terminal() -> None:
    extra = [
        ReportColumn(key=f"x{i}", title=f"Длинный показатель {i}", kind=ColumnKind.int)
        for i in range(8)
    ]
    report = kpi_by_day()
    report = report.model_copy(
        update={
            "columns": [*report.columns, *extra],
            "rows": [
                {**r, "day": f"2026-11-{n:02d}", **{c.key: 1000 * i for i, c in enumerate(extra)}}
                for n, r in enumerate(report.rows * 2, start=1)
            ],  # six rows: too many to turn the table on its side
        }
    )
    console = Console(record=True, width=60, color_system=None, file=io.StringIO())
    print_report(report, console)
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 60
    tops = [line for line in lines if line.startswith("┏")]
    assert len(tops) >= 3  # 12 columns do not fit in 60
    assert sum(1 for line in lines if row_of(line).startswith("02.11.2026")) == len(tops)
    assert text.count("Итого") == len(tops)  # the total under every part
    assert "7 000" in text and "75.0 % ✗" in text and "5:10 ✗" in text


def test_a_file_is_replaced_whole_or_not_at_all(tmp_path) -> None:
    target = tmp_path / "kpi.csv"
    target.write_text("старый отчёт\n", encoding="utf-8")

    def half_then_fail(path):
        path.write_text("половина", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(typer.Exit) as exit_info:
        write_atomic(target, half_then_fail)
    assert exit_info.value.exit_code == 1
    assert target.read_text(encoding="utf-8") == "старый отчёт\n"  # the old one, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["kpi.csv"]  # no temporary file left

    write_atomic(target, lambda path: path.write_text(csv_text(kpi_by_day()), encoding="utf-8"))
    assert target.read_text(encoding="utf-8").startswith("day,service_level")
    assert [p.name for p in tmp_path.iterdir()] == ["kpi.csv"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # like any new file, not 0600
