from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from marketing import selectors, services


@shared_task(
    name="marketing.score_lead",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def score_lead(lead_id: int) -> None:
    services.lead_score(lead_id=lead_id)


@shared_task(name="marketing.sweep_unscored_leads")
def sweep_unscored_leads() -> int:
    """Re-enqueue scoring for leads whose task never ran; scoring is idempotent."""
    ids = selectors.leads_unscored_ids(older_than_seconds=settings.LEADFLOW_SWEEP_AFTER_SECONDS)
    for lead_id in ids:
        score_lead.delay(lead_id)
    return len(ids)
