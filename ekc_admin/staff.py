"""`ekc-admin staff add | list | show | edit | deactivate | import`: the people of the centre."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich import box
from rich.table import Table

from ekc_admin.context import api_client, err, fail, natural_key, out, print_json
from ekc_admin.csvfile import CsvFileError, CsvTable, read_csv
from ekc_admin.shifts import absence_table, preference_table
from ekc_admin.staff_values import (
    COLUMNS,
    ROLE_NAMES,
    ROLE_SHORT,
    parse_hours,
    parse_rate,
    parse_role,
    parse_yes_no,
    problems_of,
    split_skills,
)
from ekc_core.enums import Role
from ekc_core.errors import ValidationFailedError
from ekc_core.workforce import (
    StaffCreate,
    StaffImportRequest,
    StaffImportResult,
    StaffRecord,
    StaffUpdate,
)

app = typer.Typer(
    help=(
        "Сотрудники: учётные записи, роли, офисы, навыки, ставка, ночная работа. "
        "Смотреть — старший смены и администратор, менять — администратор."
    ),
    no_args_is_help=True,
)


def _role_option(value: str | None) -> Role | None:
    if value is None:
        return None
    try:
        return parse_role(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _rate_option(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_rate(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


# --- options shared by add and edit -----------------------------------------------------------

NameOpt = Annotated[str | None, typer.Option("--name", "-n", help="ФИО полностью.")]
RoleOpt = Annotated[
    str | None,
    typer.Option(
        "--role",
        help="Роль: оператор, старший смены, администратор (или operator, shift_lead, admin).",
    ),
]
OfficeOpt = Annotated[
    str | None,
    typer.Option("--office", help="Код офиса (ekc-admin offices list), например ekc_irkutsk."),
]
SkillOpt = Annotated[
    list[str] | None,
    typer.Option("--skill", help="Навык — группа тематик (svo, medicine, …); можно несколько раз."),
]
RateOpt = Annotated[str | None, typer.Option("--rate", help="Ставка: 1, 0,75, 0,5 …")]
HoursOpt = Annotated[
    float | None,
    typer.Option(
        "--week-hours", help="Норма часов в неделю: 40, или 36/35/24 (ст.92 ТК РФ).", min=1, max=40
    ),
]
NightOpt = Annotated[
    bool | None,
    typer.Option("--night/--no-night", help="Может ли работать ночью 22:00–06:00 (ст.96 ТК РФ)."),
]
PhoneOpt = Annotated[str | None, typer.Option("--phone", help="Рабочий телефон.")]
EmailOpt = Annotated[str | None, typer.Option("--email", help="Рабочая почта.")]
PasswordOpt = Annotated[
    bool, typer.Option("--password-prompt", help="Задать пароль (спросить без отображения).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Вывести JSON.")]


def _fields(
    *,
    name: str | None,
    role: str | None,
    office: str | None,
    skill: list[str] | None,
    rate: str | None,
    week_hours: float | None,
    night: bool | None,
    phone: str | None,
    email: str | None,
    password_prompt: bool,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "full_name": name,
        "role": _role_option(role),
        "office_code": office,
        "skills": [s for item in skill for s in split_skills(item)] if skill else None,
        "employment_rate": _rate_option(rate),
        "week_hours": week_hours,
        "night_work": night,
        "phone": phone,
        "email": email,
    }
    if password_prompt:
        fields["password"] = typer.prompt("Пароль", hide_input=True, confirmation_prompt=True)
    return {k: v for k, v in fields.items() if v is not None}


def _model(model: type[StaffCreate] | type[StaffUpdate], fields: dict[str, Any]) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        option = {
            "full_name": "--name",
            "office_code": "--office",
            "skills": "--skill",
            "employment_rate": "--rate",
            "week_hours": "--week-hours",
            "night_work": "--night",
            "username": "USERNAME",
        }
        lines = [f"{option.get(n, '--' + n.replace('_', '-'))}: {r}" for n, r in problems_of(exc)]
        fail("неверные данные:\n  " + "\n  ".join(lines), 2)


# --- output -----------------------------------------------------------------------------------


def short_name(full_name: str) -> str:
    """`"Иванова Анна Петровна"` → `"Иванова А. П."`."""
    last, *rest = full_name.split()
    return " ".join([last, *(f"{p[0]}." for p in rest)])


def _rate(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def staff_table(rows: list[StaffRecord], title: str) -> Table:
    """A table that fits 80 columns: long names and office codes are shortened."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0))
    table.add_column("Логин", no_wrap=True, max_width=12, overflow="ellipsis")
    table.add_column("ФИО", max_width=20, overflow="ellipsis", no_wrap=True)
    table.add_column("Роль", no_wrap=True)
    table.add_column("Ст.", justify="right", no_wrap=True)
    table.add_column("Ночь", no_wrap=True)
    table.add_column("Телефон", no_wrap=True)
    table.add_column("Офис", max_width=12, overflow="ellipsis", no_wrap=True)
    for s in sorted(rows, key=lambda r: natural_key(r.username)):
        style = "" if s.active else "dim"
        table.add_row(
            s.username,
            short_name(s.full_name),
            ROLE_SHORT[s.role],
            _rate(s.employment_rate),
            "да" if s.night_work else "нет",
            s.phone or "",
            s.office_code or "",
            style=style,
        )
    return table


