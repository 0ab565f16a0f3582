"""Typed domain errors of the backend, mapped to HTTP in one place (`app.py`)."""

from __future__ import annotations


class DomainError(Exception):
    """Base: a request the backend refuses, with a message for the user (Russian UI)."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, location: str = "body") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.location = location
        """Where `field` was sent: `body`, `query`, `header` or `path` (the 422 `loc`)."""


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"


class ConflictError(DomainError):
    status_code = 409
    code = "conflict"


class StaleVersionError(ConflictError):
    code = "stale_version"


class ForbiddenError(DomainError):
    status_code = 403
    code = "forbidden"


class UnauthorizedError(DomainError):
    status_code = 401
    code = "unauthorized"


class InvalidFieldError(DomainError):
    """A value that passed the schema but breaks a domain rule (unknown topic code, …)."""

    status_code = 422
    code = "invalid_field"


class FieldErrorsError(DomainError):
    """Several fields refused at once (a batch import): 422 with one detail per problem."""

    status_code = 422
    code = "invalid_field"

    def __init__(self, problems: list[tuple[list[str | int], str]]) -> None:
        super().__init__("; ".join(msg for _loc, msg in problems))
        self.problems = problems


class ContactAbandonedError(ConflictError):
    """The caller hung up before anyone answered."""

    code = "contact_abandoned"


class ContactTakenError(ConflictError):
    """Another operator answered first."""

    code = "contact_taken"
