"""Outgoing webhooks: subscriptions, signed deliveries, retries, the log, auto-disable.

A delivery is a row with a due time. ``webhook_emit`` writes one per subscribed endpoint
in the caller's transaction; after commit, and every few seconds from beat,
``deliveries_dispatch`` sends the due ones to the workers. A worker claims a delivery
with a conditional UPDATE that also pushes its due time out by a lease, so two workers
never send it at once and a worker that dies mid-request leaves it due again later.

Signature (``X-LeadFlow-Signature``): ``v1=`` and the hex HMAC-SHA256, keyed with the
endpoint's secret, of ``"{event id}.{timestamp}.{body}"``. During a secret rotation the
header carries two signatures, comma-separated, one per secret; a receiver accepts the
request when any of them matches and the timestamp is recent.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leadflow.api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from leadflow.errors import ApplicationError
from leadflow.models import AuditEntry, Role, User

logger = logging.getLogger(__name__)

EVENT_TYPES = {
    "lead.created": gettext_lazy("A lead was created"),
    "lead.mql": gettext_lazy("A lead became marketing-qualified"),
    "handoff.created": gettext_lazy("A lead was handed to sales"),
    "handoff.accepted": gettext_lazy("A rep accepted a handoff"),
    "handoff.rejected": gettext_lazy("A rep rejected a handoff"),
    "sla.breached": gettext_lazy("A handoff missed its SLA"),
    "deal.stage_changed": gettext_lazy("A deal moved to another stage"),
    "deal.won": gettext_lazy("A deal was won"),
    "deal.lost": gettext_lazy("A deal was lost"),
}
SECRET_PREFIX = "whsec_"  # noqa: S105 -- a prefix, not a secret
USER_AGENT = "LeadFlow-Webhooks/1"
# How long a claimed delivery is hidden from other workers: above the request timeouts.
LEASE = timedelta(seconds=120)
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 10.0
# Deliveries enqueued per dispatch; the rest wait for the next round.
DISPATCH_BATCH = 500


# --- Signing ------------------------------------------------------------------------------


def signature(*, secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256 of "id.timestamp.body">``."""
    message = f"{event_id}.{timestamp}.".encode() + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(
    endpoint: WebhookEndpoint, *, event_id: str, timestamp: int, body: bytes
) -> str:
    """One signature per valid secret: the current one, and the previous one while the
    rotation's overlap lasts."""
    secrets_ = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > timezone.now():
        secrets_.append(endpoint.previous_secret)
    return ",".join(
        signature(secret=secret, event_id=event_id, timestamp=timestamp, body=body)
        for secret in secrets_
    )


def signature_verify(
    *, secret: str, header: str, event_id: str, timestamp: int, body: bytes, tolerance: int = 300
) -> bool:
    """What a receiver does (and the README shows): any signature matches, and the
    timestamp is within ``tolerance`` seconds of now (replays are refused)."""
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, event_id=event_id, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))


# --- Where a webhook may point ------------------------------------------------------------


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.is_global:
        return True
    return any(
        ip in ipaddress.ip_network(network)
        for network in settings.LEADFLOW_WEBHOOK_ALLOWED_NETWORKS
    )


@dataclass(frozen=True)
class Target:
    """Where a delivery goes: the URL's parts, and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def url_check(url: str) -> Target:
    """Refuse a URL that is not http(s), or whose host is (or resolves to) a private,
    loopback, link-local or reserved address, unless that network is allowed by
    ``LEADFLOW_WEBHOOK_ALLOWED_NETWORKS``: a webhook must not reach into our own network.

    Returns the target with one of the checked addresses: a delivery connects to that
    address, so a name that resolves elsewhere a moment later (DNS rebinding) cannot
    turn a checked URL into a request to our own network.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApplicationError(_("The URL must start with http:// or https://."), field="url")
    if parts.username or parts.password:
        raise ApplicationError(_("The URL must not hold a user name or password."), field="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise ApplicationError(
            _("The host “%(host)s” cannot be found.") % {"host": parts.hostname}, field="url"
        ) from exc
    for info in infos:
        if not _address_allowed(str(info[4][0])):
            raise ApplicationError(
                _("“%(host)s” is a private or local address; webhooks may not go there.")
                % {"host": parts.hostname},
                field="url",
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, str(infos[0][4][0]))


