from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from leadflow.api.scopes import SCOPES
from leadflow.api.tokens import token_create
from leadflow.models import User
from tests.conftest import Cast

ALL = sorted(SCOPES)


@pytest.fixture
def make_client(cast: Cast) -> Callable[..., APIClient]:
    """A client carrying a new token for ``user`` (the admin by default) with ``scopes``."""

    def make(*scopes: str, user: User | None = None, **options: object) -> APIClient:
        made = token_create(
            created_by=cast.admin,
            user=user or cast.admin,
            name="test",
            scopes=list(scopes) or ALL,
            **options,  # type: ignore[arg-type]
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {made.raw}")
        client.token = made.token  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def api(make_client: Callable[..., APIClient]) -> APIClient:
    """The admin's token with every scope."""
    return make_client()
