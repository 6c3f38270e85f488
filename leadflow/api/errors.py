"""One error shape for every 4xx and 5xx of the API:

``{"code": "conflict", "message": "Someone else took this lead first.", "fields": {}}``

``fields`` maps an input field (dotted for nested input: ``items.3.email``) to its
messages; it is empty when the error is not about one field.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from leadflow.errors import (
    UNAVAILABLE_RETRY_AFTER,
    ApplicationError,
    ConflictError,
    NotAllowedError,
    database_unavailable,
)

logger = logging.getLogger(__name__)


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {"code": code, "message": message, "fields": fields or {}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"a.b": ["message", ...]}``."""
    if isinstance(detail, dict):
        found: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            found.update(_flatten(value, name))
        return found
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        found = {}
        for index, value in enumerate(detail):
            found.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return found
    return {prefix or "non_field_errors": [str(detail)]}


def _application_error(exc: ApplicationError) -> exceptions.APIException:
    code = "conflict" if isinstance(exc, ConflictError) else "invalid"
    if isinstance(exc, NotAllowedError):
        code = "permission_denied"
    error = exceptions.APIException(exc.message, code=code)
    error.status_code = exc.status_code
    error.default_code = code
    if exc.field:
        error.detail = {exc.field: [exceptions.ErrorDetail(exc.message, code=code)]}
    return error


def _too_large() -> exceptions.APIException:
    error = exceptions.APIException(
        _("The request body is larger than the server takes; send less at once."),
        code="too_large",
    )
    error.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    error.default_code = "too_large"
    return error


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler, then the one shape; anything unexpected is a logged 500."""
    message = ""
    if isinstance(exc, RequestDataTooBig):
        exc = _too_large()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ParseError(_("The request has too many fields or files."))
    if isinstance(exc, ApplicationError):
        message = exc.message
        exc = _application_error(exc)
    response = exception_handler(exc, context)
    if response is None and database_unavailable(exc):
        logger.warning("API request failed: the database is unavailable: %r", exc)
        set_rollback()
        return Response(
            error_body("unavailable", _("The service is briefly unavailable; try again.")),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
        )
    if response is None:
        logger.exception("API request failed", exc_info=exc)
        set_rollback()
        return Response(
            error_body("server_error", _("Something went wrong on our side; try again later.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    detail: Any
    if isinstance(exc, exceptions.APIException):
        code = _code(exc)
        detail = exc.detail
    elif isinstance(exc, Http404):
        code, detail = "not_found", _("Not found.")
    else:
        code, detail = "permission_denied", _("You do not have permission to do this.")
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict | list):
        fields = _flatten(detail)
        general = fields.get("non_field_errors", [])
        if general and len(fields) == 1:
            message, fields = message or general[0], {}
        message = message or _("Some of the data is not valid; see the fields.")
    else:
        message = message or str(detail)
    response.data = error_body(code, message, fields)
    return response


def _code(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    if isinstance(exc, exceptions.Throttled):
        return "rate_limited"
    if isinstance(exc, exceptions.NotFound):
        return "not_found"
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return str(exc.default_code)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def api_page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 for a URL no view answers: the API's shape under /api/."""
    if _is_api(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def api_server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler, called while the exception is being handled: a database that
    cannot be reached is a 503 with Retry-After (the request may work in a moment)."""
    if database_unavailable(sys.exc_info()[1]):
        return _unavailable(request)
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", _("Something went wrong on our side; try again later.")),
            status=500,
        )
    from django.views.defaults import server_error

    return server_error(request)


def _unavailable(request: HttpRequest) -> HttpResponse:
    message = _("The service is briefly unavailable; try again.")
    response: HttpResponse
    if _is_api(request):
        response = JsonResponse(error_body("unavailable", message), status=503)
    else:
        # Plain text: the page templates need the database (the user, the navigation).
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response
