"""`ekc-admin shifts templates | absence | prefer | preferences | unprefer`: kinds of shift,
time off and the wishes a roster tries to honour."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich import box
from rich.table import Table

from ekc_admin.context import api_client, date_or_none, fail, out, print_json
from ekc_core.localtime import CENTRE_TZ
from ekc_core.validation import russian_message
from ekc_core.workforce import (
    AbsenceCreate,
    AbsenceKind,
    AbsencePublic,
    PreferenceCreate,
    PreferenceKind,
    PreferencePublic,
    ShiftTemplateCreate,
    ShiftTemplatePublic,
    ShiftTemplateUpdate,
)

app = typer.Typer(
    help="Смены: шаблоны смен, отсутствия (отпуск, больничный, отгул), пожелания к графику.",
    no_args_is_help=True,
)
templates_app = typer.Typer(
    help="Шаблоны смен (Д 08:00–20:00, Н 20:00–08:00 …); без команды — список.",
    invoke_without_command=True,
)
absence_app = typer.Typer(
    help="Отсутствия: отпуск, больничный, отгул, учёба (старший смены, администратор).",
    no_args_is_help=True,
)
app.add_typer(templates_app, name="templates")
app.add_typer(absence_app, name="absence")

ABSENCE_NAMES = {
    AbsenceKind.vacation: "отпуск",
    AbsenceKind.sick: "больничный",
    AbsenceKind.day_off: "отгул",
    AbsenceKind.study: "учёба",
    AbsenceKind.other: "другое",
}
_ABSENCE_WORDS = {
    **{k.value: k for k in AbsenceKind},
    **{name: k for k, name in ABSENCE_NAMES.items()},
    "учеба": AbsenceKind.study,
    "учебный отпуск": AbsenceKind.study,
    "отгулы": AbsenceKind.day_off,
    "выходной": AbsenceKind.day_off,
}
WEEKDAYS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
_WEEKDAY_WORDS = {
    **{w: i for i, w in enumerate(WEEKDAYS)},
    **{str(i): i for i in range(7)},
    **{w: i for i, w in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{
        w: i
        for i, w in enumerate(
            ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")
        )
    },
}

JsonOpt = Annotated[bool, typer.Option("--json", help="Вывести JSON.")]


# --- values as people write them ------------------------------------------------------------


def parse_date(text: str) -> date:
    """`2026-12-01` or `01.12.2026`."""
    day = date_or_none(text)
    if day is None:
        raise typer.BadParameter(f"«{text}»: дата в виде ГГГГ-ММ-ДД или ДД.ММ.ГГГГ")
    return day


def parse_month(text: str) -> str:
    """`2026-12` or `12.2026` → `2026-12`."""
    value = text.strip()
    for fmt in ("%Y-%m", "%m.%Y"):
        try:
            return datetime.strptime(value, fmt).strftime("%Y-%m")
        except ValueError:
            continue
    raise typer.BadParameter(f"«{text}»: месяц в виде ГГГГ-ММ, например 2026-12")


def parse_clock(text: str) -> str:
    """`8:00`, `08.00`, `8` → `08:00`."""
    match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?", text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2) or 0) > 59:
        raise typer.BadParameter(f"«{text}»: время в виде ЧЧ:ММ, например 08:00")
    return f"{int(match.group(1)):02d}:{match.group(2) or '00'}"


def parse_kind(text: str) -> AbsenceKind:
    kind = _ABSENCE_WORDS.get(text.strip().lower())
    if kind is None:
        names = ", ".join(f"{k.value} ({n})" for k, n in ABSENCE_NAMES.items())
        raise typer.BadParameter(f"«{text}»: вид отсутствия — {names}")
    return kind


def parse_weekday(text: str) -> int:
    day = _WEEKDAY_WORDS.get(text.strip().lower().rstrip("."))
    if day is None:
        raise typer.BadParameter(f"«{text}»: день недели — пн … вс или 0 (пн) … 6 (вс)")
    return day


def _optional(parser: Any, value: str | None) -> Any:
    return None if value is None else parser(value)


def _body(model: Any, fields: dict[str, Any]) -> Any:
    """Check a request body here: a wrong value is exit code 2 with the reason."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        reasons = [russian_message(dict(e)) for e in exc.errors()]
        fail("неверные данные: " + "; ".join(reasons), 2)


# --- output -----------------------------------------------------------------------------------


def _period(start: date, end: date) -> str:
    return f"{start:%d.%m.%Y}" if start == end else f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"


