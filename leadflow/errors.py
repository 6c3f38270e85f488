"""The one family of domain errors. HTML views show the message; the API returns 4xx."""

from __future__ import annotations


class ApplicationError(Exception):
    """A business rule refused the request; ``message`` is safe to show to the user."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowedError(ApplicationError):
    status_code = 403


class ConflictError(ApplicationError):
    """The record moved on under us (claimed by someone else, already accepted...)."""

    status_code = 409


# Seconds a client is asked to wait when the database cannot be reached.
UNAVAILABLE_RETRY_AFTER = 5


def database_unavailable(exc: BaseException | None) -> bool:
    """The database could not be reached or dropped the connection: the request may work
    again in a moment, so it is a 503, not a 500 (a bug)."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)
