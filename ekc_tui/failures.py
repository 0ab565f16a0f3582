"""The console never dies of an error (issue 10, point 6).

Every worker runs with `exit_on_error=False`; when one raises, Textual posts
`Worker.StateChanged(ERROR)` and `handle` turns the error into what the operator can act on:

- 401 (`AuthenticationRequiredError`): the sign-in screen; the open card is kept (and stored
  as the draft), so nothing typed is lost and the work goes on after signing in;
- no answer (`ServerUnreachableError`, `ServerError`, `OfflineError`): the status bar's
  "нет связи";
- anything else: a Russian message on screen and the traceback in the console's log.

A background loop (the queue's long poll, the outbox sender, the heartbeat, the knowledge
base sync and search) that died is started again after a pause that doubles up to a minute.
"""

from __future__ import annotations

import logging
import logging.handlers
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from ekc_tui.messages import NeedLogin

if TYPE_CHECKING:
    from ekc_tui.app import EkcConsole

log = logging.getLogger("ekc_tui")

LOG_FILE = "console.log"

#: what each worker does, for the operator's message
WORKERS = {
    "_start": "вход",
    "_sign_in": "вход",
    "_offers_loop": "очередь контактов",
    "_outbox_loop": "отправка записей",
    "_heartbeat_loop": "проверка связи",
    "_kb_loop": "обновление базы знаний",
    "_kb_open": "база знаний",
    "_kb_pump": "поиск в базе знаний",
    "_kb_suggest": "подсказки базы знаний",
    "_take": "принятие контакта",
    "_identify": "поиск гражданина",
    "_open_citizen": "карточка гражданина",
    "_show_appeal": "обращение",
    "_flush_now": "отправка записей",
    "_open_callback": "перезвон",
    "_load_callbacks": "список перезвонов",
    "_load_reference": "справочники",
    "_check_held": "проверка незакрытых контактов",
    "_poll": "табло смены",
    "_open_held": "открытие контакта",
}

#: loops that run for the whole session: restarted when they die
LOOPS = ("_offers_loop", "_outbox_loop", "_heartbeat_loop", "_kb_loop", "_kb_pump", "_poll")
LOOP_RESTART_MAX = 60.0
#: failures kept in `EkcConsole.worker_failures` (the newest)
KEEP = 50


@dataclass
class Failure:
    worker: str
    kind: str
    """"auth", "offline" or "error"."""
    error: BaseException


def kind_of(error: BaseException) -> str:
    from ekc_core.errors import AuthenticationRequiredError, ServerError, ServerUnreachableError
    from ekc_tui.desk import OfflineError

    if isinstance(error, AuthenticationRequiredError):
        return "auth"
    if isinstance(error, (ServerUnreachableError, ServerError, OfflineError)):
        return "offline"
    return "error"


def describe(error: BaseException) -> str:
    """The error in a line (the server's Russian message for API errors)."""
    from ekc_core.errors import ApiError

    if isinstance(error, ApiError):
        return error.message
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def handle(app: EkcConsole, event: Worker.StateChanged) -> None:
    """Turn a failed worker into a sign-in, the offline state or a visible message."""
    if event.state != WorkerState.ERROR:
        return
    worker = event.worker
    error = worker.error
    if error is None:
        return
    name = worker.name
    kind = kind_of(error)
    app.worker_failures.append(Failure(name, kind, error))
    what = WORKERS.get(name, name)
    if kind == "auth":
        app.keep_draft()
        app.post_message(NeedLogin("Срок входа истёк: войдите снова"))
    elif kind == "offline":
        log.info("worker %s: no answer from the server: %s", name, error)
        app.desk.online = False
        app.refresh_status()
        if worker.group == "login":
            app.post_message(NeedLogin(f"Нет связи: {describe(error)}"))
    else:
        log.error("worker %s failed", name, exc_info=error)
        app.notify(
            f"Сбой консоли ({what}): {describe(error)}. Работа продолжается; "
            f"подробности — в журнале {LOG_FILE}.",
            title="Ошибка",
            severity="error",
            timeout=12,
        )
        if worker.group == "login":
            app.post_message(NeedLogin(f"Не удалось войти: {describe(error)}"))
    if name in LOOPS and kind != "auth":
        restart_later(app, worker.node, name)


def restart_later(app: EkcConsole, node: DOMNode, name: str) -> None:
    """Start a dead loop again after a pause (doubling with each death, up to a minute)."""
    start = getattr(node, name)
    deaths = app.loop_deaths[name] = app.loop_deaths.get(name, 0) + 1
    delay = min(LOOP_RESTART_MAX, app.loop_restart_seconds * 2 ** (deaths - 1))

    def restart() -> None:
        if app.stopping or app.desk.client is None or not node.is_attached:
            return
        if any(w.name == name and not w.is_finished for w in app.workers):
            return
        start()

    app.set_timer(delay, restart)


def setup_logging(console_dir: Path) -> Path:
    """The console's log: `<console dir>/console.log` (0600: a traceback may hold personal
    data), rotated at 1 MB, three files kept. Textual owns the terminal, so nothing is
    printed."""
    console_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = console_dir / LOG_FILE
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ekc_tui")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path