def _event_types_clean(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise ApplicationError(
            _("Unknown event “%(event)s”.") % {"event": unknown[0]}, field="event_types"
        )
    if not event_types:
        raise ApplicationError(_("Choose at least one event."), field="event_types")
    return sorted(set(event_types))


# --- Subscriptions ------------------------------------------------------------------------


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def endpoint_create(
    *, created_by: User, url: str, event_types: list[str], description: str = ""
) -> WebhookEndpoint:
    url_check(url)
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        description=description.strip()[:200],
        event_types=_event_types_clean(event_types),
        secret=_new_secret(),
        created_by=created_by,
    )
    AuditEntry.objects.create(
        actor=created_by,
        action="webhook.create",
        subject_type="leadflow.webhookendpoint",
        subject_id=endpoint.pk,
        detail={"url": url, "events": endpoint.event_types},
    )
    return endpoint


@transaction.atomic
def endpoint_update(
    *, endpoint_id: int, url: str, event_types: list[str], description: str, is_active: bool
) -> WebhookEndpoint:
    """Change a subscription. Turning a disabled endpoint on again clears its failure run."""
    url_check(url)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.url = url
    endpoint.event_types = _event_types_clean(event_types)
    endpoint.description = description.strip()[:200]
    update = ["url", "event_types", "description"]
    if is_active and not endpoint.is_active:
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        update += ["consecutive_failures", "failing_since", "disabled_at", "disabled_reason"]
    endpoint.is_active = is_active
    endpoint.save(update_fields=[*update, "is_active"])
    return endpoint


