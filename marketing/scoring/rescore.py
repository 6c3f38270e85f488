"""Re-score jobs: every lead brought to the rules after a change, in committed batches
that resume where they stopped, and the daily decay pass."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Max, Min, Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from leadflow import bus
from leadflow.services import enqueue_on_commit
from marketing.models import Lead, RescoreJob, ScoringChange, ScoringConfig
from marketing.scoring.ledger import (
    active_rules,
    ledger_reconcile,
    ledger_run,
    lock_for_batch,
    roomy_memory,
)
from marketing.scoring.rules import config

logger = logging.getLogger(__name__)

# Leads per transaction: big enough for set-wise SQL to pay, small enough that scoring
# tasks (which wait for a batch) and the progress bar move every few seconds.
RESCORE_BATCH = 100_000


def rescore_start(
    *,
    change: ScoringChange | None,
    rule_ids: list[int] | None,
    kind: str = RescoreJob.Kind.RULES,
    reason: str = "",
) -> RescoreJob:
    """A job over every lead that exists now, enqueued after commit."""
    from marketing.tasks import rescore_run

    bounds = Lead.objects.aggregate(first=Min("pk"), last=Max("pk"))
    first, last = bounds["first"] or 0, bounds["last"] if bounds["last"] is not None else -1
    job = RescoreJob.objects.create(
        kind=kind,
        change=change,
        reason=(reason or (f"rule change v{change.version}" if change else "re-score"))[:200],
        rule_ids=rule_ids,
        first_lead_id=first,
        last_lead_id=last,
        next_lead_id=first,
    )
    enqueue_on_commit(rescore_run, job.pk)
    return job


def rescore_run(*, job_id: int, batch: int = RESCORE_BATCH) -> RescoreJob | None:
    """Run (or resume) a re-score job, one committed batch of leads at a time.

    Idempotent: a re-delivered task resumes at ``next_lead_id``, and each batch's ledger
    corrections are computed against the ledger itself, so a batch run twice writes
    nothing the second time.
    """
    started = RescoreJob.objects.filter(
        pk=job_id, status__in=(RescoreJob.Status.QUEUED, RescoreJob.Status.RUNNING)
    ).update(
        status=RescoreJob.Status.RUNNING,
        started_at=Coalesce("started_at", Now()),
        progressed_at=Now(),
    )
    if not started:
        return None
    job = RescoreJob.objects.get(pk=job_id)
    version = job.change.version if job.change else 0
    start = job.next_lead_id
    if job.rule_ids != [] and start <= job.last_lead_id:
        # The ledger corrections first, in one pass over the leads still to do; then
        # the leads, batch by batch. Scoring tasks wait for the lock meanwhile, so no
        # lead is corrected twice; capture does not take it.
        began = time.monotonic()
        with transaction.atomic():
            lock_for_batch()
            roomy_memory()
            ledger_reconcile(
                lo=start,
                hi=job.last_lead_id,
                rules=active_rules(),
                rule_ids=job.rule_ids,
                version=version,
            )
        logger.info(
            "re-score job %s: ledger corrections in %.1f s", job_id, time.monotonic() - began
        )
    began = time.monotonic()
    while start <= job.last_lead_id:
        end = min(start + batch - 1, job.last_lead_id)
        with transaction.atomic():
            lock_for_batch()
            roomy_memory()
            result = ledger_run(
                lo=start,
                hi=end,
                rules=active_rules(),
                cfg=config(),
                reconcile_rule_ids=[],
                version=version,
                only_corrected_by=job.rule_ids or None,
                rule=job.reason,
                score_events=job.kind == RescoreJob.Kind.RULES,
            )
            if result.new_mql_ids:
                bus.publish("leads.mql", lead_ids=result.new_mql_ids)
            RescoreJob.objects.filter(pk=job_id).update(
                next_lead_id=end + 1,
                changed=F("changed") + result.leads_changed,
                new_mqls=F("new_mqls") + len(result.new_mql_ids),
                progressed_at=Now(),
            )
        start = end + 1
    elapsed = time.monotonic() - began
    logger.info("re-score job %s: leads brought to their ledger in %.1f s", job_id, elapsed)
    RescoreJob.objects.filter(pk=job_id).update(
        status=RescoreJob.Status.DONE, finished_at=Now(), progressed_at=Now()
    )
    return RescoreJob.objects.get(pk=job_id)


def rescore_fail(*, job_id: int, error: str) -> None:
    RescoreJob.objects.filter(pk=job_id).update(
        status=RescoreJob.Status.FAILED, error=error[:2000], finished_at=Now()
    )


def rescore_stalled_ids(*, older_than_seconds: int) -> list[int]:
    """Jobs whose task never ran or died mid-way: the sweeper re-enqueues them."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        RescoreJob.objects.filter(status__in=(RescoreJob.Status.QUEUED, RescoreJob.Status.RUNNING))
        .filter(Q(progressed_at__lt=cutoff) | Q(progressed_at=None, created_at__lt=cutoff))
        .values_list("pk", flat=True)
    )


@transaction.atomic
def decay_start() -> RescoreJob | None:
    """Today's decay pass over every lead, once a day (a second call the same day is a
    no-op). Engagement falls by the day; a lead that no longer qualifies is flagged."""
    today = timezone.now().date()
    cfg = ScoringConfig.objects.select_for_update().get(pk=config().pk)
    if cfg.decay_as_of == today:
        return None
    cfg.decay_as_of = today
    cfg.save(update_fields=["decay_as_of"])
    return rescore_start(
        change=None, rule_ids=[], kind=RescoreJob.Kind.DECAY, reason=f"daily decay {today}"
    )
