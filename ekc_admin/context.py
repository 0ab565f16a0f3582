"""What every command needs: settings, the saved login, a client, and error reporting."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console

from ekc_core.client import EkcClient
from ekc_core.credentials import Credentials, load_credentials
from ekc_core.errors import (
    ApiError,
    AuthenticationRequiredError,
    EkcError,
    PermissionDeniedError,
    ServerUnreachableError,
    ValidationFailedError,
)
from ekc_core.settings import ClientSettings

#: exit codes, documented in `ekc-admin --help`
EXIT_ERROR = 1
EXIT_AUTH = 3
EXIT_FORBIDDEN = 4
EXIT_UNREACHABLE = 5

# piped or redirected output is not cut to 80 columns (scripts read it)
out = Console(highlight=False, emoji=False, width=None if sys.stdout.isatty() else 250)
err = Console(stderr=True, highlight=False, emoji=False, width=None if sys.stderr.isatty() else 250)


def settings() -> ClientSettings:
    return ClientSettings()


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    err.print(f"[bold red]Ошибка:[/] {message}")
    raise typer.Exit(code)


def read_utf8(path: Path) -> str:
    """A text file the command was given, or the Russian reason it cannot be read (exit 1)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{path}: файл не найден")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: не прочитать файл (нужен UTF-8): {exc}")


def require_login(cfg: ClientSettings) -> Credentials:
    creds = load_credentials(cfg.config_dir)
    if creds is None:
        fail("вы не вошли в систему; выполните: ekc-admin login", EXIT_AUTH)
    wanted = os.environ.get("EKC_SERVER_URL", "").rstrip("/")
    if wanted and wanted != creds.server_url.rstrip("/"):
        fail(
            f"вход выполнен на {creds.server_url}, а EKC_SERVER_URL указывает на {wanted}; "
            f"выполните: ekc-admin login",
            EXIT_AUTH,
        )
    return creds


@contextmanager
def api_client(cfg: ClientSettings | None = None) -> Iterator[EkcClient]:
    """A client signed in with the saved token; API errors become messages and exit codes."""
    cfg = cfg or settings()
    creds = require_login(cfg)
    with reporting(), EkcClient(creds.server_url, token=creds.token, settings=cfg) as client:
        yield client


@contextmanager
def reporting(*, signing_in: bool = False) -> Iterator[None]:
    """The one place that turns client errors into a message on stderr and an exit code."""
    try:
        yield
    except AuthenticationRequiredError as exc:
        hint = "" if signing_in else ". Выполните: ekc-admin login"
        fail(f"{exc.message}{hint}", EXIT_AUTH)
    except PermissionDeniedError as exc:
        fail(exc.message, EXIT_FORBIDDEN)
    except ValidationFailedError as exc:
        lines = [f"  {p.field}: {p.message}" if p.field else f"  {p.message}" for p in exc.problems]
        fail("сервер отклонил данные:\n" + "\n".join(lines))
    except ServerUnreachableError as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    except ApiError as exc:
        fail(f"{exc.message} (HTTP {exc.status_code})")
    except EkcError as exc:
        fail(str(exc))


def date_or_none(text: str) -> date | None:
    """A date as people write it: `2026-12-01` or `01.12.2026`; None when it is neither."""
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def natural_key(username: str) -> tuple[str, int]:
    """Sort logins as people read them: operator2 before operator10."""
    match = re.fullmatch(r"(.*?)(\d+)", username)
    return (match.group(1), int(match.group(2))) if match else (username, -1)


def plural(n: int, one: str, few: str, many: str) -> str:
    """`1 нарушение`, `2 нарушения`, `5 нарушений`."""
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} {one}"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{n} {few}"
    return f"{n} {many}"


def print_json(data: Sequence[BaseModel] | BaseModel | dict[str, Any]) -> None:
    if isinstance(data, Sequence):
        payload: Any = [item.model_dump(mode="json") for item in data]
    elif isinstance(data, BaseModel):
        payload = data.model_dump(mode="json")
    else:
        payload = data
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
