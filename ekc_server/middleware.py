"""Load shedding and request size limits, as one pure ASGI middleware.

- A request that waited `db_pool_timeout` seconds for database capacity (every
  connection of this process's pool busy, see `db.Admission`) is answered `503` with
  `Retry-After` and a Russian message, instead of a 30-second stall that ends in a 500;
  so is one whose database connection broke under it (the next request gets a new one).
  Any other 503 gets a `Retry-After` too, so clients always know when to come back.
- A request body larger than the limit of its route is answered `413` before the body is
  read (from `Content-Length`) or as soon as the streamed body passes the limit.
  `POST /api/v1/kb/imports` (a whole knowledge base in one transaction) has its own, larger
  limit.

Pure ASGI (not Starlette's `BaseHTTPMiddleware`, which costs a task and a memory stream per
request).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUSY_CODE = "server_busy"
TOO_LARGE_CODE = "body_too_large"


def _mib(size: int) -> str:
    return f"{size / 1_048_576:.0f} МиБ" if size >= 1_048_576 else f"{size} байт"


class BodyTooLargeError(HTTPException):
    """Raised from `receive` when a streamed body passes its limit (the 413 is already sent)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_message(limit))


def too_large_message(limit: int) -> str:
    return f"Тело запроса больше допустимого ({_mib(limit)}); разделите данные на части"


def busy_message(retry_after: int) -> str:
    return (
        "Сервер перегружен: все соединения с базой данных заняты; "
        f"повторите запрос через {retry_after} с"
    )


def lost_message(retry_after: int) -> str:
    return f"Соединение с базой данных прервано; повторите запрос через {retry_after} с"


def _unavailable(exc: BaseException) -> str | None:
    """Why the database could not serve the request, if that is what `exc` says: `busy`
    (no connection came free in time) or `lost` (the connection broke and was dropped;
    the next one is new). Exception groups count when every member says so."""
    if isinstance(exc, BaseExceptionGroup):
        kinds = {_unavailable(e) for e in exc.exceptions}
        return kinds.pop() if len(kinds) == 1 else None
    if isinstance(exc, PoolTimeoutError):
        return "busy"
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return "lost"
    return None


class LoadLimitsMiddleware:
    """503 + `Retry-After` when the database pool is exhausted; 413 past the body limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        route_body_bytes: Mapping[tuple[str, str], int] | None = None,
        retry_after: int = 2,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.route_body_bytes = dict(route_body_bytes or {})
        """(method, path) → the body limit of that route instead of `max_body_bytes`."""
        self.retry_after = retry_after

    def body_limit(self, scope: Scope) -> int:
        return self.route_body_bytes.get(
            (scope.get("method", ""), scope.get("path", "")), self.max_body_bytes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.body_limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._respond(send, 413, too_large_message(limit), TOO_LARGE_CODE)
            return

        started = False  # a response has begun (the app's or ours)
        replaced = False  # we answered 413 from `receive`: drop what the app sends after
        received = 0

        async def limited_receive() -> Message:
            nonlocal received, replaced, started
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started:
                        started = replaced = True
                        await self._respond(send, 413, too_large_message(limit), TOO_LARGE_CODE)
                    raise BodyTooLargeError(limit)
            return message

        async def checked_send(message: Message) -> None:
            nonlocal started
            if replaced:
                return
            if message["type"] == "http.response.start":
                started = True
                if message["status"] == 503 and not any(
                    k.lower() == b"retry-after" for k, _ in message.get("headers", ())
                ):
                    message = {
                        **message,
                        "headers": [
                            *message.get("headers", ()),
                            (b"retry-after", str(self.retry_after).encode()),
                        ],
                    }
            await send(message)

        try:
            await self.app(scope, limited_receive, checked_send)
        except BodyTooLargeError:
            if not replaced and not started:
                await self._respond(send, 413, too_large_message(limit), TOO_LARGE_CODE)
            elif not replaced:
                raise
        except BaseException as exc:
            kind = None if started else _unavailable(exc)
            if kind is None:
                raise
            message = busy_message if kind == "busy" else lost_message
            await self._respond(send, 503, message(self.retry_after), BUSY_CODE)

    async def _respond(self, send: Send, status: int, message: str, code: str) -> None:
        body = json.dumps({"detail": message, "code": code}, ensure_ascii=False).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if status == 503:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        else:  # the rest of the body is not read: the connection cannot be reused
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
