"""The API's background work: webhook deliveries and the purge of old idempotency keys."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from leadflow.api import idempotency, webhooks


@shared_task(name="leadflow.dispatch_webhooks")
def dispatch_webhooks() -> int:
    """Send the due deliveries to the workers (beat runs this every few seconds; an emit
    runs it at once after its commit). A delivery enqueued twice is sent once: the
    worker claims it first."""
    ids = webhooks.deliveries_due()
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return len(ids)


@shared_task(
    name="leadflow.deliver_webhook",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def deliver_webhook(delivery_id: int) -> None:
    webhooks.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="leadflow.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency.keys_purge()
