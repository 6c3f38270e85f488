"""A Redis that hangs must not hang the requests: one circuit breaker per process.

A dead Redis refuses connections at once; a hung one (a stalled server, a network that
drops packets) makes every call wait for its socket timeout, and a request that asks
Redis three times would wait three times. After any call to Redis times out or fails to
connect, calls from this process fail at once for ``COOL_OFF_SECONDS``; then the next
call tries Redis again. Callers already know what to do without Redis: the rate limits
and the sign-in lockout fail open, the caches read the database, messages to the broker
are left to the beat sweepers. So a request waits for one Redis timeout at most.

The cache gets the breaker through its connection class (:class:`BreakerRedisCache`);
messages to Celery go through :func:`leadflow.services.enqueue_now`, which asks it first.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import redis
from django.core.cache.backends.redis import RedisCache
from redis.connection import UnixDomainSocketConnection

logger = logging.getLogger(__name__)

COOL_OFF_SECONDS = 5.0
_lock = threading.Lock()
_open_until = 0.0


def redis_unavailable() -> bool:
    """Redis failed a moment ago: do not wait on it now."""
    return time.monotonic() < _open_until


def redis_failed(exc: BaseException) -> None:
    global _open_until
    with _lock:
        if not redis_unavailable():
            logger.warning("redis unavailable, not asked for %.0f s: %r", COOL_OFF_SECONDS, exc)
        _open_until = time.monotonic() + COOL_OFF_SECONDS


_FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)


class _Breaker:
    """Mixed into redis-py's connection classes: refuse while open, open on a failure."""

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if redis_unavailable():
            raise redis.ConnectionError("Redis failed a moment ago; not trying it yet")
        try:
            return super().connect(*args, **kwargs)  # type: ignore[misc]
        except _FAILURES as exc:
            redis_failed(exc)
            raise

    def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        if redis_unavailable():
            self.disconnect()  # type: ignore[attr-defined]
            raise redis.ConnectionError("Redis failed a moment ago; not trying it yet")
        try:
            return super().send_packed_command(*args, **kwargs)  # type: ignore[misc]
        except _FAILURES as exc:
            redis_failed(exc)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        except _FAILURES as exc:
            redis_failed(exc)
            raise


class BreakerConnection(_Breaker, redis.Connection):
    pass


class BreakerUnixConnection(_Breaker, UnixDomainSocketConnection):
    pass


class BreakerRedisCache(RedisCache):
    """Django's Redis cache, through connections that obey the breaker."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS", {}))
        unix = urlsplit(server).scheme == "unix"
        options["connection_class"] = BreakerUnixConnection if unix else BreakerConnection
        super().__init__(server, {**params, "OPTIONS": options})
