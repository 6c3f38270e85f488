"""A hung Redis costs a process one timeout, not one per call (leadflow.breaker)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import redis

from leadflow import breaker
from leadflow.breaker import BreakerRedisCache
from leadflow.services import enqueue_now
from marketing.tasks import score_leads


@pytest.fixture
def hung_redis() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()


@pytest.fixture(autouse=True)
def closed_breaker() -> Iterator[None]:
    breaker._open_until = 0.0
    yield
    breaker._open_until = 0.0


def _timed(call) -> tuple[float, BaseException | None]:
    began = time.monotonic()
    try:
        call()
    except Exception as exc:
        return time.monotonic() - began, exc
    return time.monotonic() - began, None


def test_after_one_timeout_calls_fail_at_once_until_the_cool_off_ends(hung_redis, monkeypatch):
    cache = BreakerRedisCache(
        hung_redis, {"OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}}
    )
    first, error = _timed(lambda: cache.get("k"))
    assert isinstance(error, redis.TimeoutError)
    assert first >= 0.5
    assert breaker.redis_unavailable()

    for _ in range(5):
        took, error = _timed(lambda: cache.set("k", 1))
        assert isinstance(error, redis.ConnectionError)
        assert took < 0.05

    monkeypatch.setattr(breaker, "_open_until", time.monotonic() - 1)  # the cool-off ended
    again, error = _timed(lambda: cache.get("k"))
    assert isinstance(error, redis.TimeoutError)
    assert again >= 0.5  # Redis is asked again


def test_no_message_is_sent_while_redis_is_unavailable(caplog):
    breaker.redis_failed(redis.TimeoutError("hung"))
    took, error = _timed(lambda: enqueue_now(score_leads, [1]))
    assert error is None
    assert took < 0.05
    assert enqueue_now(score_leads, [1]) is False
    assert "redis is unavailable" in caplog.text
