"""Tokens, scopes on every endpoint, the error shape, idempotency and rate limits."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.urls import get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from leadflow.api.scopes import SCOPES
from leadflow.api.tokens import token_create, token_revoke
from leadflow.api.views import Api
from leadflow.errors import ApplicationError
from leadflow.models import Role
from marketing.models import Lead

# Views under /api/v1/ that are not operations: the schema and its docs, public by design.
PUBLIC = {"schema", "docs", "redoc"}


def _api_patterns() -> list[tuple[str, Any]]:
    """Every URL under /api/v1/, with its route filled with ids."""
    found = []
    for top in get_resolver().url_patterns:
        if str(top.pattern) != "api/v1/":
            continue
        for pattern in top.url_patterns:  # type: ignore[union-attr]
            route = "/api/v1/" + str(pattern.pattern).replace("<int:", "<")
            path = route
            while "<" in path:
                path = path[: path.index("<")] + "1" + path[path.index(">") + 1 :]
            found.append((path, pattern))
    return found


OPERATIONS = [
    (path, pattern.name, method.upper())
    for path, pattern in _api_patterns()
    if pattern.name not in PUBLIC
    for method in ("get", "post", "put", "patch", "delete")
    if hasattr(pattern.callback.view_class, method)
]


def test_every_api_url_is_an_api_operation_or_a_known_public_page():
    names = {pattern.name for _path, pattern in _api_patterns()}
    assert names >= PUBLIC
    for _path, pattern in _api_patterns():
        if pattern.name in PUBLIC:
            continue
        assert issubclass(pattern.callback.view_class, Api), pattern.name
    assert len(OPERATIONS) > 25


@pytest.mark.parametrize(("path", "name", "method"), OPERATIONS)
def test_every_operation_names_a_known_scope(path, name, method):
    view = next(p for _path, p in _api_patterns() if p.name == name).callback.view_class
    assert view.scopes.get(method) in SCOPES, f"{name} {method} has no scope"


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name", "method"), OPERATIONS)
def test_a_token_without_the_scope_is_refused_on_every_operation(make_client, path, name, method):
    view = next(p for _path, p in _api_patterns() if p.name == name).callback.view_class
    needed = view.scopes[method]
    without = make_client(*(scope for scope in SCOPES if scope != needed))
    response = without.generic(method, path, data="{}", content_type="application/json")
    assert response.status_code == 403, (name, method, response.content)
    assert response.json()["code"] == "permission_denied"
    assert needed in response.json()["message"]
    with_it = make_client(needed)
    response = with_it.generic(method, path, data="{}", content_type="application/json")
    assert response.status_code != 403, (name, method, response.content)


@pytest.mark.django_db
def test_no_credentials_is_a_401_that_names_the_scheme():
    response = APIClient().get("/api/v1/leads/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_revoked_and_expired_tokens_are_refused(cast, make_client):
    client = make_client()
    assert client.get("/api/v1/leads/").status_code == 200
    token_revoke(token_id=client.token.pk, actor=cast.admin)
    assert client.get("/api/v1/leads/").status_code == 401
    expiring = make_client(expires_at=timezone.now() + timedelta(hours=1))
    type(expiring.token).objects.filter(pk=expiring.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = expiring.get("/api/v1/leads/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_a_token_is_stored_only_as_its_hash(cast):
    made = token_create(created_by=cast.admin, user=cast.admin, name="n", scopes=["leads:read"])
    made.token.refresh_from_db()
    assert made.raw not in (made.token.key_hash, made.token.prefix)
    assert len(made.token.key_hash) == 64


@pytest.mark.django_db
def test_a_personal_token_cannot_exceed_its_users_role(cast):
    with pytest.raises(ApplicationError):
        token_create(created_by=cast.admin, user=cast.marketer, name="m", scopes=["deals:read"])
    with pytest.raises(ApplicationError):
        token_create(created_by=cast.marketer, user=cast.marketer, name="m", scopes=["leads:read"])


@pytest.mark.django_db
def test_a_token_shrinks_with_its_users_role(cast, make_client):
    client = make_client("leads:read", user=cast.marketer)
    assert client.get("/api/v1/leads/").status_code == 200
    cast.marketer.role = Role.REP
    cast.marketer.save(update_fields=["role"])
    assert client.get("/api/v1/leads/").status_code == 403


@pytest.mark.django_db
def test_the_browser_session_works_with_the_roles_scopes(cast):
    client = APIClient()
    client.force_login(cast.rep)
    assert client.get("/api/v1/handoffs/").status_code == 200
    assert client.get("/api/v1/leads/").status_code == 403


# --- Idempotency ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_key_and_body_replay_the_first_response(api):
    body = {"email": "idem@example.com"}
    first = api.post("/api/v1/leads/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/leads/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Lead.objects.filter(email="idem@example.com").count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422(api):
    api.post("/api/v1/leads/", {"email": "a1@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = api.post(
        "/api/v1/leads/", {"email": "a2@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert not Lead.objects.filter(email="a2@example.com").exists()


@pytest.mark.django_db
def test_keys_belong_to_their_caller(make_client):
    one, two = make_client(), make_client()
    one.post("/api/v1/leads/", {"email": "b1@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="x")
    response = two.post(
        "/api/v1/leads/", {"email": "b2@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="x"
    )
    assert response.status_code == 201


@pytest.mark.django_db
def test_a_refused_request_is_replayed_too(api):
    body = {"email": "nope"}
    first = api.post("/api/v1/leads/", body, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    again = api.post("/api/v1/leads/", body, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_requests_with_one_key_create_once(make_client):
    client = make_client()
    header = client._credentials["HTTP_AUTHORIZATION"]
    results: list[tuple[int, int]] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        own = APIClient()
        own.credentials(HTTP_AUTHORIZATION=header)
        barrier.wait()
        response = own.post(
            "/api/v1/leads/batch/",
            {"items": [{"email": f"c{n}@example.com"} for n in range(200)]},
            format="json",
            HTTP_IDEMPOTENCY_KEY="same",
        )
        results.append((response.status_code, response.json()["created"]))
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [(200, 200)] * 4
    assert Lead.objects.count() == 200


# --- Rate limits ----------------------------------------------------------------------------


@pytest.fixture
def fresh_rate_counters():
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("*leadflow:rl:api-*"):
        client.delete(key)


@pytest.mark.django_db
def test_over_the_burst_limit_is_a_429_with_retry_after(make_client, fresh_rate_counters):
    client = make_client(rate_per_minute=3)
    answers = [client.get("/api/v1/leads/") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0]["X-RateLimit-Limit"] == "3"
    limited = answers[3]
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert limited.json()["code"] == "rate_limited"


@pytest.mark.django_db
def test_over_the_daily_quota_is_a_429_until_tomorrow(make_client, fresh_rate_counters):
    client = make_client(rate_per_day=2)
    answers = [client.get("/api/v1/leads/").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    response = client.get("/api/v1/leads/")
    assert response["X-RateLimit-Remaining-Day"] == "0"
    assert int(response["Retry-After"]) > 60 or timezone.now().hour == 23
