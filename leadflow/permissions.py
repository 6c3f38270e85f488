"""Role checks for HTML views. Object checks live in each app's selectors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from leadflow.models import Role, User

View = Callable[..., HttpResponse]


def has_role(user: User, *roles: str) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role in roles)


def role_required(*roles: str) -> Callable[[View], View]:
    """Logged in and one of ``roles`` (admins always pass), else 403."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            assert isinstance(user, User)
            if not (user.role == Role.ADMIN or has_role(user, *roles)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


MARKETING = (Role.MARKETER, Role.MANAGER)
SALES = (Role.REP, Role.MANAGER)
MANAGERS = (Role.MANAGER,)
