"""`ekc-admin report kpi | operators | topics | transfers | appeals | plan-vs-fact | video`:
the centre's reports for shift leads and admins, every one in the one shape
`ekc_core.reports.Report`, shown as a table with the targets and the misses marked, or
written as JSON, CSV or XLSX, with a chart in the terminal on request."""

from __future__ import annotations

import calendar
import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, cast, get_args

import typer

from ekc_admin.context import EXIT_FORBIDDEN, api_client, date_or_none, fail
from ekc_admin.report_output import EXIT_USAGE, Output, emit, resolve
from ekc_core.client import EkcClient
from ekc_core.client_reports import KpiBy, VideoBy
from ekc_core.errors import NotFoundError, PermissionDeniedError
from ekc_core.localtime import CENTRE_TZ
from ekc_core.reports import Report
from ekc_core.workforce import MONTH_FORMAT, MONTH_PATTERN

app = typer.Typer(
    help=(
        "Отчёты центра: показатели против целей (KPI), операторы, тематики, переводы в "
        "ведомства, обращения, план "
        "и факт по часам, видеоконсультации. Для старших смены и администраторов. "
        "Период по умолчанию — текущий месяц по сегодняшний день (время Иркутска). "
        "Промахи отмечены красным и знаком «✗»."
    ),
    no_args_is_help=True,
)

KPI_BY: tuple[str, ...] = get_args(KpiBy)
VIDEO_BY: tuple[str, ...] = get_args(VideoBy)
#: the server's bound of the short-abandon threshold (seconds)
MAX_SHORT_ABANDON = 600

FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from", help="Первый день, ГГГГ-ММ-ДД или ДД.ММ.ГГГГ (по умолчанию 1-е число месяца)."
    ),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", help="Последний день включительно (по умолчанию сегодня)."),
]
MonthOpt = Annotated[
    str | None,
    typer.Option("--month", "-m", help="Весь месяц ГГГГ-ММ вместо --from/--to."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Вывести отчёт в JSON.")]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="xlsx (с типами ячеек и листом графика), csv, json или table (по умолчанию).",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Файл или папка; формат по расширению. xlsx без -o — файл в текущей папке.",
    ),
]
ChartOpt = Annotated[
    bool, typer.Option("--chart", help="Нарисовать главный ряд отчёта в терминале.")
]
SeriesOpt = Annotated[
    str | None,
    typer.Option("--series", help="Столбец для графика (ключ из --json), вместо главного."),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option("--columns", help="Только эти столбцы: ключи через запятую."),
]


def today() -> date:
    """Today at the centre (Irkutsk), whatever the machine's zone."""
    return datetime.now(CENTRE_TZ).date()


def parse_day(text: str, option: str) -> date:
    day = date_or_none(text)
    if day is None:
        fail(f"{option}: дата «{text}» — нужен формат ГГГГ-ММ-ДД или ДД.ММ.ГГГГ", EXIT_USAGE)
    return day


def _month_days(month: str, option: str = "--month") -> tuple[date, date]:
    if not re.match(MONTH_PATTERN, month):
        fail(f"{option}: «{month}» — {MONTH_FORMAT}", EXIT_USAGE)
    year, mon = (int(part) for part in month.split("-"))
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


def period(date_from: str | None, date_to: str | None, month: str | None) -> tuple[date, date]:
    """The days a report covers: `--month` (up to today in the current month), or `--from`
    and `--to` (either defaults from the other and today), or this month up to today."""
    now = today()
    if month is not None:
        if date_from is not None or date_to is not None:
            fail("--month или --from/--to: выберите одно", EXIT_USAGE)
        first, last = _month_days(month)
        return first, min(last, now) if first <= now <= last else last
    end = parse_day(date_to, "--to") if date_to is not None else None
    start = parse_day(date_from, "--from") if date_from is not None else None
    if start is None:
        start = (end or now).replace(day=1)
    if end is None:
        end = max(now, start) if start <= now else start
    if start > end:
        fail(f"--from {start:%d.%m.%Y} позже --to {end:%d.%m.%Y}", EXIT_USAGE)
    return start, end