def _print_record(s: StaffRecord) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    state = "активна" if s.active else "отключена"
    if s.active and not s.can_sign_in:
        state += ", пароль не задан"
    for label, value in (
        ("Логин", s.username),
        ("ФИО", s.full_name),
        ("Роль", ROLE_NAMES[s.role]),
        ("Офис", s.office_code or "—"),
        ("Навыки", ", ".join(s.skills) or "—"),
        ("Ставка", _rate(s.employment_rate)),
        ("Часов в неделю", f"{s.week_hours:g}"),
        ("Ночная работа", "да" if s.night_work else "нет"),
        ("Телефон", s.phone or "—"),
        ("Почта", s.email or "—"),
        ("Учётная запись", state),
    ):
        grid.add_row(label, value)
    out.print(grid)


# --- commands ---------------------------------------------------------------------------------


@app.command("add", help="Добавить сотрудника (администратор).")
def add(
    username: Annotated[str, typer.Argument(help="Логин: латиница, цифры, «.», «_», «-».")],
    name: NameOpt = None,
    role: RoleOpt = "operator",
    office: OfficeOpt = None,
    skill: SkillOpt = None,
    rate: RateOpt = None,
    week_hours: HoursOpt = None,
    night: NightOpt = None,
    phone: PhoneOpt = None,
    email: EmailOpt = None,
    password_prompt: PasswordOpt = False,
    as_json: JsonOpt = False,
) -> None:
    if not name:
        fail("укажите ФИО: --name «Фамилия Имя Отчество»", 2)
    fields = _fields(
        name=name,
        role=role,
        office=office,
        skill=skill,
        rate=rate,
        week_hours=week_hours,
        night=night,
        phone=phone,
        email=email,
        password_prompt=password_prompt,
    )
    body: StaffCreate = _model(StaffCreate, {"username": username, **fields})
    with api_client() as client:
        record = client.create_staff(body)
    if as_json:
        print_json(record)
        return
    out.print(f"Добавлен сотрудник {record.username} ({record.full_name}).")
    if not record.can_sign_in:
        out.print("Пароль не задан: войти он сможет после ekc-admin staff edit --password-prompt.")


