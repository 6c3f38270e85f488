from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import translation

from marketing import imports, selectors, services


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


# A million-row file takes about a minute; the limits leave room for slow disks and ten
# times that, and stay below the broker's visibility timeout (3600 s), so Redis never
# hands a running import to a second worker. A second delivery would do nothing anyway.
@shared_task(name="marketing.run_import", soft_time_limit=1800, time_limit=1900)
def run_import(job_id: int, language: str = "") -> None:
    """Run one CSV import; ``language`` is that of the person who started it, for the
    reasons written into the report of rejected rows."""
    with translation.override(language or settings.LANGUAGE_CODE):
        imports.import_run(job_id=job_id)
