"""Per-caller rate limits: a burst limit per minute and a daily quota, with headers.

Counted per token (or per user for the browser's session) in the shared Redis, so every
web process counts into the same windows (see :mod:`leadflow.ratelimit`). Fixed windows
aligned to the clock: ``X-RateLimit-Reset`` is the seconds until the minute window ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from rest_framework import exceptions
from rest_framework.request import Request

from leadflow.api.models import ApiToken
from leadflow.ratelimit import Limit, counts

MINUTE = 60
DAY = 86_400


@dataclass(frozen=True)
class RateState:
    """This request's place in its caller's windows."""

    minute_limit: int
    minute_count: int
    day_limit: int
    day_count: int
    now: float

    @property
    def minute_reset(self) -> int:
        return int(MINUTE - self.now % MINUTE) + 1

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.minute_limit),
            "X-RateLimit-Remaining": str(max(self.minute_limit - self.minute_count, 0)),
            "X-RateLimit-Reset": str(self.minute_reset),
            "X-RateLimit-Limit-Day": str(self.day_limit),
            "X-RateLimit-Remaining-Day": str(max(self.day_limit - self.day_count, 0)),
        }

    def enforce(self) -> None:
        """429 with Retry-After when either window is used up."""
        if self.day_count > self.day_limit:
            raise exceptions.Throttled(wait=int(DAY - self.now % DAY) + 1)
        if self.minute_count > self.minute_limit:
            raise exceptions.Throttled(wait=self.minute_reset)


def rate_hit(request: Request) -> RateState | None:
    """Count this request for its caller. None when nobody is authenticated or the cache
    is down: the limits fail open, as the capture endpoint's do."""
    token = request.auth if isinstance(request.auth, ApiToken) else None
    if token is not None:
        ident = f"token:{token.pk}"
        per_minute = token.rate_per_minute or settings.LEADFLOW_API_RATE_PER_MINUTE
        per_day = token.rate_per_day or settings.LEADFLOW_API_RATE_PER_DAY
    elif request.user and request.user.is_authenticated:
        ident = f"user:{request.user.pk}"
        per_minute = settings.LEADFLOW_API_RATE_PER_MINUTE
        per_day = settings.LEADFLOW_API_RATE_PER_DAY
    else:
        return None
    found = counts(
        Limit("api-minute", ident, per_minute, MINUTE), Limit("api-day", ident, per_day, DAY)
    )
    if found is None:
        return None
    return RateState(
        minute_limit=per_minute,
        minute_count=found[0],
        day_limit=per_day,
        day_count=found[1],
        now=time.time(),
    )