def file_stem(kind: str, start: date, end: date, by: str | None = None) -> str:
    """`kpi-2026-11-by-day`, `topics-2026-11-01_2026-11-15`: the name of a saved report."""
    last = calendar.monthrange(start.year, start.month)[1]
    if (
        start.day == 1
        and (end.year, end.month) == (start.year, start.month)
        and (end.day == last or end == today())
    ):
        span = f"{start:%Y-%m}"
    elif start == end:
        span = start.isoformat()
    else:
        span = f"{start.isoformat()}_{end.isoformat()}"
    return f"{kind}-{span}" + (f"-by-{by}" if by else "")


def _choice(value: str | None, allowed: tuple[str, ...], option: str) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        fail(f"{option}: одно из {', '.join(allowed)}, а не «{value}»", EXIT_USAGE)
    return value


def fetch(kind: str, call: Callable[[EkcClient], Report]) -> Report:
    """Ask the server; a refusal by role gets the reports' own words."""
    with api_client() as client:
        try:
            return call(client)
        except PermissionDeniedError as exc:
            fail(
                "отчёты доступны только старшим смены и администраторам; у вашей учётной "
                f"записи нет такой роли (сервер: {exc.message})",
                EXIT_FORBIDDEN,
            )
        except NotFoundError as exc:
            if exc.message == "Not Found":  # FastAPI's own 404: the route does not exist
                fail(f"сервер не знает отчёта «{kind}»: обновите сервер ЕКЦ")
            fail(exc.message)


def _run(kind: str, call: Callable[[EkcClient], Report], *, stem: str, out: OutputOptions) -> None:
    wanted = out.resolved()
    report = fetch(kind, call)
    emit(report, wanted, default_name=stem)


def _period_report(
    kind: str,
    call: Callable[[EkcClient, date, date], Report],
    date_from: str | None,
    date_to: str | None,
    month: str | None,
    out: OutputOptions,
) -> None:
    """A report of a period and nothing else: `--from/--to` or `--month`, named after both."""
    start, end = period(date_from, date_to, month)
    _run(kind, lambda c: call(c, start, end), stem=file_stem(kind, start, end), out=out)


@dataclass(frozen=True)
class OutputOptions:
    """The six output options every report command takes, as given on its command line."""

    as_json: bool
    fmt: str | None
    output: Path | None
    chart: bool
    series_key: str | None
    columns: str | None

    def resolved(self) -> Output:
        """Checked together (a conflict is exit code 2 with its reason)."""
        return resolve(**asdict(self))


#: the output options' command-line parameters, in the order `--help` lists them
_OUTPUT_PARAMETERS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
    for name, hint, default in (
        ("as_json", JsonOpt, False),
        ("fmt", FormatOpt, None),
        ("output", OutputOpt, None),
        ("chart", ChartOpt, False),
        ("series_key", SeriesOpt, None),
        ("columns", ColumnsOpt, None),
    )
]


