"""Schema helpers: the error responses every operation documents."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from leadflow.api.pagination import ErrorSerializer

_ERROR_TEXT = {
    400: "The input is not valid; `fields` says where.",
    401: "No credentials, or a wrong, expired or revoked token.",
    403: "The token lacks the scope, or the role does not allow it.",
    404: "No such record, or not one you may see.",
    409: "The record moved on (claimed by someone else, already exists...).",
    413: "The body (or the uploaded file) is larger than the server takes.",
    422: "The Idempotency-Key was used with another request, or the address is suppressed.",
    429: "Over the rate limit; wait `Retry-After` seconds.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for an operation: 401, 403 and 429 always, plus ``codes``."""
    wanted = sorted({401, 403, 429, *codes})
    return {
        code: OpenApiResponse(
            response=ErrorSerializer,
            description=_ERROR_TEXT.get(code, ""),
            examples=[
                OpenApiExample(
                    f"error {code}",
                    value=_example(code),
                    response_only=True,
                    status_codes=[str(code)],
                )
            ],
        )
        for code in wanted
    }


def _example(code: int) -> dict[str, Any]:
    if code == 400:
        return {
            "code": "invalid",
            "message": "Some of the data is not valid; see the fields.",
            "fields": {"email": ["Enter a valid email address."]},
        }
    names = {
        401: "not_authenticated",
        403: "permission_denied",
        404: "not_found",
        409: "conflict",
        413: "too_large",
        422: "idempotency_key_reused",
        429: "rate_limited",
    }
    return {"code": names.get(code, "error"), "message": _ERROR_TEXT.get(code, ""), "fields": {}}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "leadflow.api.auth.BearerTokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`lf_…`) made by an admin under Admin → API tokens.",
        }


class BrowserSessionScheme(OpenApiAuthenticationExtension):
    target_class = "leadflow.api.auth.BrowserSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
