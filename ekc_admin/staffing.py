"""`ekc-admin staffing forecast | requirements | show`: calls per hour from the history and
the operators needed per hour of a month (Erlang C / Erlang A)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from ekc_admin.context import api_client, fail, out, print_json
from ekc_admin.groups_render import merge_lines, print_group_table
from ekc_core.validation import russian_message
from ekc_core.workforce import (
    MONTH_FORMAT,
    MONTH_PATTERN,
    ForecastProfile,
    RequirementsPublic,
    RequirementsRequest,
    holiday_profile_source,
    month_bounds,
)

app = typer.Typer(
    help="Прогноз звонков по часам и потребность в операторах (Эрланг C / A).",
    no_args_is_help=True,
)

WEEKDAYS = ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")
HOLIDAY = "Праздн."
_SL = re.compile(r"^\s*(\d{1,2}(?:[.,]\d+)?)\s*/\s*(\d{1,3})\s*$")


class ModelChoice(StrEnum):
    erlang_c = "erlang-c"
    erlang_a = "erlang-a"


MODEL_NAMES = {"erlang_c": "Эрланг C", "erlang_a": "Эрланг A"}

AsJson = Annotated[bool, typer.Option("--json", help="Вывести JSON.")]


def _grid(columns: list[list[float]], *, fmt: str, total_label: str | None = None) -> list[str]:
    """Rows = hours 00..23 (and a total row when labelled), columns = weekdays and holidays,
    values formatted with `fmt`; an empty column is shown as dashes. 71 columns wide."""
    width = len(HOLIDAY) + 1
    header = [*WEEKDAYS, HOLIDAY]

    def row(label: str, values: list[str]) -> str:
        return f"{label:<7}" + "".join(f"{v:>{width}}" for v in values)

    lines = [row("Час", header)]
    for hour in range(24):
        lines.append(row(f"{hour:02d}", [format(c[hour], fmt) if c else "—" for c in columns]))
    if total_label:
        lines.append(row(total_label, [format(sum(c), fmt) if c else "—" for c in columns]))
    return lines


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


def _render_forecast(p: ForecastProfile) -> None:
    out.print(
        f"Прогноз звонков: {p.from_date:%d.%m.%Y}–{p.to_date:%d.%m.%Y} ({p.weeks} нед.), "
        f"входящих звонков в истории: {p.inbound_calls}"
    )
    out.print("Среднее число входящих звонков в час (местное время, Иркутск):")
    for line in _grid([*p.calls, p.holiday_calls], fmt=".1f", total_label="За день"):
        out.print(line)
    out.print(f"Праздники: {holiday_profile_source(p.holiday_dates)}.")
    out.print(f"Время обслуживания (разговор + поствызывная обработка): {p.aht_seconds:.0f} с")
    if p.patience_seconds is None:
        out.print("Терпение звонящих: не оценить (брошенных звонков нет)")
    else:
        out.print(f"Терпение звонящих (для Эрланга A): {p.patience_seconds:.0f} с")
    out.print(
        f"Отвечено: {p.answered_calls} ({_share(p.answered_calls, p.inbound_calls)}), "
        f"брошено: {p.abandoned_calls} ({_share(p.abandoned_calls, p.inbound_calls)})"
    )
    out.print(
        f"Исходящие звонки: {p.outbound_per_day:.1f} в день по {p.outbound_aht_seconds:.0f} с"
    )
    out.print(f"Письменные каналы: {p.written_per_day:.1f} в день по {p.written_aht_seconds:.0f} с")


@app.command("forecast", help="Звонки в час по дням недели и часам из истории контактов.")
def forecast(
    weeks: Annotated[
        int, typer.Option("--weeks", "-w", help="Сколько полных недель истории брать.", min=1)
    ] = 8,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="День после окна истории, ГГГГ-ММ-ДД (по умолчанию сегодня; сам день не входит).",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Mean offered calls per weekday × hour, handle times, patience, non-queue work."""
    until_day = _parse_date(until, "--until") if until else None
    with api_client() as client:
        profile = client.staffing_forecast(weeks=weeks, until=until_day)
    if as_json:
        print_json(profile)
        return
    _render_forecast(profile)


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"дата в формате ГГГГ-ММ-ДД, а не «{value}»", param_hint=option
        ) from None