def output_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give a report command the six output options (after its own); the command gets them
    as one `out: OutputOptions` keyword argument."""
    own = [
        p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "out"
    ]

    @functools.wraps(command)
    def with_output(*args: Any, **kwargs: Any) -> None:
        out = OutputOptions(**{p.name: kwargs.pop(p.name) for p in _OUTPUT_PARAMETERS})
        command(*args, out=out, **kwargs)

    parameters = [*own, *_OUTPUT_PARAMETERS]
    with_output.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    with_output.__annotations__ = {p.name: p.annotation for p in parameters}
    return with_output


@app.command("kpi", help="Показатели против целей: уровень сервиса, дозвон, пропущенные, AHT …")
@output_options
def kpi(
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    month: MonthOpt = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Строки по: " + ", ".join(KPI_BY) + " (без --by — одна)."),
    ] = None,
    short_abandon: Annotated[
        int | None,
        typer.Option(
            "--short-abandon",
            help="Сбросы короче стольких секунд не считать поступившими (0 — считать все).",
        ),
    ] = None,
    *,
    out: OutputOptions,
) -> None:
    group = cast("KpiBy | None", _choice(by, KPI_BY, "--by"))
    if short_abandon is not None and not 0 <= short_abandon <= MAX_SHORT_ABANDON:
        fail(f"--short-abandon: от 0 до {MAX_SHORT_ABANDON} с, а не {short_abandon}", EXIT_USAGE)
    start, end = period(date_from, date_to, month)
    _run(
        "kpi",
        lambda c: c.report_kpi(start, end, by=group, short_abandon=short_abandon),
        stem=file_stem("kpi", start, end, group),
        out=out,
    )


@app.command("operators", help="По операторам: контакты, AHT, доля обработки, исходы, перезвоны.")
@output_options
def operators(
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    month: MonthOpt = None,
    *,
    out: OutputOptions,
) -> None:
    _period_report("operators", EkcClient.report_operators, date_from, date_to, month, out)


@app.command("topics", help="О чём обращаются: тематики и их доли.")
@output_options
def topics(
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    month: MonthOpt = None,
    *,
    out: OutputOptions,
) -> None:
    _period_report("topics", EkcClient.report_topics, date_from, date_to, month, out)


@app.command("transfers", help="Переводы в ведомства: по ведомствам и тематикам.")
@output_options
def transfers(
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    month: MonthOpt = None,
    *,
    out: OutputOptions,
) -> None:
    _period_report("transfers", EkcClient.report_transfers, date_from, date_to, month, out)


@app.command(
    "appeals", help="Обращения по ведомствам: открытые, со сроком на этой неделе, просроченные."
)
@output_options
def appeals(
    on: Annotated[
        str | None, typer.Option("--on", help="На какой день (по умолчанию сегодня).")
    ] = None,
    *,
    out: OutputOptions,
) -> None:
    day = parse_day(on, "--on") if on is not None else None
    _run(
        "appeals",
        lambda c: c.report_appeals(day),
        stem=f"appeals-{(day or today()).isoformat()}",
        out=out,
    )


@app.command(
    "plan-vs-fact",
    help="План и факт по часам: нужно, в графике, работали, поступило звонков, уровень сервиса.",
)
@output_options
def plan_vs_fact(
    on_date: Annotated[
        str | None, typer.Option("--date", "-d", help="День (по умолчанию сегодня).")
    ] = None,
    month: Annotated[
        str | None, typer.Option("--month", "-m", help="Месяц ГГГГ-ММ: часы суток за месяц.")
    ] = None,
    *,
    out: OutputOptions,
) -> None:
    if on_date is not None and month is not None:
        fail("--date или --month: выберите одно", EXIT_USAGE)
    if month is not None:
        _month_days(month)
        stem = f"plan-vs-fact-{month}"
        day = None
    else:
        day = parse_day(on_date, "--date") if on_date is not None else today()
        stem = f"plan-vs-fact-{day.isoformat()}"
    _run(
        "plan-vs-fact",
        lambda c: c.report_plan_vs_fact(day=day, month=month),
        stem=stem,
        out=out,
    )


@app.command("video", help="Видеоконсультации по офисам МФЦ (или по месяцам).")
@output_options
def video(
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    month: MonthOpt = None,
    by: Annotated[
        str, typer.Option("--by", help="Строки по: " + ", ".join(VIDEO_BY) + ".")
    ] = "office",
    *,
    out: OutputOptions,
) -> None:
    group = cast("VideoBy", _choice(by, VIDEO_BY, "--by") or "office")
    start, end = period(date_from, date_to, month)
    _run(
        "video",
        lambda c: c.report_video(start, end, by=group),
        stem=file_stem("video", start, end, group),
        out=out,
    )
