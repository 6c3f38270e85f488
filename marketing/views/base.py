"""What the signed-in marketing pages share: the user who asks."""

from __future__ import annotations

from leadflow.http import HtmxHttpRequest
from leadflow.models import User


def _user(request: HtmxHttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user
