"""`ekc-admin roster generate | show | check | swap | assign | import | publish | export`:
the month's shift roster, built and checked by the backend with one labour-code rule set."""

from __future__ import annotations

import calendar
import csv
import io
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from ekc_admin.context import (
    api_client,
    date_or_none,
    err,
    fail,
    natural_key,
    out,
    plural,
    print_json,
)
from ekc_admin.csvfile import CsvFileError, read_csv
from ekc_admin.groups_render import group_summary, print_group_gaps
from ekc_core.errors import ValidationFailedError
from ekc_core.localtime import CENTRE_TZ
from ekc_core.workforce import (
    MONTH_FORMAT,
    MONTH_PATTERN,
    CoverageGap,
    RosterAssignRequest,
    RosterGenerateRequest,
    RosterImport,
    RosterPublic,
    RosterPublishRequest,
    RosterRules,
    RosterShiftPublic,
    RosterSwapRequest,
    RosterViolation,
    ShiftTemplatePublic,
    minutes_of,
    month_bounds,
    span_minutes,
)

app = typer.Typer(
    help=(
        "График смен на месяц: построение (CP-SAT), проверка по ТК РФ, правки, публикация, "
        "выгрузка. Строят и правят старшие смены и администраторы; опубликованный график "
        "видят все (roster show, roster export)."
    ),
    no_args_is_help=True,
)

WEEKDAYS = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]
#: exit code when the roster was saved but breaks rules or leaves gaps (`roster check`)
EXIT_FINDINGS = 6

MonthOpt = Annotated[str, typer.Option("--month", "-m", help="Месяц ГГГГ-ММ, например 2026-12.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Вывести JSON.")]


def _month_ok(month: str) -> str:
    if not re.match(MONTH_PATTERN, month):
        fail(f"«{month}»: {MONTH_FORMAT}", 2)
    return month


def parse_day(text: str) -> date:
    day = date_or_none(text)
    if day is None:
        fail(f"дата «{text}»: нужен формат ГГГГ-ММ-ДД или ДД.ММ.ГГГГ", 2)
    return day


def _rules(
    min_rest: float | None, rest_factor: float | None, weekly_rest: float | None
) -> RosterRules:
    values: dict[str, float] = {}
    if min_rest is not None:
        values["min_rest_hours"] = min_rest
    if rest_factor is not None:
        values["rest_factor"] = rest_factor
    if weekly_rest is not None:
        values["weekly_rest_hours"] = weekly_rest
    return RosterRules(**values)


# --- generate -------------------------------------------------------------------------------


