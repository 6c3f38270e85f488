"""Who is calling (a bearer token or the browser's session) and whether the scope allows it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from leadflow.api.models import ApiToken
from leadflow.api.scopes import scopes_for_role
from leadflow.api.tokens import token_authenticate, token_scopes
from leadflow.models import User


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer lf_…``. A wrong, expired or revoked token is a 401."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as “Bearer <token>”."))
        token = token_authenticate(raw=parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is invalid, expired or revoked."))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class BrowserSessionAuthentication(SessionAuthentication):
    """The browser's session (with CSRF on writes). Its 401 names the bearer scheme too,
    so a client without credentials learns how to authenticate."""

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def request_scopes(request: Request) -> frozenset[str]:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return frozenset()
    if isinstance(request.auth, ApiToken):
        return token_scopes(request.auth)
    return scopes_for_role(user)


class ScopePermission(BasePermission):
    """The view's ``scopes`` names the scope each method needs; a method without one is
    refused (fail closed), so a new endpoint cannot forget its scope and be open."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated
        required = getattr(view, "scopes", {}).get(request.method or "")
        if required is None:
            return False
        if required not in request_scopes(request):
            self.message = _("This needs the “%(scope)s” scope.") % {"scope": required}
            return False
        return True