@transaction.atomic
def endpoint_secret_rotate(
    *, endpoint_id: int, actor: User, overlap: timedelta = timedelta(hours=24)
) -> WebhookEndpoint:
    """A new secret; the old one keeps signing too for ``overlap``, so the receiver can
    switch without dropping a request."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + overlap
    endpoint.secret = _new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    AuditEntry.objects.create(
        actor=actor,
        action="webhook.rotate_secret",
        subject_type="leadflow.webhookendpoint",
        subject_id=endpoint.pk,
        detail={"overlap_hours": overlap.total_seconds() / 3600},
    )
    return endpoint


# --- Emitting -----------------------------------------------------------------------------


# Form capture asks for every lead whether anyone wants "lead.created": the answer is kept
# for a few seconds per process. Saving or deleting an endpoint here forgets it at once;
# the other processes see the change within SUBSCRIBED_TTL.
SUBSCRIBED_TTL = 10.0
_subscribed: dict[str, tuple[float, bool]] = {}


def subscribed(event_type: str) -> bool:
    """Whether any active endpoint wants ``event_type`` (callers skip building payloads)."""
    now = time.monotonic()
    known = _subscribed.get(event_type)
    if known is not None and known[0] > now:
        return known[1]
    answer = WebhookEndpoint.objects.filter(
        is_active=True, event_types__contains=[event_type]
    ).exists()
    _subscribed[event_type] = (now + SUBSCRIBED_TTL, answer)
    return answer


@receiver([post_save, post_delete], sender=WebhookEndpoint)
def subscriptions_forget(**_: Any) -> None:
    _subscribed.clear()


def webhook_emit(event_type: str, data: dict[str, Any]) -> int:
    """One delivery per active endpoint subscribed to ``event_type``; see ``webhook_emit_many``."""
    return webhook_emit_many(event_type, [data])


def webhook_emit_many(event_type: str, items: list[dict[str, Any]]) -> int:
    """A delivery of each item (an event) to each active endpoint subscribed to
    ``event_type``, written in the caller's transaction and sent after it commits.
    Returns the number of deliveries."""
    assert event_type in EVENT_TYPES, event_type
    if not items:
        return 0
    endpoint_ids = list(
        WebhookEndpoint.objects.filter(
            is_active=True, event_types__contains=[event_type]
        ).values_list("pk", flat=True)
    )
    if not endpoint_ids:
        return 0
    now = timezone.now()
    deliveries: list[WebhookDelivery] = []
    for data in items:
        event_id = uuid.uuid4()
        deliveries.extend(
            WebhookDelivery(
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type=event_type,
                payload=data,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint_id in endpoint_ids
        )
    WebhookDelivery.objects.bulk_create(deliveries)
    transaction.on_commit(_dispatch_soon, robust=True)
    return len(deliveries)


def _dispatch_soon() -> None:
    from leadflow.api.tasks import dispatch_webhooks
    from leadflow.services import enqueue_now

    enqueue_now(dispatch_webhooks)  # if the broker is down, beat dispatches the due rows


@transaction.atomic
def delivery_redeliver(*, delivery_id: int, actor: User) -> WebhookDelivery:
    """Send an event again, as a new delivery with the same event id (receivers that
    already have it can tell)."""
    original = WebhookDelivery.objects.get(pk=delivery_id)
    copy = WebhookDelivery.objects.create(
        endpoint_id=original.endpoint_id,
        event_id=original.event_id,
        event_type=original.event_type,
        payload=original.payload,
        next_attempt_at=timezone.now(),
    )
    AuditEntry.objects.create(
        actor=actor,
        action="webhook.redeliver",
        subject_type="leadflow.webhookdelivery",
        subject_id=original.pk,
        detail={"new_delivery": copy.pk},
    )
    transaction.on_commit(_dispatch_soon, robust=True)
    return copy


# --- Delivering ---------------------------------------------------------------------------


def deliveries_due(*, limit: int = DISPATCH_BATCH) -> list[int]:
    """Pending deliveries of active endpoints whose time has come, oldest first."""
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=timezone.now(),
            endpoint__is_active=True,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff from ``LEADFLOW_WEBHOOK_RETRY_BASE_SECONDS``, doubled per
    attempt and capped at 6 hours, with jitter (50-100 %) so that a receiver coming back
    is not hit by every retry at the same second."""
    base = settings.LEADFLOW_WEBHOOK_RETRY_BASE_SECONDS
    delay = min(base * 2 ** max(attempt - 1, 0), 6 * 3600)
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))


def _claim(delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
        endpoint__is_active=True,
    ).update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1)
    if claimed != 1:
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def delivery_body(delivery: WebhookDelivery) -> bytes:
    return json.dumps(
        {
            "id": str(delivery.event_id),
            "type": delivery.event_type,
            "created_at": delivery.created_at.isoformat(),
            "data": delivery.payload,
        },
        separators=(",", ":"),
    ).encode()


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str
    excerpt: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _post(delivery: WebhookDelivery) -> _Outcome:
    endpoint = delivery.endpoint
    body = delivery_body(delivery)
    timestamp = int(time.time())
    event_id = str(delivery.event_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-LeadFlow-Event": delivery.event_type,
        "X-LeadFlow-Event-Id": event_id,
        "X-LeadFlow-Timestamp": str(timestamp),
        "X-LeadFlow-Signature": signature_header(
            endpoint, event_id=event_id, timestamp=timestamp, body=body
        ),
    }
    started = time.monotonic()
    try:
        # Checked again at send time, and the connection goes to the address checked.
        target = url_check(endpoint.url)
        with _pool(target) as pool:
            response = _send(pool, target, body=body, headers=headers)
            excerpt = response.read(500, decode_content=True).decode("utf-8", "replace")
            code = response.status
        error = "" if 200 <= code < 300 else _("The receiver answered %(code)s.") % {"code": code}
        return _Outcome(code, error, excerpt, int((time.monotonic() - started) * 1000))
    except ApplicationError as exc:
        return _Outcome(None, exc.message, "", 0)
    except urllib3.exceptions.HTTPError as exc:
        return _Outcome(None, str(exc)[:500], "", int((time.monotonic() - started) * 1000))


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    """A connection to the target's checked address, with the host's name in SNI and the
    certificate check over HTTPS. No retries: the delivery log retries."""
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    return urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)


