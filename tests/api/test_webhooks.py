"""Webhooks: signatures (fixed vectors), delivery, retries with backoff, giving up,
auto-disable with a notification, secret rotation, and refusing private addresses."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from leadflow.api import webhooks
from leadflow.api.models import WebhookDelivery, WebhookEndpoint
from leadflow.errors import ApplicationError
from leadflow.models import Notification

pytestmark = pytest.mark.django_db


def test_signature_matches_fixed_vectors():
    # Computed with: printf 'id.1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
    assert webhooks.signature(
        secret="whsec_test", event_id="id", timestamp=1700000000, body=b'{"a":1}'
    ) == ("v1=d6da42227e6d9c2a082891361b3d67f976c6c35ebf9255486caaf828546dcf65")
    assert webhooks.signature(
        secret="whsec_other", event_id="evt_1", timestamp=1700000000, body=b'{"type":"deal.won"}'
    ) == ("v1=28800c527c4d6d8d07e23d285d81c4bb1863f18e1d63933346ba0dc7d6aaaea1")


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers ``status`` and keeps what it got."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def endpoint(cast, receiver) -> WebhookEndpoint:
    return webhooks.endpoint_create(
        created_by=cast.admin, url=receiver.url, event_types=["lead.created", "deal.won"]
    )


def _due_now(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_delivery_is_signed_and_the_receiver_can_verify_it(endpoint, receiver):
    webhooks.webhook_emit("lead.created", {"lead": {"id": 1}})
    delivery = WebhookDelivery.objects.get()
    webhooks.delivery_attempt(delivery_id=delivery.pk)
    headers, body = receiver.requests[0]
    assert json.loads(body)["type"] == "lead.created"
    assert json.loads(body)["data"] == {"lead": {"id": 1}}
    assert headers["X-LeadFlow-Event-Id"] == str(delivery.event_id)
    assert webhooks.signature_verify(
        secret=endpoint.secret,
        header=headers["X-LeadFlow-Signature"],
        event_id=headers["X-LeadFlow-Event-Id"],
        timestamp=int(headers["X-LeadFlow-Timestamp"]),
        body=body,
    )
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempt_log.get().status_code == 200


def test_an_old_timestamp_or_a_wrong_secret_does_not_verify():
    body = b"{}"
    old = 1700000000
    header = webhooks.signature(secret="s", event_id="e", timestamp=old, body=body)
    assert not webhooks.signature_verify(
        secret="s", header=header, event_id="e", timestamp=old, body=body
    )
    now = int(timezone.now().timestamp())
    header = webhooks.signature(secret="s", event_id="e", timestamp=now, body=body)
    assert not webhooks.signature_verify(
        secret="t", header=header, event_id="e", timestamp=now, body=body
    )


def test_during_a_rotation_both_secrets_sign(cast, endpoint, receiver):
    old_secret = endpoint.secret
    endpoint = webhooks.endpoint_secret_rotate(endpoint_id=endpoint.pk, actor=cast.admin)
    webhooks.webhook_emit("lead.created", {"lead": {"id": 2}})
    webhooks.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    headers, body = receiver.requests[0]
    signatures = headers["X-LeadFlow-Signature"].split(",")
    assert len(signatures) == 2
    for secret in (old_secret, endpoint.secret):
        assert webhooks.signature_verify(
            secret=secret,
            header=headers["X-LeadFlow-Signature"],
            event_id=headers["X-LeadFlow-Event-Id"],
            timestamp=int(headers["X-LeadFlow-Timestamp"]),
            body=body,
        )


def test_a_failure_is_retried_later_with_growing_backoff(endpoint, receiver, settings):
    settings.LEADFLOW_WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.status = 500
    webhooks.webhook_emit("lead.created", {"lead": {"id": 3}})
    delivery = WebhookDelivery.objects.get()
    delays = []
    for _attempt in range(3):
        _due_now(delivery)
        before = timezone.now()
        webhooks.delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == WebhookDelivery.Status.PENDING
        delays.append((delivery.next_attempt_at - before).total_seconds())
    # 30 s, 60 s, 120 s, each with 50-100 % jitter.
    assert 15 <= delays[0] <= 31
    assert 30 <= delays[1] <= 61
    assert 60 <= delays[2] <= 121
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 500, 500]
    # Not due yet: a second worker (or beat) does not send it again.
    assert webhooks.delivery_attempt(delivery_id=delivery.pk) is None
    receiver.status = 200
    _due_now(delivery)
    webhooks.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_a_delivery_is_given_up_after_the_retry_window(endpoint, receiver, settings):
    settings.LEADFLOW_WEBHOOK_RETRY_WINDOW_SECONDS = 3 * 86400
    receiver.status = 503
    webhooks.webhook_emit("lead.created", {"lead": {"id": 4}})
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    webhooks.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.next_attempt_at is None


def test_repeated_failures_disable_the_endpoint_and_tell_the_admins(
    cast, endpoint, receiver, settings
):
    settings.LEADFLOW_WEBHOOK_DISABLE_AFTER = 3
    settings.LEADFLOW_WEBHOOK_DISABLE_AFTER_HOURS = 0
    receiver.status = 500
    webhooks.webhook_emit_many("lead.created", [{"n": n} for n in range(3)])
    for delivery in WebhookDelivery.objects.all():
        webhooks.delivery_attempt(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "3" in endpoint.disabled_reason
    assert Notification.objects.filter(user=cast.admin, kind="webhook.disabled").exists()
    # A disabled endpoint gets nothing new, and its pending deliveries wait.
    assert webhooks.webhook_emit("lead.created", {"n": 9}) == 0
    assert webhooks.deliveries_due() == []


def test_redeliver_sends_the_same_event_again(cast, endpoint, receiver):
    webhooks.webhook_emit("lead.created", {"lead": {"id": 5}})
    first = WebhookDelivery.objects.get()
    webhooks.delivery_attempt(delivery_id=first.pk)
    again = webhooks.delivery_redeliver(delivery_id=first.pk, actor=cast.admin)
    webhooks.delivery_attempt(delivery_id=again.pk)
    ids = [headers["X-LeadFlow-Event-Id"] for headers, _body in receiver.requests]
    assert ids == [str(first.event_id)] * 2


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.1/",
        "ftp://example.com/",
    ],
)
def test_private_addresses_and_other_schemes_are_refused(cast, url):
    with pytest.raises(ApplicationError):
        webhooks.endpoint_create(created_by=cast.admin, url=url, event_types=["deal.won"])


def test_loopback_is_refused_unless_allowed(cast, settings):
    settings.LEADFLOW_WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(ApplicationError):
        webhooks.endpoint_create(
            created_by=cast.admin, url="http://127.0.0.1:9/", event_types=["deal.won"]
        )


def test_leads_created_through_the_api_become_lead_created_deliveries(api, endpoint):
    response = api.post(
        "/api/v1/leads/batch/",
        {"items": [{"email": "w1@example.com"}, {"email": "w2@example.com"}]},
        format="json",
    )
    assert response.json()["created"] == 2
    payloads = [d.payload["lead"]["email"] for d in WebhookDelivery.objects.order_by("id")]
    assert sorted(payloads) == ["w1@example.com", "w2@example.com"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_delivers_after_commit(cast, celery_worker, receiver):
    endpoint = webhooks.endpoint_create(
        created_by=cast.admin, url=receiver.url, event_types=["lead.created"]
    )
    webhooks.webhook_emit("lead.created", {"lead": {"id": 6}})
    deadline = timezone.now() + timedelta(seconds=30)
    while not receiver.requests and timezone.now() < deadline:
        threading.Event().wait(0.2)
    assert receiver.requests, "the worker did not deliver"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    for _ in range(50):
        delivery.refresh_from_db()
        if delivery.status == WebhookDelivery.Status.SUCCEEDED:
            break
        threading.Event().wait(0.1)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


def test_domain_events_on_the_bus_become_deliveries(cast):
    from leadflow import bus
    from tests.factories import HandoffFactory, LeadFactory

    webhooks.endpoint_create(
        created_by=cast.admin,
        url="http://127.0.0.1:9/hook",
        event_types=["lead.mql", "handoff.accepted", "sla.breached"],
    )
    lead = LeadFactory(email="mql@example.com")
    handoff = HandoffFactory(team=cast.team)
    bus.publish("leads.mql", lead_ids=[lead.pk])
    bus.publish("handoff.accepted", handoff_id=handoff.pk)
    bus.publish("sla.breached", handoff_id=handoff.pk)
    bus.publish("deal.lost", deal_id=0, lead_id=None)  # not subscribed: nothing, no lookup
    kinds = sorted(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert kinds == ["handoff.accepted", "lead.mql", "sla.breached"]
    mql = WebhookDelivery.objects.get(event_type="lead.mql")
    assert mql.payload["lead"]["email"] == "mql@example.com"
    assert WebhookDelivery.objects.get(event_type="sla.breached").payload["handoff"]["id"] == (
        handoff.pk
    )


def test_accepting_and_rejecting_a_handoff_become_deliveries(cast):
    from handoff import services as handoffs
    from handoff.models import RejectReason
    from tests.factories import HandoffFactory

    webhooks.endpoint_create(
        created_by=cast.admin,
        url="http://127.0.0.1:9/hook",
        event_types=["handoff.accepted", "handoff.rejected"],
    )
    accepted = HandoffFactory(team=cast.team, assigned_to=cast.rep)
    rejected = HandoffFactory(team=cast.team, assigned_to=cast.rep)

    handoffs.handoff_accept(handoff_id=accepted.pk, user=cast.rep)
    handoffs.handoff_reject(handoff_id=rejected.pk, user=cast.rep, reason=RejectReason.NO_BUDGET)

    sent = dict(
        WebhookDelivery.objects.values_list("event_type", "payload__handoff__id").order_by("id")
    )
    assert sent == {"handoff.accepted": accepted.pk, "handoff.rejected": rejected.pk}


def test_a_lead_captured_by_a_form_becomes_a_lead_created_delivery(cast):
    from marketing import services as marketing
    from tests.factories import FormFactory

    webhooks.endpoint_create(
        created_by=cast.admin, url="http://127.0.0.1:9/hook", event_types=["lead.created"]
    )
    form = FormFactory(campaign__owner=cast.marketer)
    data = marketing.CaptureInput(email="Visitor@Example.com")

    first = marketing.lead_capture(form=form, data=data)
    again = marketing.lead_capture(form=form, data=data)  # the same person: no new lead

    assert first.created
    assert not again.created
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event_type, delivery.payload["lead"]["email"]) == (
        "lead.created",
        "visitor@example.com",
    )


def test_a_delivery_connects_to_the_address_that_was_checked(cast, receiver, monkeypatch):
    """DNS rebinding: the name resolves to an allowed address when checked, and to a private
    one for anyone who asks again. The delivery must go to the checked address."""
    import socket
    import types

    real = socket.getaddrinfo
    port = receiver.server.server_port

    def checked(host, *args, **kwargs):
        if host == "hooks.example.test":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    def rebound(host, *args, **kwargs):
        if host == "hooks.example.test":
            return real("10.0.0.5", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(
        webhooks, "socket", types.SimpleNamespace(getaddrinfo=checked, IPPROTO_TCP=6)
    )
    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    webhooks.endpoint_create(
        created_by=cast.admin,
        url=f"http://hooks.example.test:{port}/hook?team=1",
        event_types=["deal.won"],
    )
    webhooks.webhook_emit("deal.won", {"deal": {"id": 1}})
    delivery = WebhookDelivery.objects.get()
    webhooks.delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    headers, _body = receiver.requests[0]
    assert headers["Host"] == f"hooks.example.test:{port}"