def _hours(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def template_table(rows: list[ShiftTemplatePublic], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("Код", "Название", "Начало", "Конец", "Перерыв", "Часы", "Ночью", ""):
        table.add_column(name, no_wrap=name != "Название")
    for t in rows:
        table.add_row(
            t.code,
            t.name,
            t.starts_at,
            t.ends_at + (" (+1)" if t.ends_at <= t.starts_at else ""),
            f"{t.break_minutes} мин",
            _hours(t.work_hours),
            _hours(t.night_hours),
            "" if t.active else "отключён",
            style="" if t.active else "dim",
        )
    return table


def absence_table(rows: list[AbsencePublic], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("№", "Сотрудник", "Вид", "Период", "Дней", "Примечание"):
        table.add_column(name, no_wrap=name != "Примечание")
    for a in rows:
        table.add_row(
            str(a.id),
            a.username,
            ABSENCE_NAMES[a.kind],
            _period(a.start_date, a.end_date),
            str((a.end_date - a.start_date).days + 1),
            a.note,
        )
    return table


def preference_table(rows: list[PreferencePublic], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("№", "Сотрудник", "Пожелание", "Когда", "Смена", "Примечание"):
        table.add_column(name, no_wrap=name != "Примечание")
    for p in rows:
        when = f"{p.on_date:%d.%m.%Y}" if p.on_date else f"каждый {WEEKDAYS[p.weekday or 0]}"
        table.add_row(
            str(p.id),
            p.username,
            "не работать" if p.kind == PreferenceKind.off else "работать",
            when,
            p.template_code or "любая",
            p.note,
        )
    return table


# --- shift templates --------------------------------------------------------------------------

CodeArg = Annotated[str, typer.Argument(help="Код шаблона (Д, Н, Р …).")]
TName = Annotated[str | None, typer.Option("--name", help="Название, например «Дневная 12 ч».")]
TFrom = Annotated[str | None, typer.Option("--from", help="Начало, ЧЧ:ММ (местное время ЕКЦ).")]
TTo = Annotated[
    str | None, typer.Option("--to", help="Конец, ЧЧ:ММ; не позже начала — на следующий день.")
]
TBreak = Annotated[
    int | None, typer.Option("--break", help="Перерыв на обед в минутах (не рабочее время).")
]


def _list_templates(include_inactive: bool, as_json: bool) -> None:
    with api_client() as client:
        rows = client.shift_templates()
    if not include_inactive:
        rows = [t for t in rows if t.active]
    if as_json:
        print_json(rows)
        return
    out.print(template_table(rows, f"Шаблоны смен ({len(rows)})"))


@templates_app.callback()
def templates_default(ctx: typer.Context) -> None:
    """Without a command: the list of active templates."""
    if ctx.invoked_subcommand is None:
        _list_templates(include_inactive=False, as_json=False)


@templates_app.command("list", help="Шаблоны смен: часы работы и ночные часы (22:00–06:00).")
def list_templates(
    include_inactive: Annotated[bool, typer.Option("--all", help="Включая отключённые.")] = False,
    as_json: JsonOpt = False,
) -> None:
    _list_templates(include_inactive, as_json)


@templates_app.command("add", help="Новый шаблон смены (старший смены, администратор).")
def add_template(
    code: CodeArg,
    name: TName = None,
    start: TFrom = None,
    end: TTo = None,
    break_minutes: TBreak = 0,
    as_json: JsonOpt = False,
) -> None:
    if not (name and start and end):
        fail("укажите --name, --from и --to", 2)
    body: ShiftTemplateCreate = _body(
        ShiftTemplateCreate,
        {
            "code": code,
            "name": name,
            "starts_at": parse_clock(start),
            "ends_at": parse_clock(end),
            "break_minutes": break_minutes or 0,
        },
    )
    with api_client() as client:
        template = client.create_shift_template(body)
    if as_json:
        print_json(template)
        return
    out.print(
        f"Добавлен шаблон {template.code} «{template.name}» {template.starts_at}–"
        f"{template.ends_at}: {_hours(template.work_hours)} ч работы, "
        f"{_hours(template.night_hours)} ч ночью."
    )


def _patch_template(code: str, fields: dict[str, Any], as_json: bool, done: str) -> None:
    body: ShiftTemplateUpdate = _body(ShiftTemplateUpdate, fields)
    with api_client() as client:
        template = client.update_shift_template(code, body)
    if as_json:
        print_json(template)
        return
    out.print(done)
    out.print(template_table([template], ""))


@templates_app.command("edit", help="Изменить шаблон: название, время, перерыв.")
def edit_template(
    code: CodeArg,
    name: TName = None,
    start: TFrom = None,
    end: TTo = None,
    break_minutes: TBreak = None,
    as_json: JsonOpt = False,
) -> None:
    fields = {
        "name": name,
        "starts_at": _optional(parse_clock, start),
        "ends_at": _optional(parse_clock, end),
        "break_minutes": break_minutes,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    if not fields:
        fail("нечего менять: укажите --name, --from, --to или --break", 2)
    _patch_template(code, fields, as_json, f"Шаблон {code} изменён.")


@templates_app.command("disable", help="Отключить шаблон: в новые графики он не попадёт.")
def disable_template(code: CodeArg) -> None:
    _patch_template(code, {"active": False}, False, f"Шаблон {code} отключён.")


@templates_app.command("enable", help="Снова включить отключённый шаблон.")
def enable_template(code: CodeArg) -> None:
    _patch_template(code, {"active": True}, False, f"Шаблон {code} включён.")


# --- absences ---------------------------------------------------------------------------------

UserArg = Annotated[str, typer.Argument(help="Логин сотрудника.")]


@absence_app.command("add", help="Внести отпуск, больничный, отгул … (пересечения не допускаются).")
def add_absence(
    username: UserArg,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="Вид: vacation (отпуск), sick (больничный), day_off (отгул), study (учёба), "
            "other (другое).",
        ),
    ],
    start: Annotated[str, typer.Option("--from", help="Первый день: ГГГГ-ММ-ДД или ДД.ММ.ГГГГ.")],
    end: Annotated[
        str | None,
        typer.Option("--to", help="Последний день включительно (по умолчанию = --from)."),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Примечание.")] = "",
    as_json: JsonOpt = False,
) -> None:
    first = parse_date(start)
    body: AbsenceCreate = _body(
        AbsenceCreate,
        {
            "kind": parse_kind(kind),
            "start_date": first,
            "end_date": parse_date(end) if end else first,
            "note": note,
        },
    )
    with api_client() as client:
        absence = client.create_absence(username, body)
    if as_json:
        print_json(absence)
        return
    out.print(
        f"Внесено №{absence.id}: {ABSENCE_NAMES[absence.kind]} "
        f"{_period(absence.start_date, absence.end_date)} — {absence.username}."
    )
    for warning in absence.warnings:  # the roster's shifts it falls on, the gaps it opens
        out.print(f"[yellow]Внимание:[/] {warning}", highlight=False)


@absence_app.command(
    "list", help="Отсутствия за месяц (по умолчанию текущий) или одного сотрудника."
)
def list_absences(
    username: Annotated[
        str | None, typer.Argument(help="Логин (без него — все сотрудники).")
    ] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="Месяц ГГГГ-ММ (у одного сотрудника — все).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    wanted = _optional(parse_month, month)
    if username is None and wanted is None:
        wanted = datetime.now(CENTRE_TZ).strftime("%Y-%m")
    with api_client() as client:
        rows = client.absences(username=username, month=wanted)
    if as_json:
        print_json(rows)
        return
    title = (
        "Отсутствия" + (f" {username}" if username else "") + (f" за {wanted}" if wanted else "")
    )
    if not rows:
        out.print(f"{title}: нет.")
        return
    out.print(absence_table(rows, f"{title} ({len(rows)})"))


@absence_app.command("remove", help="Удалить отсутствие по номеру (из absence list).")
def remove_absence(absence_id: Annotated[int, typer.Argument(help="Номер отсутствия.")]) -> None:
    with api_client() as client:
        client.delete_absence(absence_id)
    out.print(f"Отсутствие №{absence_id} удалено.")


# --- preferences ------------------------------------------------------------------------------


@app.command("prefer", help="Пожелание к графику: не работать или работать в день или день недели.")
def prefer(
    username: UserArg,
    off: Annotated[bool, typer.Option("--off", help="Не хочет работать.")] = False,
    work: Annotated[bool, typer.Option("--work", help="Хочет работать.")] = False,
    on_date: Annotated[
        str | None, typer.Option("--date", help="Дата: ГГГГ-ММ-ДД или ДД.ММ.ГГГГ.")
    ] = None,
    weekday: Annotated[
        str | None, typer.Option("--weekday", help="Каждый такой день недели: пн … вс или 0 … 6.")
    ] = None,
    shift: Annotated[
        str | None, typer.Option("--shift", help="Только эта смена (код шаблона: Д, Н …).")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Примечание.")] = "",
    as_json: JsonOpt = False,
) -> None:
    if off == work:
        fail("укажите одно из двух: --off или --work", 2)
    if (on_date is None) == (weekday is None):
        fail("укажите одно из двух: --date или --weekday", 2)
    body: PreferenceCreate = _body(
        PreferenceCreate,
        {
            "kind": PreferenceKind.off if off else PreferenceKind.work,
            "on_date": _optional(parse_date, on_date),
            "weekday": _optional(parse_weekday, weekday),
            "template_code": shift,
            "note": note,
        },
    )
    with api_client() as client:
        pref = client.create_preference(username, body)
    if as_json:
        print_json(pref)
        return
    out.print(f"Пожелание №{pref.id} сохранено — {pref.username}.")
    out.print(preference_table([pref], ""))


@app.command("preferences", help="Пожелания к графику: одного сотрудника или всех.")
def preferences(
    username: Annotated[str | None, typer.Argument(help="Логин (без него — все).")] = None,
    as_json: JsonOpt = False,
) -> None:
    with api_client() as client:
        rows = client.preferences(username=username)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("Пожеланий нет.")
        return
    out.print(preference_table(rows, f"Пожелания ({len(rows)})"))


@app.command("unprefer", help="Удалить пожелание по номеру (из shifts preferences).")
def unprefer(preference_id: Annotated[int, typer.Argument(help="Номер пожелания.")]) -> None:
    with api_client() as client:
        client.delete_preference(preference_id)
    out.print(f"Пожелание №{preference_id} удалено.")