def _send(
    pool: urllib3.HTTPConnectionPool, target: Target, *, body: bytes, headers: dict[str, str]
) -> urllib3.BaseHTTPResponse:
    """POST with the host's name in the Host header; no redirects; the body is left for
    the caller to read (only its start is kept)."""
    default_port = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host  # IPv6
    if target.port != default_port:
        host = f"{host}:{target.port}"
    return pool.urlopen(
        "POST",
        target.path,
        body=body,
        headers={**headers, "Host": host},
        redirect=False,
        preload_content=False,
    )


def delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Try one delivery now (if it is due and nobody else is trying it); record the
    attempt, then schedule the next one, or give up when the retry window is over."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    outcome = _post(delivery)
    _record(delivery, outcome)
    return delivery


@transaction.atomic
def _record(delivery: WebhookDelivery, outcome: _Outcome) -> None:
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        started_at=now,
        status_code=outcome.status_code,
        error=outcome.error[:500],
        response_excerpt=outcome.excerpt[:500],
        duration_ms=outcome.duration_ms,
    )
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:500]
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if outcome.ok:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        if endpoint.consecutive_failures or endpoint.failing_since:
            endpoint.consecutive_failures = 0
            endpoint.failing_since = None
            endpoint.save(update_fields=["consecutive_failures", "failing_since"])
    else:
        window = timedelta(seconds=settings.LEADFLOW_WEBHOOK_RETRY_WINDOW_SECONDS)
        next_at = now + retry_delay(delivery.attempts)
        if next_at - delivery.created_at > window:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = next_at
        _endpoint_failed(endpoint, now, outcome)
    delivery.save(
        update_fields=[
            "status",
            "delivered_at",
            "next_attempt_at",
            "last_status_code",
            "last_error",
        ]
    )


def _endpoint_failed(endpoint: WebhookEndpoint, now: datetime, outcome: _Outcome) -> None:
    """Count the failure; a long run of them (``LEADFLOW_WEBHOOK_DISABLE_AFTER`` attempts
    in a row, failing for at least ``LEADFLOW_WEBHOOK_DISABLE_AFTER_HOURS``) disables the
    endpoint and tells the admins."""
    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    update = ["consecutive_failures", "failing_since"]
    failing_for = now - endpoint.failing_since
    if (
        endpoint.is_active
        and endpoint.consecutive_failures >= settings.LEADFLOW_WEBHOOK_DISABLE_AFTER
        and failing_for >= timedelta(hours=settings.LEADFLOW_WEBHOOK_DISABLE_AFTER_HOURS)
    ):
        endpoint.is_active = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = _(
            "Disabled after %(count)s failed deliveries in a row; the last: %(error)s"
        ) % {"count": endpoint.consecutive_failures, "error": outcome.error or "?"}
        update += ["is_active", "disabled_at", "disabled_reason"]
        _admins_notify(endpoint)
    endpoint.save(update_fields=update)


def _admins_notify(endpoint: WebhookEndpoint) -> None:
    from leadflow.notifications import notification_send

    stamp = endpoint.disabled_at.isoformat() if endpoint.disabled_at else ""
    for admin in User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True):
        notification_send(
            user=admin,
            kind="webhook.disabled",
            subject=_("A webhook was disabled: %(url)s") % {"url": endpoint.url[:100]},
            body=endpoint.disabled_reason,
            url=f"/admin/leadflow/webhookendpoint/{endpoint.pk}/change/",
            dedupe_key=f"webhook.disabled:{endpoint.pk}:{stamp}",
        )
