"""`ekc`: start the operator console (argparse: starts faster than a Typer app)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ekc_core import __version__

if TYPE_CHECKING:
    from ekc_tui.settings import ConsoleSettings

DESCRIPTION = (
    "Консоль оператора ЕКЦ 122: карточка контакта, история гражданина, база знаний, "
    "итог разговора, обращения и перезвоны. Работает и без связи с сервером: "
    "записи копятся в локальной очереди и уходят, когда связь появится."
)

EPILOG = (
    "Переменные окружения: EKC_SERVER_URL (адрес сервера), EKC_PASSWORD (пароль для --user), "
    "EKC_CONSOLE_DIR (локальная память консоли), EKC_CONFIG_DIR (файл входа). "
    "Клавиши: F1 в консоли; F12 — на линии / не на линии; F10 — табло смены (старшим смены)."
)


class _Formatter(argparse.HelpFormatter):
    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, prefix or "Запуск: ")


class _Parser(argparse.ArgumentParser):
    MESSAGES = (
        ("unrecognized arguments", "неизвестные параметры"),
        ("expected one argument", "нужно значение"),
        ("argument ", "параметр "),
    )

    def error(self, message: str) -> NoReturn:
        for english, russian in self.MESSAGES:
            message = message.replace(english, russian)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: ошибка: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ekc",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_Formatter,
        add_help=False,
    )
    parser._optionals.title = "параметры"
    parser.add_argument("-h", "--help", action="help", help="показать эту справку и выйти")
    parser.add_argument(
        "--server", "-s", metavar="URL", help="адрес сервера, например http://127.0.0.1:8122"
    )
    parser.add_argument(
        "--user",
        "-u",
        metavar="ЛОГИН",
        help="войти под этим логином (пароль из EKC_PASSWORD или спросит консоль)",
    )
    parser.add_argument(
        "--console-dir", type=Path, metavar="ПАПКА", help="папка локальной памяти консоли"
    )
    parser.add_argument(
        "--wallboard",
        action="store_true",
        help="табло смены (старшим смены и администраторам): очередь, SL, операторы",
    )
    parser.add_argument(
        "--send-outbox",
        action="store_true",
        help="только отправить неотправленные записи и выйти (код 0 — всё отправлено)",
    )
    parser.add_argument(
        "--version", action="version", version=f"ekc {__version__}", help="показать версию и выйти"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    overrides: dict[str, object] = {}
    if args.server:
        overrides["server_url"] = args.server
    if args.console_dir:
        overrides["console_dir"] = args.console_dir

    def settings() -> ConsoleSettings:
        from ekc_tui.settings import ConsoleSettings

        return ConsoleSettings(**overrides)  # type: ignore[arg-type]

    if args.send_outbox:
        sys.exit(send_outbox(settings()))
    login = None
    password = os.environ.get("EKC_PASSWORD")
    if args.user and password:
        login = (args.user, password)
    from ekc_tui.app import EkcConsole

    # the settings (pydantic) and the log are made by the first worker, after the first frame
    app = EkcConsole(settings, login=login, log_file=True, wallboard=args.wallboard)
    try:
        app.run()
    finally:
        app.close()
    if argv is None:  # the `ekc` command (not a caller in-process): leave at once
        leave(app.return_code or 0)


def leave(code: int) -> NoReturn:
    """End the process without the interpreter's teardown: everything is closed and
    stored by now (the store, the log), and freeing the console's objects and modules one
    by one took half a second of CPU, a second and more on a loaded thin client."""
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def send_outbox(settings: object) -> int:
    """Send pending items with the saved login; print what is left (0: nothing left)."""
    from ekc_tui.desk import Desk
    from ekc_tui.settings import ConsoleSettings

    assert isinstance(settings, ConsoleSettings)
    desk = Desk(settings)
    try:
        creds = desk.saved_login()
        if creds is None:
            print("Нет сохранённого входа: запустите ekc и войдите", file=sys.stderr)
            return 3
        desk.resume(creds)
        result = desk.flush()
        left = desk.unsent()
        print(f"Отправлено: {result.sent}, отклонено: {result.failed}, осталось: {left}")
        for error in result.errors:
            print(f"  отклонено: {error}", file=sys.stderr)
        if result.auth_needed:
            print("Срок входа истёк: запустите ekc и войдите", file=sys.stderr)
            return 3
        return 0 if left == 0 and not result.failed else (5 if result.offline else 1)
    finally:
        desk.close()
