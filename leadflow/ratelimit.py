"""Fixed-window request counters in the shared cache (Redis), for public endpoints.

A window is ``window`` seconds long and aligned to the clock, so every web process counts
into the same key and the answer to "when may I try again" is the end of the window. A
burst straddling two windows may get up to twice the limit through; that is the price of
one round trip per check, and fine for abuse control.

When the cache is down or slow the check fails *open*: taking a lead matters more than
refusing a bot, and the cache's socket timeouts (1 s) bound the wait.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

PREFIX = "leadflow:rl"


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` hits per ``window`` seconds for one ``scope`` and ``ident``."""

    scope: str
    ident: str
    limit: int
    window: int = 60


def client_ip(request: HttpRequest) -> str:
    """The visitor's address, "" when there is none that parses: REMOTE_ADDR, or the first
    X-Forwarded-For hop when the proxy in front of us is trusted to set it
    (``LEADFLOW_TRUST_X_FORWARDED_FOR``); anybody can send that header, so trusting it
    without such a proxy lets a bot pick its own address.
    """
    raw = str(request.META.get("REMOTE_ADDR") or "")
    if settings.LEADFLOW_TRUST_X_FORWARDED_FOR:
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
        raw = forwarded.split(",")[0].strip() or raw
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:  # "unknown", a host name: not an address a record can keep
        return ""


def hit(*limits: Limit) -> int:
    """Count one request against every limit; return the seconds to wait (the largest
    Retry-After of the limits that are exceeded), or 0 when the request may go ahead.

    A limit of 0 or less means "no limit" and is not counted.
    """
    active = [item for item in limits if item.limit > 0]
    if not active:
        return 0
    now = time.time()
    keys = [f"{PREFIX}:{item.scope}:{item.ident}:{int(now // item.window)}" for item in active]
    try:
        counts = _increment(keys, [item.window for item in active])
    except Exception as exc:  # the cache is down or stalled: let the request through
        logger.warning("rate limit not checked: the cache is unavailable: %r", exc)
        return 0
    wait = 0
    for item, count in zip(active, counts, strict=True):
        if count > item.limit:
            wait = max(wait, int(item.window - now % item.window) + 1)
    return wait


def _increment(keys: list[str], windows: list[int]) -> list[int]:
    """Create every key with a lifetime of its window if it is new, then INCR it, in one
    round trip to Redis (any other cache backend: add + incr)."""
    client = redis_client()
    if client is None:
        counts = []
        for key, window in zip(keys, windows, strict=True):
            cache.add(key, 0, timeout=window + 1)
            counts.append(cache.incr(key))
        return counts
    # SET NX EX rather than EXPIRE NX, which needs Redis 7 (the development server is 6.2).
    pipe = client.pipeline(transaction=False)
    for key, window in zip(keys, windows, strict=True):
        full = cache.make_and_validate_key(key)
        pipe.set(full, 0, ex=window + 1, nx=True)
        pipe.incr(full)
    replies = pipe.execute()
    return [int(count) for count in replies[1::2]]


_client: tuple[object, Any] | None = None


def redis_client() -> Any:
    """The redis-py client behind Django's RedisCache (None for other cache backends).

    Django builds a new client object on every call (~0.1 ms, more than the round trip);
    one per process will do: redis-py clients are thread-safe and share the cache's pool.
    Its own add() and incr() would also cost two round trips per key.
    """
    global _client
    backend = getattr(cache, "_cache", None)
    client_of = getattr(backend, "get_client", None)
    if client_of is None:
        return None
    if _client is None or _client[0] is not backend:
        _client = (backend, client_of(write=True))
    return _client[1]


def counts(*limits: Limit) -> list[int] | None:
    """Count one request against every limit and return each window's count so far, for
    callers that report what is left (the API's X-RateLimit headers); None when the cache
    is unavailable, and the caller lets the request through as ``hit`` does."""
    now = time.time()
    keys = [f"{PREFIX}:{item.scope}:{item.ident}:{int(now // item.window)}" for item in limits]
    try:
        return _increment(keys, [item.window for item in limits])
    except Exception as exc:
        logger.warning("rate limit not checked: the cache is unavailable: %r", exc)
        return None
