"""`ekc-admin tokens create | list | revoke`: personal API tokens for integrations.

Only admins issue tokens: for a gateway service account (`--user telephony`) or for
themselves; every token expires (by default 365 days for a gateway, 30 for one's own)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ekc_admin.context import api_client, out, print_json
from ekc_core.schemas import ApiTokenCreate

app = typer.Typer(
    help="Токены API для интеграций (телефония, шлюзы каналов); выдаёт администратор.",
    no_args_is_help=True,
)


@app.command(
    "create",
    help="Выпустить токен (только администратор; показывается один раз): служебной учётной "
    "записи шлюза (--user) или себе.",
)
def create(
    name: Annotated[str, typer.Option("--name", "-n", help="Для чего токен, например «АТС».")],
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            "-u",
            help="Учётная запись шлюза (роль gateway), например telephony; без — своя.",
        ),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            help="Срок действия в днях (по умолчанию 365 для шлюза, 30 для своего).",
            min=1,
            max=3650,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    """Issue a personal API token; the server keeps only its hash."""
    with api_client() as client:
        token = client.create_token(ApiTokenCreate(name=name, username=user, expires_in_days=days))
    if as_json:
        print_json(token)
        return
    whose = f"учётной записи {user}" if user else "вашей учётной записи"
    until = f"{token.expires_at:%d.%m.%Y}" if token.expires_at else "бессрочно"
    out.print(f"Токен «{token.name}» (id {token.id}) для {whose}, действует до {until}:")
    out.print(token.token, style="bold")
    out.print("Сохраните его сейчас: повторно он не показывается.", style="dim")


@app.command("list", help="Токены: свои, у администратора — все.")
def list_tokens(
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    with api_client() as client:
        rows = client.tokens()
    if as_json:
        print_json(rows)
        return
    table = Table(
        "id",
        "Название",
        "Сотрудник",
        "Создан",
        "Истекает",
        "Отозван",
        title=f"Токены API ({len(rows)})",
    )
    for t in rows:
        table.add_row(
            str(t.id),
            t.name,
            str(t.staff_id),
            f"{t.created_at:%d.%m.%Y}",
            f"{t.expires_at:%d.%m.%Y}" if t.expires_at else "—",
            f"{t.revoked_at:%d.%m.%Y}" if t.revoked_at else "",
        )
    out.print(table)


@app.command("revoke", help="Отозвать токен по id.")
def revoke(token_id: Annotated[int, typer.Argument(help="id токена из tokens list.")]) -> None:
    with api_client() as client:
        client.revoke_token(token_id)
    out.print(f"Токен {token_id} отозван.")