@app.command("generate", help="Построить черновик графика на месяц по рассчитанной потребности.")
def generate(
    month: MonthOpt,
    time_limit: Annotated[
        float,
        typer.Option("--time-limit", help="Сколько секунд искать лучшее решение.", min=1, max=600),
    ] = 20.0,
    min_rest: Annotated[
        float | None, typer.Option("--min-rest", help="Отдых между сменами не меньше, ч (12).")
    ] = None,
    rest_factor: Annotated[
        float | None,
        typer.Option("--rest-factor", help="Отдых не меньше N × длительность смены (2)."),
    ] = None,
    weekly_rest: Annotated[
        float | None, typer.Option("--weekly-rest", help="Еженедельный отдых, ч (42, ст.110).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Зерно решателя (для воспроизводимости).")] = 0,
    replace: Annotated[
        bool, typer.Option("--replace", help="Перестроить существующий черновик.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    _month_ok(month)
    body = RosterGenerateRequest(
        rules=_rules(min_rest, rest_factor, weekly_rest),
        time_limit_seconds=time_limit,
        seed=seed,
        replace=replace,
    )
    if not as_json:
        err.print(f"Строю график на {month} (до {time_limit:g} с)…", style="dim")
    with api_client() as client:
        roster = client.generate_roster(month, body)
    if as_json:
        print_json(roster)
        return
    s = roster.solver
    how = "покрытие полное" if not roster.gaps else "покрытие с нехваткой"
    out.print(
        f"Черновик графика на {month} сохранён (версия {roster.version}): "
        f"{len(roster.shifts)} смен, {len(roster.people)} сотрудников, {how}."
    )
    out.print(_search_summary(s))
    groups_line = group_summary(s)
    if groups_line:
        out.print(groups_line)
    _print_findings(roster.violations, roster.gaps, roster.warnings)
    suggested = s.get("suggested_time_limit")
    if suggested:
        out.print(
            "[yellow]Дольше поиск, вероятно, сократит недобор часов:[/] ekc-admin roster "
            f"generate --month {month} --replace --time-limit {float(suggested):.0f}"
        )
    out.print(f"Просмотр: ekc-admin roster show --month {month}")


def _search_summary(s: dict[str, Any]) -> str:
    """How the solver did: time, whether the roster is proven best, the distance from the
    proven bound, hours under the norms and when the first gap-free roster came."""
    status = str(s.get("status"))
    quality = {
        "OPTIMAL": "лучший из возможных (доказано)",
        "FEASIBLE": "лучший найденный за отведённое время",
    }.get(status, status)
    line = (
        f"Поиск: {_num(float(s.get('wall_seconds') or 0))} с на {s.get('workers')} ядрах, "
        f"график {quality}"
    )
    if s.get("objective") is not None:
        line += f", штраф {float(s['objective']):.0f}"
    if status != "OPTIMAL" and s.get("gap") is not None:
        line += f", до доказанной нижней оценки {float(s['gap']):.0%}"
    if s.get("under_norm_hours") is not None:
        line += f"; ниже норм {_num(float(s['under_norm_hours']))} ч в сумме"
    first = s.get("first_gap_free_seconds")
    if first is not None:
        line += f"; первый график без нехватки — за {_num(float(first))} с"
    return line


# --- show -----------------------------------------------------------------------------------


def _symbols(templates: list[ShiftTemplatePublic]) -> dict[str, str]:
    """One character per shift kind for the month grid (its code, if one letter)."""
    result: dict[str, str] = {}
    spare = iter("ABCDEFGHJKLMNPQRSTUVWXYZ")
    for t in templates:
        first = t.code[0]
        result[t.code] = first if first not in result.values() else next(spare)
    return result


def _month_days(month: str) -> list[date]:
    year, mon = month_bounds(month)
    return [date(year, mon, day) for day in range(1, calendar.monthrange(year, mon)[1] + 1)]


def _num(value: float) -> str:
    """A number the Russian way: 173,5."""
    return f"{value:g}".replace(".", ",")


def _grid(roster: RosterPublic, only: str | None) -> None:
    days = _month_days(roster.month)
    symbols = _symbols(roster.templates)
    by_person: dict[str, dict[date, str]] = defaultdict(dict)
    for s in roster.shifts:
        by_person[s.username][s.on_date] = s.template_code
    people = sorted(
        (p for p in roster.people if only is None or p.username == only),
        key=lambda p: natural_key(p.username),
    )
    if only is not None and not people:
        fail(f"{only}: нет в графике на {roster.month}")
    width = max([8, *(len(p.username) for p in people)])
    off, holidays = set(roster.days_off), set(roster.holidays)
    tens = "".join(str(d.day // 10) if d.day >= 10 else " " for d in days)
    units = "".join(str(d.day % 10) for d in days)
    marks = "".join("п" if d in holidays else "в" if d in off else " " for d in days)
    head = f"{'':{width}} "
    out.print(f"{head}{tens}", style="dim")
    out.print(f"{head}{units}   часы/норма ночь вых пр", style="dim")
    out.print(f"{head}{marks}", style="dim")
    for p in people:
        row = by_person.get(p.username, {})
        cells = "".join(symbols.get(row[d], "?") if d in row else "·" for d in days)
        mark = "!" if p.hours > p.norm_hours else "↓" if p.norm_hours - p.hours >= 8 else " "
        hours = f"{_num(p.hours)}/{_num(p.norm_hours)}"
        out.print(
            f"{p.username:{width}} {cells}  {hours:>11}{mark}{_num(p.night_hours):>4} "
            f"{p.weekend_shifts:3d} {p.holiday_shifts:2d}",
            markup=False,
        )
    legend = ", ".join(
        f"{symbols[t.code]} {t.starts_at}–{t.ends_at} {_num(t.work_hours)} ч"
        for t in roster.templates
    )
    out.print(f"{legend}; · выходной", style="dim")
    out.print(
        "в — выходной и п — праздничный день по календарю; ! сверх нормы, ↓ недобор", style="dim"
    )
    short = [p for p in people if p.norm_hours - p.hours >= 8]
    if short and only is None:
        names = ", ".join(f"{p.username} {_num(p.hours)}/{_num(p.norm_hours)}" for p in short[:8])
        more = f" и ещё {len(short) - 8}" if len(short) > 8 else ""
        out.print(
            f"Не добирают норму ({len(short)}): {names}{more}. Причины — правила отдыха, "
            "запрет ночной работы, отпуска; недоработку по графику оплачивает работодатель.",
            style="yellow",
        )


def _coverage(roster: RosterPublic) -> None:
    """Per day and hour: operators on shift against the requirement."""
    days = _month_days(roster.month)
    out.print()
    out.print(
        "Покрытие по часам (на смене − требуется): · ровно, 1–9 запас, + больше 9, ! нехватка"
    )
    out.print(f"{'':9}" + "".join(f"{h:<3d}" if h % 3 == 0 else "" for h in range(24)), style="dim")
    for i, d in enumerate(days):
        cells = []
        for h in range(24):
            have, need = roster.covered[i * 24 + h], roster.required[i * 24 + h]
            margin = have - need
            if margin < 0:
                cells.append("[bold red]![/]")
            elif margin == 0:
                cells.append("·")
            else:
                cells.append("+" if margin > 9 else str(margin))
        peak = max(roster.required[i * 24 : i * 24 + 24])
        out.print(f"{d:%d} {WEEKDAYS[d.weekday()]}   " + "".join(cells) + f"  макс. {peak}")


def _print_findings(
    violations: list[RosterViolation],
    gaps: list[CoverageGap],
    warnings: list[str],
    *,
    source: Path | None = None,
    lines: dict[tuple[str, date], int] | None = None,
) -> None:
    """Warnings, violations (with the file line when checking a file) and gaps."""
    lines = lines or {}
    for w in warnings:
        out.print(f"[yellow]Внимание:[/] {w}")
    if violations:
        out.print(f"[bold red]{plural(len(violations), 'нарушение', 'нарушения', 'нарушений')}:[/]")
        for v in violations:
            where = (
                f"{source}:{lines[(v.username, v.on_date)]}: "
                if (v.username, v.on_date) in lines
                else ""
            )
            out.print(
                f"  {where}{v.username} {v.on_date:%d.%m.%Y} {v.rule} ({v.article}): {v.message}",
                markup=False,
            )
    if gaps:
        worst = max(g.short for g in gaps)
        out.print(
            "[bold red]Нехватка операторов: "
            f"{plural(len(gaps), 'интервал', 'интервала', 'интервалов')}, "
            f"больше всего не хватает {worst}:[/]"
        )
        for g in gaps:
            out.print(
                f"  {g.on_date:%d.%m.%Y} {WEEKDAYS[g.on_date.weekday()]} "
                f"{g.from_hour:02d}:00–{g.to_hour:02d}:00 не хватает до {g.short} "
                f"(нужно {g.required}, на смене {g.rostered})" + (f" — {g.note}" if g.note else ""),
                markup=False,
            )
    if not violations and not gaps:
        out.print("[green]Нарушений ТК РФ нет, потребность покрыта.[/]")


def _fetch(month: str) -> RosterPublic:
    with api_client() as client:
        return client.roster(month)


@app.command("show", help="Сетка месяца по сотрудникам, покрытие по часам и проверка.")
def show(
    month: MonthOpt,
    person: Annotated[
        str | None, typer.Option("--person", "-p", help="Только этот сотрудник (логин).")
    ] = None,
    coverage: Annotated[
        bool, typer.Option("--coverage/--no-coverage", help="Показать покрытие по часам.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    _month_ok(month)
    roster = _fetch(month)
    if as_json:
        print_json(roster)
        return
    status = "опубликован" if roster.status == "published" else "черновик"
    out.print(f"График на {month}: {status}, версия {roster.version}", style="bold")
    _grid(roster, person)
    if coverage and person is None:
        _coverage(roster)
    if person is None:
        out.print()
        _print_findings(roster.violations, roster.gaps, roster.warnings)
        print_group_gaps(roster.group_gaps)


# --- check ----------------------------------------------------------------------------------


#: header keys (see `csvfile.header_key`) of a roster file → canonical columns
ROSTER_COLUMNS = {
    "логин": "username",
    "username": "username",
    "дата": "date",
    "date": "date",
    "смена": "shift",
    "shift": "shift",
    "template_code": "shift",
    # the rest of what export writes: read and ignored
    "фио": "full_name",
    "начало": "start",
    "конец": "end",
    "часы": "hours",
    "ночные часы": "night_hours",
}


def read_roster_csv(
    path: Path,
) -> tuple[list[RosterShiftPublic], dict[tuple[str, date], int]]:
    """A roster file as `roster export --format csv` writes it, edited by hand (Excel's
    UTF-8 or Windows-1251, `;` or `,`; columns Логин, Дата, Смена — others are ignored; an
    empty Смена is a day off). Returns the shifts and the file line of each (person, date);
    any bad line stops with `file:line: column: reason` for every problem."""
    try:
        table = read_csv(path, aliases=ROSTER_COLUMNS, required=("username", "date", "shift"))
    except CsvFileError as exc:
        fail(str(exc))
    shifts: list[RosterShiftPublic] = []
    lines: dict[tuple[str, date], int] = {}
    for row in table.rows:
        code = row.values.get("shift")
        if not code:
            continue  # a day off
        username = row.values.get("username", "")
        text_day = row.values.get("date", "")
        day = date_or_none(text_day)
        if not username:
            table.problem(row.line, "username", "пусто")
        if day is None:
            table.problem(row.line, "date", f"«{text_day}» — нужна дата ГГГГ-ММ-ДД или ДД.ММ.ГГГГ")
        if username and day is not None:
            lines[(username, day)] = row.line
            shifts.append(RosterShiftPublic(username=username, on_date=day, template_code=code))
    if table.problems:
        for problem in table.problems:
            err.print(problem, markup=False)
        count = plural(len(table.problems), "ошибка", "ошибки", "ошибок")
        fail(f"{path}: {count}, ничего не отправлено")
    return shifts, lines


@app.command(
    "check",
    help="Проверить график (сохранённый или из файла CSV) по правилам ТК РФ и покрытие групп.",
)
def check_cmd(
    month: MonthOpt,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="CSV графика (как из roster export); не сохраняется.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    _month_ok(month)
    body: RosterImport | None = None
    lines: dict[tuple[str, date], int] = {}
    if file is not None:
        shifts, lines = read_roster_csv(file)
        body = RosterImport(shifts=shifts)
    with api_client() as client:
        result = client.check_roster(month, body)
    if as_json:
        print_json(result)
    else:
        _print_findings(result.violations, result.gaps, [], source=file, lines=lines)
        print_group_gaps(result.group_gaps)
    if result.violations or result.gaps or result.group_gaps:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("import", help="Сохранить график из CSV как черновик месяца (после проверки).")
def import_cmd(
    month: MonthOpt,
    file: Annotated[
        Path, typer.Argument(help="CSV: username;date;shift", exists=True, dir_okay=False)
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Сохранить, даже если есть нарушения.")
    ] = False,
) -> None:
    _month_ok(month)
    shifts, _ = read_roster_csv(file)
    with api_client() as client, _rules_refusal(FORCE_HINT):
        roster = client.import_roster(month, RosterImport(shifts=shifts, force=force))
    out.print(f"Черновик графика на {month} сохранён из {file}: {len(roster.shifts)} смен.")
    _print_findings(roster.violations, roster.gaps, roster.warnings)


# --- swap, assign, publish ---------------------------------------------------------------------


@contextmanager
def _rules_refusal(hint: str, title: str = "не сохранено — нарушения:") -> Iterator[None]:
    """A change the backend refused because it breaks the labour code (or, for publishing,
    leaves gaps): one line per finding (person, date, rule and article; or the gap's hours),
    exit 1, nothing saved."""
    try:
        yield
    except ValidationFailedError as exc:
        if exc.code != "roster_rules":
            raise
        err.print(f"[bold red]Ошибка:[/] {title}")
        for p in exc.problems:
            err.print(f"  {p.message}", markup=False)
        err.print(hint, style="dim")
        raise typer.Exit(1) from exc


FORCE_HINT = "Исправьте или сохраните с --force (нарушения останутся видны в roster check)."


ForceOpt = Annotated[
    bool, typer.Option("--force", help="Сохранить, даже если правка нарушает ТК РФ.")
]
DayArg = Annotated[str, typer.Argument(help="Дата: ГГГГ-ММ-ДД или ДД.ММ.ГГГГ.")]


def _change(on: date, body: RosterSwapRequest | RosterAssignRequest) -> RosterPublic:
    """Send one day's edit; a refusal lists the violations (exit 1), nothing is saved."""
    month = f"{on:%Y-%m}"
    with api_client() as client, _rules_refusal(FORCE_HINT):
        if isinstance(body, RosterSwapRequest):
            return client.swap_shifts(month, body)
        return client.assign_shift(month, body)


def _after_change(roster: RosterPublic, on: date, *people: str) -> None:
    codes = {(s.username, s.on_date): s.template_code for s in roster.shifts}
    now = ", ".join(f"{u} — {codes.get((u, on), 'выходной')}" for u in people)
    out.print(f"{on:%d.%m.%Y}: {now}. Версия графика {roster.version}.")
    for w in roster.warnings:
        out.print(f"[yellow]Внимание:[/] {w}")


@app.command("swap", help="Поменять местами смены двух сотрудников в один день.")
def swap(
    first: Annotated[str, typer.Argument(help="Логин первого сотрудника.")],
    second: Annotated[str, typer.Argument(help="Логин второго сотрудника.")],
    day: DayArg,
    force: ForceOpt = False,
) -> None:
    on = parse_day(day)
    body = RosterSwapRequest(first=first, second=second, on_date=on, force=force)
    _after_change(_change(on, body), on, first, second)


@app.command("assign", help="Назначить сотруднику смену (или выходной) на дату.")
def assign(
    person: Annotated[str, typer.Argument(help="Логин сотрудника.")],
    day: DayArg,
    shift: Annotated[str, typer.Argument(help="Код смены (Д, Н, Р…) или «-» для выходного.")],
    force: ForceOpt = False,
) -> None:
    on = parse_day(day)
    code = None if shift in ("-", "выходной", "off") else shift
    body = RosterAssignRequest(username=person, on_date=on, template_code=code, force=force)
    _after_change(_change(on, body), on, person)


@app.command("publish", help="Опубликовать график (по ст.103 — не позднее чем за месяц).")
def publish(
    month: MonthOpt,
    force: Annotated[
        bool, typer.Option("--force", help="Опубликовать, несмотря на нарушения или нехватку.")
    ] = False,
) -> None:
    _month_ok(month)
    hint = "Исправьте (roster assign/swap) или опубликуйте с --force."
    with api_client() as client, _rules_refusal(hint, "не опубликовано — нарушения и нехватка:"):
        roster = client.publish_roster(month, RosterPublishRequest(force=force))
    out.print(f"График на {month} опубликован (версия {roster.version}).")
    for w in roster.warnings:
        out.print(f"[yellow]Внимание:[/] {w}")
    if roster.violations or roster.gaps:
        _print_findings(roster.violations, roster.gaps, [])


# --- export -----------------------------------------------------------------------------------


def _shift_times(t: ShiftTemplatePublic, on: date) -> tuple[datetime, datetime]:
    start = datetime.combine(on, datetime.min.time(), CENTRE_TZ) + timedelta(
        minutes=minutes_of(t.starts_at)
    )
    span = span_minutes(t.starts_at, t.ends_at)
    return start, start + timedelta(minutes=span)


#: CSV columns: what `check --file` and `import` read back (Логин, Дата, Смена)
CSV_COLUMNS = ["Логин", "ФИО", "Дата", "Смена", "Начало", "Конец", "Часы", "Ночные часы"]


def _rows(
    roster: RosterPublic,
) -> list[tuple[str, str, date, str, datetime, datetime, float, float]]:
    templates = {t.code: t for t in roster.templates}
    names = {p.username: p.full_name for p in roster.people}
    rows = []
    for s in sorted(roster.shifts, key=lambda s: (natural_key(s.username), s.on_date)):
        t = templates[s.template_code]
        start, end = _shift_times(t, s.on_date)
        rows.append(
            (
                s.username,
                names.get(s.username, ""),
                s.on_date,
                s.template_code,
                start,
                end,
                t.work_hours,
                t.night_hours,
            )
        )
    return rows


def _target(output: Path, month: str, ext: str) -> Path:
    """A folder given for a file: the file goes inside it."""
    if output.is_dir() or str(output).endswith(("/", "\\")):
        output.mkdir(parents=True, exist_ok=True)
        return output / f"roster-{month}.{ext}"
    return output


def _export_csv(roster: RosterPublic, target: Path | None) -> None:
    rows = _rows(roster)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for username, name, day, code, start, end, hours, night in rows:
        writer.writerow(
            [
                username,
                name,
                day.isoformat(),
                code,
                start.strftime("%Y-%m-%d %H:%M"),
                end.strftime("%Y-%m-%d %H:%M"),
                _num(hours),
                _num(night),
            ]
        )
    if target is None:
        sys.stdout.write(buffer.getvalue())
    else:
        # Excel in a Russian locale opens UTF-8 with a BOM, `;` and decimal commas correctly
        target = _target(target, roster.month, "csv")
        target.write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")
        out.print(f"{target}: {plural(len(rows), 'смена', 'смены', 'смен')}")


def _export_xlsx(roster: RosterPublic, target: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    days = _month_days(roster.month)
    by = {(s.username, s.on_date): s.template_code for s in roster.shifts}
    book = Workbook()
    grid = book.active
    assert grid is not None
    grid.title = f"График {roster.month}"
    grid.append(["Логин", "ФИО", *[d.day for d in days], "Часы", "Норма", "Ночные ч", "Выходные"])
    grid.append(["", "", *[WEEKDAYS[d.weekday()] for d in days], "", "", "", ""])
    weekend = PatternFill("solid", fgColor="FFE0E0")
    for cell in grid[1]:
        cell.font = Font(bold=True)
    for p in roster.people:
        grid.append(
            [
                p.username,
                p.full_name,
                *[by.get((p.username, d), "") for d in days],
                p.hours,
                p.norm_hours,
                p.night_hours,
                p.weekend_shifts,
            ]
        )
    for i, d in enumerate(days):
        if d.weekday() >= 5:
            for row in grid.iter_rows(min_col=3 + i, max_col=3 + i):
                for cell in row:
                    cell.fill = weekend
    for row in grid.iter_rows(min_col=3, max_col=2 + len(days)):
        for cell in row:
            cell.alignment = Alignment(horizontal="center")
    grid.column_dimensions["B"].width = 32
    grid.freeze_panes = "C3"
    shifts = book.create_sheet("Смены")
    rows = _rows(roster)
    shifts.append(CSV_COLUMNS)
    for username, name, day, code, start, end, hours, night in rows:
        # real dates and numbers: Excel sums the hours and sorts by date
        shifts.append(
            [
                username,
                name,
                day,
                code,
                start.replace(tzinfo=None),
                end.replace(tzinfo=None),
                hours,
                night,
            ]
        )
    for row in shifts.iter_rows(min_row=2):
        row[2].number_format = "DD.MM.YYYY"
        row[4].number_format = row[5].number_format = "DD.MM.YYYY HH:MM"
    cover = book.create_sheet("Покрытие")
    cover.append(["Дата", *[f"{h:02d}" for h in range(24)]])
    for i, d in enumerate(days):
        cover.append(
            [
                d.isoformat(),
                *[f"{roster.covered[i * 24 + h]}/{roster.required[i * 24 + h]}" for h in range(24)],
            ]
        )
    target = _target(target, roster.month, "xlsx")
    book.save(target)
    out.print(
        f"{target}: {plural(len(roster.people), 'сотрудник', 'сотрудника', 'сотрудников')}, "
        f"{plural(len(rows), 'смена', 'смены', 'смен')}"
    )


def _export_ics(roster: RosterPublic, folder: Path) -> None:
    from icalendar import Calendar, Event

    folder.mkdir(parents=True, exist_ok=True)
    templates = {t.code: t for t in roster.templates}
    by_person: dict[str, list[RosterShiftPublic]] = defaultdict(list)
    for s in roster.shifts:
        by_person[s.username].append(s)
    stamp = datetime.now(CENTRE_TZ)
    for p in roster.people:
        cal = Calendar()
        cal.add("prodid", "-//EKC-122//roster//RU")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", f"Смены {p.full_name or p.username} {roster.month}")
        cal.add("x-wr-timezone", "Asia/Irkutsk")
        for s in by_person.get(p.username, []):
            t = templates[s.template_code]
            start, end = _shift_times(t, s.on_date)
            event = Event()
            event.add("uid", f"ekc122-{roster.month}-{p.username}-{s.on_date.isoformat()}@ekc122")
            event.add("dtstamp", stamp)
            event.add("dtstart", start)
            event.add("dtend", end)
            event.add("summary", f"Смена {t.code}: {t.name}")
            event.add(
                "description",
                f"{t.starts_at}–{t.ends_at}, перерыв {t.break_minutes} мин, "
                f"{t.work_hours:g} ч работы, из них ночных {t.night_hours:g}",
            )
            event.add("sequence", roster.version)
            cal.add_component(event)
        cal.add_missing_timezones()
        (folder / f"{p.username}.ics").write_bytes(cal.to_ical())
    files = plural(len(roster.people), "файл", "файла", "файлов")
    out.print(f"{folder}: {files} .ics (по одному на сотрудника)")


@app.command("export", help="Выгрузить график: csv, xlsx или ics (по файлу на сотрудника).")
def export(
    month: MonthOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv | xlsx | ics")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Файл (csv, xlsx) или папка (ics). Без него csv — в stdout.",
        ),
    ] = None,
) -> None:
    _month_ok(month)
    if fmt not in ("csv", "xlsx", "ics"):
        fail(f"формат «{fmt}»: нужен csv, xlsx или ics", 2)
    if fmt != "csv" and output is None:
        fail(f"для формата {fmt} укажите --output", 2)
    roster = _fetch(month)
    if fmt == "csv":
        _export_csv(roster, output)
    elif fmt == "xlsx":
        assert output is not None
        _export_xlsx(roster, output)
    else:
        assert output is not None
        _export_ics(roster, output)