def _parse_sl(value: str) -> tuple[float, int]:
    match = _SL.match(value)
    if not match:
        raise typer.BadParameter("уровень сервиса в виде 80/20", param_hint="--sl")
    percent = float(match.group(1).replace(",", "."))
    if not 0 < percent < 100:
        raise typer.BadParameter("доля от 1 до 99 %", param_hint="--sl")
    return percent / 100, int(match.group(2))


def _parse_hours(value: str) -> tuple[int, int]:
    match = re.match(r"^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$", value)
    if not match:
        raise typer.BadParameter("часы в виде 8-20", param_hint="--back-office")
    return int(match.group(1)), int(match.group(2))


def _requirements_request(fields: dict[str, Any]) -> RequirementsRequest:
    """The request checked here: a wrong value is exit code 2 naming the option's field."""
    try:
        return RequirementsRequest.model_validate(fields)
    except ValidationError as exc:
        reasons = [
            f"{'.'.join(str(p) for p in e['loc'])}: {russian_message(dict(e))}"
            for e in exc.errors()
        ]
        fail("неверные данные: " + "; ".join(reasons), 2)


def _render_requirements(r: RequirementsPublic, group: str | None = None) -> None:
    """The month's requirement; with `group`, that group's own (from its calls alone)."""
    if group is not None:
        g = r.groups[0]
        out.print(f"Группа операторов: {g.name} ({g.code}), доля звонков {g.share:.0%}")
        for line in merge_lines([g], {}):
            out.print(f"Без своей очереди: {line}", markup=False)
        r = r.model_copy(
            update={
                "hourly": g.hourly,
                "calls": g.calls,
                "operator_hours": g.operator_hours,
                "groups": [],
            }
        )
    params: dict[str, Any] = r.params
    request: dict[str, Any] = params.get("request", {})
    year, mon = month_bounds(r.month)
    first = date(year, mon, 1)
    n_days = len(r.hourly) // 24
    days = [first + timedelta(days=i) for i in range(n_days)]
    holidays = set(params.get("calendar", {}).get("holidays", []))
    model = MODEL_NAMES.get(str(params.get("model")), str(params.get("model")))
    target = float(request.get("target_service_level", 0.8))
    within = request.get("answer_within_seconds", 20)
    line = (
        f"Потребность в операторах на {r.month}: {model}, уровень сервиса "
        f"{target * 100:g}/{within}, обслуживание {float(params.get('aht_seconds', 0)):.0f} с"
    )
    if params.get("patience_seconds") is not None:
        line += f", терпение {float(params['patience_seconds']):.0f} с"
    out.print(line)
    out.print(
        f"Неэффективное время {float(request.get('shrinkage', 0)) * 100:g} %, "
        f"минимум {request.get('min_per_hour')} в час, рост ×{request.get('growth')}, "
        f"работа вне очереди {float(params.get('back_office_hours_per_day', 0)):.1f} ч в день "
        f"({int(request.get('back_office_from', 8)):02d}–"
        f"{int(request.get('back_office_to', 20)):02d} ч)"
    )
    out.print()
    out.print("Дата        День  Звонков  Пик  Опер.-часов")
    for i, day in enumerate(days):
        hours = r.hourly[i * 24 : (i + 1) * 24]
        calls = sum(r.calls[i * 24 : (i + 1) * 24]) if r.calls else 0.0
        name = WEEKDAYS[day.weekday()] + ("*" if day.isoformat() in holidays else " ")
        out.print(f"{day:%d.%m.%Y}  {name:<4}  {calls:7.1f}  {max(hours):3d}  {sum(hours):11d}")
    if holidays:
        source = params.get("profile", {}).get("holiday_source")
        out.print(
            "* — праздничный день, рассчитан по профилю праздников"
            + (f": {source}" if source else "")
        )
    out.print()
    out.print("Наибольшая потребность по дням недели и часам:")
    columns: list[list[float]] = []
    for weekday in range(7):
        chosen = [
            i
            for i, d in enumerate(days)
            if d.weekday() == weekday and d.isoformat() not in holidays
        ]
        columns.append(
            [max(r.hourly[i * 24 + h] for i in chosen) for h in range(24)] if chosen else []
        )
    holiday_idx = [i for i, d in enumerate(days) if d.isoformat() in holidays]
    columns.append(
        [max(r.hourly[i * 24 + h] for i in holiday_idx) for h in range(24)] if holiday_idx else []
    )
    for text_line in _grid(columns, fmt="d"):
        out.print(text_line)
    out.print()
    norm = params.get("calendar", {}).get("norm_hours")
    total = f"Итого: {r.operator_hours} операторо-часов"
    if norm:
        total += (
            f"; норма часов месяца на полную ставку {float(norm):g} ч → "
            f"{r.operator_hours / float(norm):.1f} ставки"
        )
    out.print(total)
    warnings = params.get("warnings") or []
    if warnings:
        out.print("Предупреждения:")
        for warning in warnings:
            out.print(f"  ! {warning}")
    print_group_table(r)


