"""The admin's pages for tokens and webhooks."""

from __future__ import annotations

import re

import pytest

from leadflow.api import webhooks
from leadflow.api.models import ApiToken, WebhookDelivery, WebhookEndpoint
from leadflow.api.tokens import token_hash
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_token_and_sees_it_once(cast):
    client = login(cast.admin)
    response = client.post(
        "/admin/leadflow/apitoken/add/",
        {
            "name": "CRM sync",
            "kind": "integration",
            "user": cast.admin.pk,
            "scopes": ["leads:read"],
        },
        follow=True,
    )
    page = response.content.decode()
    raw = re.search(r"(lf_[A-Za-z0-9_-]{20,})", page).group(1)
    token = ApiToken.objects.get()
    assert token.key_hash == token_hash(raw)
    assert raw not in client.get(f"/admin/leadflow/apitoken/{token.pk}/change/").content.decode()


def test_a_token_beyond_the_users_role_is_refused_in_the_form(cast):
    response = login(cast.admin).post(
        "/admin/leadflow/apitoken/add/",
        {"name": "x", "kind": "personal", "user": cast.marketer.pk, "scopes": ["deals:read"]},
    )
    assert response.status_code == 200
    assert "does not allow" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_webhook_to_a_private_address_is_refused_in_the_form(cast):
    response = login(cast.admin).post(
        "/admin/leadflow/webhookendpoint/add/",
        {"url": "http://10.1.2.3/hook", "event_types": ["deal.won"], "is_active": "on"},
    )
    assert "private or local address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_redeliver_action_queues_the_event_again(cast):
    endpoint = webhooks.endpoint_create(
        created_by=cast.admin, url="http://127.0.0.1:9/", event_types=["deal.won"]
    )
    webhooks.webhook_emit("deal.won", {"deal": {"id": 1}})
    first = WebhookDelivery.objects.get()
    login(cast.admin).post(
        "/admin/leadflow/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [first.pk]},
    )
    copies = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id")
    assert [d.event_id for d in copies] == [first.event_id, first.event_id]
