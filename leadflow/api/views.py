"""The base of every API view, and the schema and docs views."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from leadflow.api import idempotency
from leadflow.api import schema as _schema  # noqa: F401  (registers the auth schemes)
from leadflow.api.auth import (
    BearerTokenAuthentication,
    BrowserSessionAuthentication,
    ScopePermission,
)
from leadflow.api.pagination import IdCursorPagination
from leadflow.api.throttling import RateState, rate_hit
from leadflow.models import User


class Api(APIView):
    """One operation of the API. Subclasses set ``scopes`` (the scope each method needs)
    and implement the method; this class authenticates, checks the scope, counts the rate
    limit (adding the X-RateLimit headers), and makes every POST idempotent by key."""

    scopes: ClassVar[dict[str, str]] = {}
    authentication_classes = [BearerTokenAuthentication, BrowserSessionAuthentication]
    permission_classes = [ScopePermission]
    rate_state: RateState | None = None

    def user(self) -> User:
        user = self.request.user
        assert isinstance(user, User)
        return user

    def page(self, request: Request, rows: QuerySet[Any], serializer: type[Serializer]) -> Response:
        """One page of ``rows`` (keyset on the id, ``cursor`` and ``limit``), serialized."""
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(serializer(page, many=True).data)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.rate_state = None
        super().initial(request, *args, **kwargs)
        self.rate_state = rate_hit(request)
        if self.rate_state is not None:
            self.rate_state.enforce()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        """DRF's dispatch, with the handler run under the request's Idempotency-Key."""
        self.args = args
        self.kwargs = kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            self.initial(drf_request, *args, **kwargs)
            method = (drf_request.method or "").lower()
            handler = (
                getattr(self, method, self.http_method_not_allowed)
                if method in self.http_method_names
                else self.http_method_not_allowed
            )
            key = drf_request.headers.get(idempotency.HEADER)
            if drf_request.method == "POST" and key is not None:
                response = self._run_once(key, handler, drf_request, *args, **kwargs)
            else:
                response = handler(drf_request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(drf_request, response, *args, **kwargs)
        return self.response

    def _run_once(self, key: str, handler: Any, request: Request, *args: Any, **kw: Any) -> Any:
        with transaction.atomic():
            claim = idempotency.key_claim(request=request, key=key)
            if claim.response is not None:
                return claim.response
            assert claim.record_id is not None
            try:
                response = handler(request, *args, **kw)
            except Exception as exc:
                response = self.handle_exception(exc)
            if response.status_code >= 500 or response.status_code == 429:
                # Not remembered: the caller may retry with the same key.
                transaction.set_rollback(True)
                return response
            idempotency.key_store(record_id=claim.record_id, response=response)
            return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.rate_state is not None:
            for name, value in self.rate_state.headers().items():
                response[name] = value
        return response


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document; public, like the docs, so tools can read it."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI; its start-up script is a file of its own (``?script``), not inline, so
    the site's Content-Security-Policy needs no ``unsafe-inline`` for scripts."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []


class RedocView(SpectacularRedocView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []


def docs_policy() -> dict[str, list[str]]:
    """The site's policy, with what the docs' bundles need: the styles they inject and
    Redoc's web worker. Scripts still come only from this server."""
    policy = dict(getattr(settings, "SECURE_CSP", {}) or {})
    policy["style-src"] = [CSP.SELF, CSP.UNSAFE_INLINE]
    policy["worker-src"] = [CSP.SELF, "blob:"]
    return policy


def docs_view(view: Any) -> Any:
    return csp_override(docs_policy())(view)