@app.command("list", help="Список сотрудников (старший смены, администратор).")
def list_staff(
    role: RoleOpt = None,
    office: OfficeOpt = None,
    skill: Annotated[str | None, typer.Option("--skill", help="Только с этим навыком.")] = None,
    include_inactive: Annotated[
        bool, typer.Option("--all", help="Включая отключённые учётные записи.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    wanted_role = _role_option(role)
    with api_client() as client:
        rows = client.staff_list(
            role=wanted_role,
            office=office,
            skill=skill,
            active=None if include_inactive else True,
        )
    if as_json:
        print_json(rows)
        return
    out.print(staff_table(rows, f"Сотрудники ({len(rows)})"))


@app.command("show", help="Карточка сотрудника с отсутствиями и пожеланиями.")
def show(
    username: Annotated[str, typer.Argument(help="Логин.")],
    as_json: JsonOpt = False,
) -> None:
    with api_client() as client:
        record = client.staff_record(username)
        absences = client.absences(username=username)
        preferences = client.preferences(username=username)
    if as_json:
        print_json(
            {
                "staff": record.model_dump(mode="json"),
                "absences": [a.model_dump(mode="json") for a in absences],
                "preferences": [p.model_dump(mode="json") for p in preferences],
            }
        )
        return
    _print_record(record)
    out.print(absence_table(absences, "Отсутствия") if absences else "Отсутствий нет.")
    out.print(preference_table(preferences, "Пожелания") if preferences else "Пожеланий нет.")


@app.command(
    "edit", help="Изменить данные сотрудника (администратор); --skill заменяет все навыки."
)
def edit(
    username: Annotated[str, typer.Argument(help="Логин.")],
    name: NameOpt = None,
    role: RoleOpt = None,
    office: OfficeOpt = None,
    skill: SkillOpt = None,
    rate: RateOpt = None,
    week_hours: HoursOpt = None,
    night: NightOpt = None,
    phone: PhoneOpt = None,
    email: EmailOpt = None,
    password_prompt: PasswordOpt = False,
    active: Annotated[
        bool | None,
        typer.Option("--active/--inactive", help="Включить или отключить учётную запись."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    fields = _fields(
        name=name,
        role=role,
        office=office,
        skill=skill,
        rate=rate,
        week_hours=week_hours,
        night=night,
        phone=phone,
        email=email,
        password_prompt=password_prompt,
    )
    if active is not None:
        fields["active"] = active
    if not fields:
        fail("нечего менять: укажите хотя бы один параметр (см. --help)", 2)
    body: StaffUpdate = _model(StaffUpdate, fields)
    with api_client() as client:
        record = client.update_staff(username, body)
    if as_json:
        print_json(record)
        return
    out.print(f"Сохранено: {record.username} ({record.full_name}).")
    _print_record(record)


@app.command("deactivate", help="Отключить учётную запись и отозвать её токены (администратор).")
def deactivate(
    username: Annotated[str, typer.Argument(help="Логин.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Не спрашивать подтверждения.")] = False,
) -> None:
    with api_client() as client:
        record = client.staff_record(username)
        if not yes and not typer.confirm(
            f"Отключить {record.username} ({record.full_name})? Войти будет нельзя.",
            default=False,
        ):
            fail("отменено: ничего не изменено")
        client.deactivate_staff(username)
    out.print(f"Учётная запись {username} отключена, токены отозваны.")


# --- import -----------------------------------------------------------------------------------


def rows_of(table: CsvTable) -> list[tuple[int, StaffCreate]]:
    """Turn the rows of a read table into wire rows with their file lines; problems go to
    `table.problems` (a row with a problem is left out)."""
    parsers = {
        "role": parse_role,
        "employment_rate": parse_rate,
        "week_hours": parse_hours,
        "night_work": parse_yes_no,
        "skills": split_skills,
    }
    rows: list[tuple[int, StaffCreate]] = []
    first_line: dict[str, int] = {}
    for row in table.rows:
        fields: dict[str, Any] = {}
        ok = True
        username = row.values.get("username", "")
        if username in first_line:
            table.problem(
                row.line, "username", f"«{username}» уже есть в строке {first_line[username]}"
            )
            ok = False
        elif username:
            first_line[username] = row.line
        for name, text in row.values.items():
            try:
                fields[name] = parsers[name](text) if name in parsers else text
            except ValueError as exc:
                table.problem(row.line, name, str(exc))
                ok = False
        if fields.get("role") == Role.gateway:
            table.problem(row.line, "role", "служебные учётные записи не импортируются")
            ok = False
        try:
            record = StaffCreate.model_validate(fields)
        except ValidationError as exc:
            for name, reason in problems_of(exc):
                table.problem(row.line, name, reason)
            ok = False
        if ok:
            rows.append((row.line, record))
    return rows


def _line_key(problem: str) -> tuple[int, str]:
    parts = problem.split(":")
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0, problem)


def _report(problems: list[str]) -> None:
    err.print(f"[bold red]Ошибки ({len(problems)}), ничего не записано:[/]")
    for problem in sorted(problems, key=_line_key):
        err.print(f"  {problem}", markup=False, soft_wrap=True)
    raise typer.Exit(1)


@app.command(
    "import", help="Импорт сотрудников из CSV (Excel: UTF-8 или Windows-1251, «;» или «,»)."
)
def import_(
    path: Annotated[
        Path,
        typer.Argument(
            help=(
                "CSV со строкой заголовка: логин, ФИО, роль, офис, навыки (через «,» или «|»), "
                "ставка, ночь (да/нет), часов в неделю, телефон, email."
            )
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Только проверить и показать, что изменится.")
    ] = False,
) -> None:
    """Check every row here (file:line: column: reason), then send the whole file; the
    server checks offices, skills and repeated logins and writes all rows or none."""
    try:
        table = read_csv(path, aliases=COLUMNS, required=("username", "full_name"))
    except CsvFileError as exc:
        fail(str(exc))
    rows = rows_of(table)
    if not table.problems and not rows:
        table.problems.append(f"{path}: нет ни одной строки с сотрудником")
    lines = [line for line, _ in rows]
    request = StaffImportRequest(source=path.name, rows=[r for _, r in rows]) if rows else None

    def server_problems(exc: ValidationFailedError) -> list[str]:
        found = []
        for p in exc.problems:
            parts = p.field.split(".")
            if len(parts) >= 3 and parts[0] == "rows" and parts[1].isdigit():
                line = lines[int(parts[1])]
                found.append(f"{table.source}:{line}: {table.label(parts[2])}: {p.message}")
            else:
                found.append(f"{table.source}: {p.field or 'файл'}: {p.message}")
        return found

    with api_client() as client:

        def send(check_only: bool) -> StaffImportResult:
            assert request is not None
            return client.import_staff(request, dry_run=check_only)

        if table.problems:
            # what only the server can check (offices, skills, existing accounts) for the
            # rows that are fine here: every problem of the file in one report
            problems = list(table.problems)
            if request is not None:
                try:
                    send(check_only=True)
                except ValidationFailedError as exc:
                    problems += server_problems(exc)
            _report(problems)
        try:
            result = send(check_only=dry_run)
        except ValidationFailedError as exc:
            _report(server_problems(exc))
    counts = (
        f"создано {result.created}, обновлено {result.updated}, без изменений {result.unchanged}"
    )
    if dry_run:
        out.print(f"Проверка без записи (--dry-run), было бы: {counts}. Ничего не изменено.")
    else:
        out.print(f"Импорт из {path.name}: {counts}.")
