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
