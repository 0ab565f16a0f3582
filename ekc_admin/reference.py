"""`ekc-admin topics | agencies | offices list`: read-only reference data."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from ekc_admin.context import api_client, out, print_json
from ekc_core.schemas import TopicPublic


class AgencyLevel(StrEnum):
    regional = "regional"
    federal = "federal"
    municipal = "municipal"
    utility = "utility"
    other = "other"


JsonOption = Annotated[bool, typer.Option("--json", help="Вывести JSON.")]

topics_app = typer.Typer(help="Тематики обращений.", no_args_is_help=True)
agencies_app = typer.Typer(help="Ведомства.", no_args_is_help=True)
offices_app = typer.Typer(help="Офисы: ЕКЦ и МФЦ.", no_args_is_help=True)


@topics_app.command("list", help="Дерево тематик: коды, группы операторов, ведомства.")
def list_topics(
    as_json: JsonOption = False,
    include_inactive: Annotated[bool, typer.Option("--all", help="Включая неактивные.")] = False,
) -> None:
    """The topic tree with codes, operator groups and default agencies."""
    with api_client() as client:
        topics = client.topics()
    if not include_inactive:
        topics = [t for t in topics if t.active]
    if as_json:
        print_json(topics)
        return
    children: dict[str | None, list[TopicPublic]] = {}
    for topic in sorted(topics, key=lambda t: (t.sort_order, t.id)):
        children.setdefault(topic.parent_code, []).append(topic)
    root = Tree(f"Тематики ({len(topics)})")

    def add(node: Tree, parent: str | None) -> None:
        for topic in children.get(parent, []):
            extra = f" [dim]{topic.code} · {topic.group}"
            if topic.default_agency_code:
                extra += f" · {topic.default_agency_code}"
            if topic.pos_answer_days:
                extra += f" · ПОС {topic.pos_answer_days} дн."
            add(node.add(f"{topic.name}{extra}[/]"), topic.code)

    add(root, None)
    out.print(root)


@agencies_app.command("list", help="Ведомства, куда направляются обращения.")
def list_agencies(
    as_json: JsonOption = False,
    level: Annotated[AgencyLevel | None, typer.Option(help="Уровень ведомства.")] = None,
) -> None:
    """Agencies appeals are forwarded to."""
    with api_client() as client:
        agencies = client.agencies()
    if level:
        agencies = [a for a in agencies if a.level == level.value]
    if as_json:
        print_json(agencies)
        return
    table = Table("Код", "Кратко", "Уровень", "Телефон", title=f"Ведомства ({len(agencies)})")
    for a in agencies:
        table.add_row(a.code, a.short_name, a.level, a.phone or "")
    out.print(table)


@offices_app.command("list", help="ЕКЦ и офисы МФЦ; удалённые работают по плохим каналам.")
def list_offices(
    as_json: JsonOption = False,
    remote: Annotated[bool, typer.Option("--remote", help="Только удалённые офисы.")] = False,
) -> None:
    """The contact centre and MFC offices; remote ones work over poor links."""
    with api_client() as client:
        offices = client.offices()
    if remote:
        offices = [o for o in offices if o.remote]
    if as_json:
        print_json(offices)
        return
    table = Table(
        "Код", "Название", "Населённый пункт", "Удалённый", title=f"Офисы ({len(offices)})"
    )
    for o in offices:
        table.add_row(o.code, o.name, o.settlement, "да" if o.remote else "")
    out.print(table)
