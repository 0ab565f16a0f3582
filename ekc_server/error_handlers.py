"""Every error answer of the backend in one place: JSON, in Russian, documented in the OpenAPI.

- domain errors (`ekc_server.errors`) → their status with `detail`, `code` and `field`;
- request validation → 422 with one Russian `msg` per field (`loc` names it);
- errors the framework raises itself (unknown route 404, wrong method 405, an unreadable
  body 400) → the same JSON shape with a Russian text instead of the English one;
- anything unexpected → 500 with a Russian text, logged with its traceback, answered as a
  normal response so that the client's keep-alive connection survives it (the framework's
  last-resort handler re-raises, and the server then drops the connection).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ekc_core.schemas import ErrorResponse
from ekc_core.validation import russian_http_message, russian_message
from ekc_server.errors import DomainError, FieldErrorsError

log = logging.getLogger("ekc_server")

INTERNAL_ERROR = (
    "внутренняя ошибка сервера; повторите позже, а если не пройдёт — сообщите администратору"
)

_DESCRIPTIONS: dict[int, str] = {
    400: "The request body could not be read (not JSON, not UTF-8)",
    401: "No token, or an expired or revoked one: sign in again",
    403: "The account's role does not allow this",
    404: "Unknown id or name",
    409: "The state changed: stale version, already taken, not allowed in this status",
    413: "The request body is larger than the server accepts",
    422: "Refused field by field: `detail[].loc` names the field, `detail[].msg` says why",
    503: "The server is overloaded: retry after `Retry-After` seconds",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses an operation answers (for `responses=`)."""
    documented: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorResponse, "description": _DESCRIPTIONS[code]}
        if code == 503:
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "integer"},
                }
            }
        documented[code] = entry
    return documented


#: what every operation behind sign-in may answer: no or a dead token, a role that does not
#: allow it, bad input, an oversized body, an overloaded server
SIGNED_IN_ERRORS = error_responses(401, 403, 422, 413, 503)
#: for an operation that may meet a state that does not allow it (or a reused idempotency key)
CONFLICT = error_responses(409)


async def domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if isinstance(exc, FieldErrorsError):
        detail: Any = [
            {"loc": ["body", *loc], "msg": msg, "type": exc.code} for loc, msg in exc.problems
        ]
    elif exc.status_code == 422:
        loc = [exc.location, exc.field] if exc.field else [exc.location]
        detail = [{"loc": loc, "msg": exc.message, "type": exc.code}]
    else:
        detail = exc.message
    body = {"detail": detail, "code": exc.code}
    if exc.field:
        body["field"] = exc.field
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(err.get("loc", ())),
            "msg": russian_message(dict(err)),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    return JSONResponse(
        jsonable_encoder({"detail": errors, "code": "validation_error"}), status_code=422
    )


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    """A framework error (404 unknown route, 405, 400 unreadable body): its English text
    replaced by a Russian one; its headers (`Allow` on a 405) kept."""
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"detail": russian_http_message(exc.status_code), "code": f"http_{exc.status_code}"},
        status_code=exc.status_code,
        headers=exc.headers,
    )


class UnexpectedErrorMiddleware:
    """Turns an unexpected exception into a logged JSON 500 that the server sends as a normal
    response (the connection stays open). Once the answer has started it cannot be replaced:
    the exception then goes on to the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = JSONResponse(
                {"detail": INTERNAL_ERROR, "code": "internal_error"}, status_code=500
            )
            await response(scope, receive, send)


_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}


def document_implied_errors(app: FastAPI) -> None:
    """Add to the OpenAPI what follows from an operation's shape: an unknown id or name in its
    path answers 404, an unreadable body 400 (the statuses an operation answers by its logic,
    such as 409, are declared on its route)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                implied = [404] if "{" in path else []
                if "requestBody" in operation:
                    implied.append(400)
                for code in implied:
                    operation["responses"].setdefault(
                        str(code),
                        {
                            "description": _DESCRIPTIONS[code],
                            "content": {"application/json": {"schema": _ERROR_SCHEMA}},
                        },
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app` and document the errors every route may answer
    (call once, after the routers are included)."""
    document_implied_errors(app)
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(UnexpectedErrorMiddleware)
