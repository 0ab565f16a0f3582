"""`ekc-admin routing`: the routing table by topic (issue 14) — show it, import a new
version of the routing file, list the versions; and the topic classifier that gives written
contacts their topic — retrain it, list its versions, try a text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ekc_admin.context import api_client, err, fail, out, print_json, read_utf8
from ekc_core.enums import Line
from ekc_core.errors import ValidationFailedError
from ekc_core.localtime import CENTRE_TZ
from ekc_core.routing import EVERYONE
from ekc_core.routing_wire import (
    RoutingChange,
    RoutingOverflowIn,
    RoutingPublic,
    RoutingStepIn,
    RoutingStepPublic,
)
from ekc_core.topic_wire import TopicModelPublic, TopicScores

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
    with api_client() as client, _refused():
        table = client.import_routing(text, path.name, dry_run=dry_run)
    _stored(table, dry_run=dry_run)


@contextmanager
def _refused() -> Iterator[None]:
    """Every problem the backend found, then exit 1: nothing was stored."""
    try:
        yield
    except ValidationFailedError as exc:
        err.print(f"Ошибки ({len(exc.problems)}), ничего не записано:", markup=False)
        for problem in exc.problems:
            err.print(f"  {problem.message}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from exc


def _stored(table: RoutingPublic, *, dry_run: bool) -> None:
    _print(table)
    if dry_run:
        out.print(f"Проверено: ошибок нет; версия {table.version} не записана (--dry-run).")
    else:
        out.print(f"Записана версия {table.version}. Прежние версии: ekc-admin routing versions")


def _topic_change(value: str) -> tuple[str, str | None]:
    topic, sep, group = value.partition("=")
    if not sep or not topic.strip():
        fail(
            f"--topic «{escape(value)}»: нужно ТЕМАТИКА=ГРУППА (или ТЕМАТИКА=- — группа из дерева)",
            2,
        )
    group = group.strip()
    return topic.strip(), None if group in ("", "-") else group


def _overflow_change(value: str) -> RoutingOverflowIn:
    target, sep, text = value.partition("=")
    group, _, line = target.partition("@")
    usage = escape("нужно ГРУППА[@ЛИНИЯ]=СЕКУНДЫ:ГРУППЫ,… (например svo=60:general,180:everyone)")
    if not sep or not group.strip():
        fail(f"--overflow «{escape(value)}»: {usage}", 2)
    known = [item.value for item in Line]
    if line and line not in known:
        fail(f"--overflow «{escape(value)}»: нет линии «{line}» (есть {', '.join(known)})", 2)
    steps: list[RoutingStepIn] | None = None
    if text.strip() != "-":
        steps = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            after, colon, to = part.partition(":")
            if not colon or not after.strip().isdigit() or not to.strip():
                fail(f"--overflow «{escape(value)}»: шаг «{escape(part)}»: {usage}", 2)
            groups = [g.strip() for g in to.split("+") if g.strip()]
            steps.append(RoutingStepIn(after=int(after), to=[] if groups == [EVERYONE] else groups))
    return RoutingOverflowIn(group=group.strip(), line=Line(line) if line else None, steps=steps)


@app.command(
    "set",
    help="Изменить таблицу в силе без файла (администраторы): тематику — в другую группу, "
    "шаги переполнения группы. Сохраняется новой версией, как импорт.",
)
def set_values(
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            help="ТЕМАТИКА=ГРУППА (svo.psych_help=psych); ТЕМАТИКА=- — группа из дерева "
            "тематик. Можно несколько раз.",
        ),
    ] = None,
    overflow: Annotated[
        list[str] | None,
        typer.Option(
            "--overflow",
            help="ГРУППА[@ЛИНИЯ]=СЕКУНДЫ:ГРУППЫ,… (svo=60:general,180:everyone; группы через "
            "«+»); ГРУППА@117=- — линия по общим шагам группы. Можно несколько раз.",
        ),
    ] = None,
    base: Annotated[
        int | None,
        typer.Option(
            "--base", min=0, help="Версия, которую вы меняете: отказ, если в силе уже другая."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Только проверить.")] = False,
) -> None:
    if not topic and not overflow:
        fail("нечего менять: укажите --topic или --overflow", 2)
    topics = dict(_topic_change(value) for value in topic or [])
    change = RoutingChange(
        topics=topics,
        overflow=[_overflow_change(value) for value in overflow or []],
        base_version=base,
        dry_run=dry_run,
    )
    with api_client() as client, _refused():
        table = client.change_routing(change)
    _stored(table, dry_run=dry_run)


# --- the topic classifier (issue 14, point 2) ------------------------------------------


def _score(s: TopicScores | None, field: str) -> str:
    return "—" if s is None else f"{getattr(s, field):.3f}"


def _models_table(rows: list[TopicModelPublic], title: str) -> Table:
    view = Table(
        "Версия",
        "Когда",
        "Действует",
        "Группа (отл.)",
        "Тематика (отл.)",
        "Топ-3 (отл.)",
        "Группа (dev)",
        "Порог",
        "Статей",
        "Текстов",
        "Причина",
        title=title,
    )
    for m in rows:
        view.add_row(
            str(m.version),
            f"{m.created_at.astimezone(CENTRE_TZ):%d.%m.%Y %H:%M}",
            "да" if m.active else "нет",
            _score(m.holdout, "group_top1"),
            _score(m.holdout, "topic_top1"),
            _score(m.holdout, "topic_top3"),
            _score(m.dev, "group_top1"),
            f"{m.threshold:.2f}",
            str(m.articles),
            str(m.contacts),
            m.reason or "—",
        )
    return view


@app.command(
    "retrain",
    help="Переобучить модель тематик (администраторы): на статьях базы знаний и прошлых "
    "контактах; новая версия действует, только если на отложенной выборке не хуже прежней.",
)
def retrain(
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    with api_client() as client:
        result = client.retrain_topic_model()
    if as_json:
        print_json(result)
        return
    rows = [result.model] + ([result.previous] if result.previous else [])
    out.print(_models_table(rows, "Новая версия и прежняя (на сегодняшней отложенной выборке)"))
    m = result.model
    if result.activated:
        out.print(f"Версия {m.version} действует: {result.reason}.", markup=False)
    else:
        out.print(f"Версия {m.version} сохранена, но не действует: {result.reason}.", markup=False)


@app.command("models", help="Версии модели тематик с оценками, новые сверху.")
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    with api_client() as client:
        rows = client.topic_models()
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("Модели тематик ещё нет: ekc-admin routing retrain")
        return
    out.print(_models_table(rows, f"Модели тематик ({len(rows)})"))


@app.command(
    "guess", help="Какую тематику и группу модель в силе даёт тексту (старшие смены и админы)."
)
def guess(
    text: Annotated[str, typer.Argument(help="Текст обращения, как его написал гражданин.")],
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    if not text.strip():
        err.print("Ошибка: пустой текст.")
        raise typer.Exit(2)
    with api_client() as client:
        g = client.guess_topic(text)
    if as_json:
        print_json(g)
        return
    name = f" ({g.topic_name})" if g.topic_name else ""
    out.print(f"Тематика: {g.topic}{name}", markup=False)
    out.print(
        f"Группа: {g.group}, уверенность {g.confidence:.2f}"
        + ("" if g.confident else f" — ниже порога, в общую группу ({g.routed_to})"),
        markup=False,
    )
    out.print("Варианты: " + "; ".join(f"{code} {p:.2f}" for code, p in g.top), markup=False)
    out.print(f"Модель: версия {g.model_version}", markup=False)
