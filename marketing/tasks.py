from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import translation

from marketing import imports, predictive, scoring, selectors


@shared_task(
    name="marketing.score_leads",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def score_leads(lead_ids: list[int]) -> None:
    """Score these leads. Capture sends them batched (``enqueue_batched_on_commit``),
    the sweeper and the API in lists of their own; a single lead is a list of one."""
    for lead_id in lead_ids:
        scoring.lead_score(lead_id=lead_id)


# Leads per message of the sweeper: after an outage of the broker there are many, and a
# message costs more than scoring one lead.
SWEEP_BATCH = 50


@shared_task(name="marketing.sweep_unscored_leads")
def sweep_unscored_leads() -> int:
    """Re-enqueue scoring for leads whose task never ran; scoring is idempotent."""
    ids = selectors.leads_unscored_ids(older_than_seconds=settings.LEADFLOW_SWEEP_AFTER_SECONDS)
    for start in range(0, len(ids), SWEEP_BATCH):
        score_leads.delay(ids[start : start + SWEEP_BATCH])
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


# A million leads take about a minute; a tenth of the broker's visibility timeout (3600 s).
@shared_task(
    name="marketing.rescore_run",
    soft_time_limit=1800,
    time_limit=1900,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def rescore_run(job_id: int) -> None:
    """Re-score every lead after a rule change (or decay them); resumable and idempotent."""
    try:
        scoring.rescore_run(job_id=job_id)
    except OperationalError:
        raise  # transient: retried, and the job resumes where it stopped
    except Exception as exc:
        scoring.rescore_fail(job_id=job_id, error=repr(exc))
        raise


@shared_task(name="marketing.sweep_rescore_jobs")
def sweep_rescore_jobs() -> int:
    """Re-enqueue re-score jobs whose task never ran or died (no progress for 10 minutes)."""
    ids = scoring.rescore_stalled_ids(older_than_seconds=600)
    for job_id in ids:
        rescore_run.delay(job_id)
    return len(ids)


@shared_task(name="marketing.decay_engagement")
def decay_engagement() -> None:
    """The daily decay pass (beat, once a day); a second run the same day does nothing."""
    scoring.decay_start()


@shared_task(name="marketing.train_predictive", soft_time_limit=1800, time_limit=1900)
def train_predictive() -> None:
    """Nightly: learn the predictive model from closed leads and score every lead with it."""
    predictive.model_train_and_apply()
