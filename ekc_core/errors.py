"""Typed errors of the clients; `EkcClient` maps every HTTP failure to one of these."""

from __future__ import annotations

from dataclasses import dataclass


class EkcError(Exception):
    """Base of all errors the console and the CLI show to a person."""


class ServerUnreachableError(EkcError):
    """No answer from the backend (network down, timeout, refused). Safe writes can be
    retried later with the same idempotency key."""


class ApiError(EkcError):
    """The backend answered with an error status."""

    def __init__(self, message: str, *, status_code: int, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code


class AuthenticationRequiredError(ApiError):
    """401: no token, expired or revoked; sign in again."""


class PermissionDeniedError(ApiError):
    """403: the account's role does not allow this."""


class NotFoundError(ApiError):
    """404: unknown id."""


class ConflictError(ApiError):
    """409: the state changed (stale version, already claimed, not allowed in this status)."""


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class ValidationFailedError(ApiError):
    """422: the request was refused field by field."""

    def __init__(
        self, message: str, *, status_code: int, code: str | None, problems: list[FieldProblem]
    ) -> None:
        super().__init__(message, status_code=status_code, code=code)
        self.problems = problems


class ServerError(ApiError):
    """5xx: the backend failed; try again later."""
