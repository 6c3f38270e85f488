"""Sign-in protection: lockout after repeated failures, and an audit row for every try.

Failures are counted in Redis under two keys, for ``LEADFLOW_LOGIN_LOCKOUT_SECONDS``
from the first failure:

* per username *and* address: ``LEADFLOW_LOGIN_FAILURES_PER_USER`` failures lock that
  username from that address only. Somebody guessing a colleague's password from their
  own machine cannot lock the colleague out of theirs.
* per address: ``LEADFLOW_LOGIN_FAILURES_PER_IP`` failures, on any usernames, lock the
  address (password spraying).

A successful sign-in clears its username-and-address count. The check lives in the
authentication backend, so the admin's login and every other ``authenticate()`` obey it;
the login form tells the person how long to wait. When Redis is down the lockout is not
checked (it fails open, like the other rate limits), and the audit rows still are written.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import ngettext

from leadflow import ratelimit
from leadflow.models import AuditEntry, User

logger = logging.getLogger(__name__)

PREFIX = "leadflow:login"


def _keys(username: str, ip: str) -> tuple[str, str]:
    # Hashed: a username typed by a stranger is not something to keep in Redis in clear.
    who = hashlib.sha256(f"{username.strip().lower()}\0{ip}".encode()).hexdigest()[:32]
    return (
        cache.make_and_validate_key(f"{PREFIX}:user:{who}"),
        cache.make_and_validate_key(f"{PREFIX}:ip:{ip}"),
    )


def login_locked_for(username: str, ip: str) -> int:
    """Seconds until this username may try again from this address; 0 if it may now."""
    client = ratelimit.redis_client()
    if client is None:
        return 0
    user_key, ip_key = _keys(username, ip)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.get(user_key)
        pipe.ttl(user_key)
        pipe.get(ip_key)
        pipe.ttl(ip_key)
        user_count, user_ttl, ip_count, ip_ttl = pipe.execute()
    except Exception as exc:
        logger.warning("login lockout not checked: the cache is unavailable: %r", exc)
        return 0
    wait = 0
    if int(user_count or 0) >= settings.LEADFLOW_LOGIN_FAILURES_PER_USER:
        wait = max(wait, int(user_ttl))
    if int(ip_count or 0) >= settings.LEADFLOW_LOGIN_FAILURES_PER_IP:
        wait = max(wait, int(ip_ttl))
    return max(wait, 0)


def _failure_count(username: str, ip: str) -> None:
    client = ratelimit.redis_client()
    if client is None:
        return
    window = settings.LEADFLOW_LOGIN_LOCKOUT_SECONDS
    try:
        pipe = client.pipeline(transaction=False)
        for key in _keys(username, ip):
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incr(key)
        pipe.execute()
    except Exception as exc:
        logger.warning("login failure not counted: the cache is unavailable: %r", exc)


def _failures_clear(username: str, ip: str) -> None:
    client = ratelimit.redis_client()
    if client is None:
        return
    try:
        client.delete(_keys(username, ip)[0])
    except Exception as exc:
        logger.warning("login failures not cleared: the cache is unavailable: %r", exc)


class LockoutModelBackend(ModelBackend):
    """Django's username and password check, refused while the sign-in is locked."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if request is not None and username:
            wait = login_locked_for(username, ratelimit.client_ip(request))
            if wait:
                request.login_locked_for = wait  # type: ignore[attr-defined]
                raise PermissionDenied  # stops authenticate(); user_login_failed is sent
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginForm(AuthenticationForm):
    """The sign-in form, which says how long a locked sign-in must wait."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            wait = getattr(self.request, "login_locked_for", 0)
            if wait:
                minutes = max(1, (wait + 59) // 60)
                raise ValidationError(
                    ngettext(
                        "Too many failed sign-ins. Try again in %(minutes)d minute.",
                        "Too many failed sign-ins. Try again in %(minutes)d minutes.",
                        minutes,
                    )
                    % {"minutes": minutes},
                    code="locked",
                ) from None
            raise


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username") or "")[:150]
    ip = ratelimit.client_ip(request) if request is not None else ""
    locked = bool(getattr(request, "login_locked_for", 0))
    if not locked:
        _failure_count(username, ip)
    AuditEntry.objects.create(
        action="login.locked" if locked else "login.failed",
        detail={"username": username},
        ip=ip or None,
    )


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    ip = ratelimit.client_ip(request) if request is not None else ""
    _failures_clear(user.get_username(), ip)
    AuditEntry.objects.create(
        actor=user,
        action="login",
        subject_type="user",
        subject_id=user.pk,
        ip=ip or None,
    )
