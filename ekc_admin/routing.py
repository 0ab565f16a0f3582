"""`ekc-admin routing`: the routing table by topic (issue 14) — show it, import a new
version of the routing file, list the versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ekc_admin.context import api_client, err, out, print_json, read_utf8
from ekc_core.errors import ValidationFailedError
from ekc_core.localtime import CENTRE_TZ
from ekc_core.routing_wire import RoutingPublic, RoutingStepPublic

app = typer.Typer(
    help="Маршрутизация по тематикам: группы операторов, переполнение, тематика → группа.",
    no_args_is_help=True,
)


def _steps(steps: list[RoutingStepPublic]) -> str:
    if not steps:
        return "—"
    return "; ".join(
        f"через {s.after} с → {'все' if s.to is None else ', '.join(s.to)}" for s in steps
    )


def _print(table: RoutingPublic) -> None:
    when = f", {table.created_at.astimezone(CENTRE_TZ):%d.%m.%Y %H:%M}" if table.created_at else ""
    who = f", {table.created_by}" if table.created_by else ""
    title = f"Маршрутизация, версия {table.version} ({table.source_name}{when}{who})"
    view = Table("Группа", "Название", "Тематик", "Переполнение", "По линиям", title=title)
    counts: dict[str, int] = {}
    for group in table.topics.values():
        counts[group] = counts.get(group, 0) + 1
    for g in table.groups:
        lines = "; ".join(f"{line}: {_steps(steps)}" for line, steps in g.lines.items())
        name = g.name + (" (общая)" if g.code == table.general else "")
        view.add_row(g.code, name, str(counts.get(g.code, 0)), _steps(g.overflow), lines or "—")
    out.print(view)


@app.command("show", help="Таблица маршрутизации в силе (или версия --version).")
def show(
    version: Annotated[
        int | None, typer.Option(min=0, help="Версия (0 — файл из поставки).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
    as_file: Annotated[bool, typer.Option("--file", help="Вывести сам файл (YAML).")] = False,
) -> None:
    with api_client() as client:
        table = client.routing(version=version)
    if as_json:
        print_json(table)
    elif as_file:
        out.print(table.text, markup=False, end="")
    else:
        _print(table)


@app.command("versions", help="Все версии: кто и когда загрузил какой файл.")
def versions(
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    with api_client() as client:
        rows = client.routing_versions()
    if as_json:
        print_json(rows)
        return
    view = Table("Версия", "Файл", "Когда", "Кто", title=f"Версии маршрутизации ({len(rows)})")
    for r in rows:
        view.add_row(
            str(r.version),
            r.source_name,
            f"{r.created_at.astimezone(CENTRE_TZ):%d.%m.%Y %H:%M}",
            r.created_by or "—",
        )
    out.print(view)


@app.command(
    "import",
    help="Загрузить новую версию файла маршрутизации (администраторы): сначала проверка "
    "всего файла (файл:строка: поле: причина), затем новая версия целиком или ничего.",
)
def import_file(
    path: Annotated[Path, typer.Argument(help="Файл YAML (см. data/reference/routing.yaml).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Только проверить.")] = False,
) -> None:
    text = read_utf8(path)
    with api_client() as client:
        try:
            table = client.import_routing(text, path.name, dry_run=dry_run)
        except ValidationFailedError as exc:
            err.print(f"Ошибки ({len(exc.problems)}), ничего не записано:", markup=False)
            for problem in exc.problems:
                err.print(f"  {problem.message}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from exc
    _print(table)
    if dry_run:
        out.print(f"Проверено: ошибок нет; версия {table.version} не записана (--dry-run).")
    else:
        out.print(f"Записана версия {table.version}. Прежние версии: ekc-admin routing versions")
