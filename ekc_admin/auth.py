"""`ekc-admin login | logout | whoami`."""

from __future__ import annotations

from typing import Annotated

import typer

from ekc_admin.context import api_client, err, out, print_json, reporting, settings
from ekc_core.client import EkcClient
from ekc_core.credentials import Credentials, delete_credentials, load_credentials, save_credentials
from ekc_core.errors import EkcError


def login(
    server: Annotated[
        str | None,
        typer.Option("--server", "-s", help="Адрес сервера (по умолчанию EKC_SERVER_URL)."),
    ] = None,
    username: Annotated[str | None, typer.Option("--username", "-u", help="Логин.")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            "-p",
            help="Пароль (лучше не указывать: будет запрошен скрытно).",
            envvar="EKC_PASSWORD",
        ),
    ] = None,
) -> None:
    """Sign in and keep the token in the user's config folder (mode 0600)."""
    cfg = settings()
    url = (server or cfg.server_url).rstrip("/")
    username = username or typer.prompt("Логин")
    password = password or typer.prompt("Пароль", hide_input=True)
    with reporting(signing_in=True), EkcClient(url, settings=cfg) as client:
        token = client.login(username, password)
        me = client.me()
    path = save_credentials(
        cfg.config_dir,
        Credentials(
            server_url=url,
            username=me.username,
            token=token.access_token,
            expires_at=token.expires_at,
        ),
    )
    out.print(f"Вход выполнен: {me.full_name} ({me.username}, роль {me.role.value}) на {url}")
    out.print(f"Токен сохранён в {path}", style="dim")


def logout() -> None:
    """Revoke the token on the server and forget it here."""
    cfg = settings()
    creds = load_credentials(cfg.config_dir)
    if creds is None:
        out.print("Вы не входили в систему.")
        return
    try:
        with EkcClient(creds.server_url, token=creds.token, settings=cfg) as client:
            client.logout()
        revoked = "токен отозван на сервере"
    except EkcError as exc:
        err.print(f"[yellow]Внимание:[/] сервер не отозвал токен ({exc}); он истечёт сам.")
        revoked = "токен удалён на этом компьютере"
    delete_credentials(cfg.config_dir)
    out.print(f"Выход выполнен: {revoked}.")


def whoami(
    as_json: Annotated[bool, typer.Option("--json", help="Вывести JSON.")] = False,
) -> None:
    """Who is signed in, on which server, until when."""
    cfg = settings()
    with api_client(cfg) as client:
        me = client.me()
        creds = load_credentials(cfg.config_dir)
    if as_json:
        data = me.model_dump(mode="json")
        data["server_url"] = creds.server_url if creds else None
        data["token_expires_at"] = (
            creds.expires_at.isoformat() if creds and creds.expires_at else None
        )
        print_json(data)
        return
    out.print(f"{me.full_name} ({me.username})")
    out.print(
        f"Роль: {me.role.value}; офис: {me.office_code or '—'}; "
        f"группы: {', '.join(me.skills) or '—'}"
    )
    if creds:
        until = (
            creds.expires_at.astimezone().strftime("%d.%m.%Y %H:%M")
            if creds.expires_at
            else "бессрочно"
        )
        out.print(f"Сервер: {creds.server_url}; токен действует до {until}")
