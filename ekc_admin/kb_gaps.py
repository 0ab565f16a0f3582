"""`ekc-admin kb gaps` (what operators searched for and did not find) and
`ekc-admin kb synonyms list | add | remove` (synonym groups and one-way caller-phrase rules
as data, picked up by consoles with their next sync, no reindex).

Registered on `ekc_admin.kb.app` when that module imports this one (its last line).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from ekc_admin.context import api_client, date_or_none, fail, out, print_json
from ekc_admin.kb import app
from ekc_core.localtime import CENTRE_TZ

EXIT_USAGE = 2

synonyms_app = typer.Typer(
    help="Синонимы поиска: группы фраз одного смысла (правят администраторы).",
    no_args_is_help=True,
)
app.add_typer(synonyms_app, name="synonyms")


def _day(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    day = date_or_none(text)
    if day is None:
        fail(f"{option}: неверная дата «{text}» (ГГГГ-ММ-ДД или ДД.ММ.ГГГГ)", EXIT_USAGE)
    return day


@app.command(
    "gaps",
    help="Пробелы базы знаний: поиски без результата или без открытой статьи, "
    "сгруппированные и посчитанные, и статьи, открытые после переформулировки "
    "(старшие смены и администраторы).",
)
def gaps(
    date_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="С даты (ГГГГ-ММ-ДД или ДД.ММ.ГГГГ); по умолчанию — за 366 дней до --to.",
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        typer.Option(
            "--to", help="По дату включительно (по умолчанию — сегодня); период до 366 дней."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Сколько групп показать.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    day_from, day_to = _day("--from", date_from), _day("--to", date_to)
    with api_client() as client:
        report = client.kb_gaps(date_from=day_from, date_to=day_to, limit=limit)
    if as_json:
        print_json(report)
        return
    period = (  # the server fills in what was not given
        f"{report.date_from:%d.%m.%Y}" if report.date_from else "…",
        f"{report.date_to:%d.%m.%Y}" if report.date_to else "…",
    )
    table = Table(
        "Запрос",
        "Раз",
        "Пусто",
        "Не открыли",
        "Последний",
        "Потом открыли",
        title=f"Пробелы базы знаний {period[0]}–{period[1]}: "
        f"{len(report.gaps)} групп из {report.searches} поисков",
    )
    for gap in report.gaps:
        then = "; ".join(
            f"{a.article_id} «{a.title}» ×{a.count}" if a.title else f"{a.article_id} ×{a.count}"
            for a in gap.then_opened
        )
        table.add_row(
            gap.query,
            str(gap.count),
            str(gap.not_found),
            str(gap.not_opened),
            f"{gap.last_at.astimezone(CENTRE_TZ):%d.%m.%Y %H:%M}",
            then or "—",
        )
    out.print(table)


@synonyms_app.command("list", help="Группы синонимов (номер, фразы).")
def synonyms_list(
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    with api_client() as client:
        current = client.kb_synonyms()
    if as_json:
        print_json(current)
        return
    table = Table(
        "№",
        "Фразы",
        "Ищется также как (правило в одну сторону)",
        title=f"Синонимы ({len(current.groups)}), версия {current.version}",
    )
    for group in current.groups:
        table.add_row(str(group.id), ", ".join(group.phrases), ", ".join(group.means) or "—")
    out.print(table)


@synonyms_app.command(
    "add",
    help="Новая группа: фразы одного смысла через пробел (фразу из нескольких слов — в "
    "кавычках). С --means — правило в одну сторону: фразы звонящего («капает с потолка») "
    "ищутся также как формулировка статей («протечка кровли»), но не наоборот. Консоли "
    "подхватят её при следующей синхронизации, без переиндексации.",
)
def synonyms_add(
    phrases: Annotated[
        list[str], typer.Argument(help="Фразы группы (хотя бы две; с --means — хотя бы одна).")
    ],
    means: Annotated[
        list[str] | None,
        typer.Option(
            "--means",
            help="Формулировка статей, которой означают фразы (можно несколько раз).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    with api_client() as client:
        group = client.kb_add_synonyms(phrases, means)
    if as_json:
        print_json(group)
        return
    if group.means:
        out.print(f"Добавлено правило {group.id}: {group.line()}")
    else:
        out.print(f"Добавлена группа {group.id}: {', '.join(group.phrases)}")


@synonyms_app.command("remove", help="Убрать группу синонимов по номеру (см. list).")
def synonyms_remove(
    group_id: Annotated[int, typer.Argument(min=1, help="Номер группы.")],
) -> None:
    with api_client() as client:
        group = client.kb_remove_synonyms(group_id)
    out.print(f"Убрана группа {group.id}: {', '.join(group.phrases)}")