@app.command("requirements", help="Рассчитать потребность в операторах по часам месяца.")
def requirements(
    month: Annotated[str, typer.Option("--month", "-m", help="Месяц, ГГГГ-ММ.")],
    model: Annotated[
        ModelChoice,
        typer.Option(
            "--model", help="Модель очереди: erlang-c или erlang-a (с уходом из очереди)."
        ),
    ] = ModelChoice.erlang_c,
    sl: Annotated[
        str | None,
        typer.Option("--sl", help="Уровень сервиса «доля/секунды», по умолчанию 80/20."),
    ] = None,
    target: Annotated[
        float | None,
        typer.Option(
            "--target", help="Целевая доля звонков, отвеченных вовремя (0.8).", min=0.01, max=0.99
        ),
    ] = None,
    within: Annotated[
        int | None,
        typer.Option("--within", help="За сколько секунд ответить (20).", min=1, max=600),
    ] = None,
    patience: Annotated[
        float | None,
        typer.Option(
            "--patience",
            help="Терпение звонящих в секундах для Эрланга A (по умолчанию — из истории).",
        ),
    ] = None,
    aht: Annotated[
        float | None,
        typer.Option("--aht", help="Время обслуживания в секундах (по умолчанию — из истории)."),
    ] = None,
    shrinkage: Annotated[
        float | None,
        typer.Option("--shrinkage", help="Доля времени вне линии: перерывы, обучение (0.3)."),
    ] = None,
    minimum: Annotated[
        int | None, typer.Option("--min", help="Не меньше стольких операторов в час (2).")
    ] = None,
    growth: Annotated[
        float | None,
        typer.Option("--growth", help="Множитель объёма звонков: кампании, сезон (1.0)."),
    ] = None,
    weeks: Annotated[
        int | None, typer.Option("--weeks", "-w", help="Сколько недель истории брать (8).")
    ] = None,
    back_office: Annotated[
        str | None,
        typer.Option(
            "--back-office",
            help="Часы исходящих звонков и письменных каналов, «с-по» (8-20).",
        ),
    ] = None,
    merge_below: Annotated[
        float | None,
        typer.Option(
            "--merge-below",
            help="Группа с нагрузкой меньше стольких Эрланг в час не получает своей очереди: "
            "её звонки считаются в очереди первой группы её переполнения (1.0; 0 — каждая "
            "группа отдельно).",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Compute and store the month's required operators per hour, then print a summary."""
    if sl is not None and (target is not None or within is not None):
        raise typer.BadParameter("укажите либо --sl, либо --target/--within", param_hint="--sl")
    if sl is not None:
        target, within = _parse_sl(sl)
    body: dict[str, Any] = {
        "month": month,
        "model": model.value.replace("-", "_"),
        "target_service_level": target,
        "answer_within_seconds": within,
        "patience_seconds": patience,
        "aht_seconds": aht,
        "shrinkage": shrinkage,
        "min_per_hour": minimum,
        "growth": growth,
        "weeks": weeks,
        "merge_below_erlangs": merge_below,
    }
    if back_office is not None:
        body["back_office_from"], body["back_office_to"] = _parse_hours(back_office)
    data = _requirements_request({k: v for k, v in body.items() if v is not None})
    with api_client() as client:
        result = client.compute_requirements(data)
    if as_json:
        print_json(result)
        return
    _render_requirements(result)


@app.command("show", help="Показать сохранённую потребность в операторах на месяц.")
def show(
    month: Annotated[str, typer.Option("--month", "-m", help="Месяц, ГГГГ-ММ.")],
    group: Annotated[
        str | None,
        typer.Option("--group", "-g", help="Только эта группа операторов (код, например svo)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    if not re.match(MONTH_PATTERN, month):
        raise typer.BadParameter(MONTH_FORMAT, param_hint="--month")
    with api_client() as client:
        result = client.requirements(month, group)
    if as_json:
        print_json(result)
        return
    _render_requirements(result, group)
