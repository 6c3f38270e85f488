"""Scoring one lead: its ledger brought up to date with every active rule, and its
engagement started again from zero when sales recycles it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from leadflow import bus
from marketing.models import Lead, ScoringChange
from marketing.scoring.ledger import RunResult, active_rules, ledger_run, lock_for_one_lead
from marketing.scoring.rules import config


@transaction.atomic
def lead_score(*, lead_id: int) -> Lead | None:
    """Bring one lead's ledger up to date with every active rule, then its scores, grade
    and stage. Idempotent. Publishes ``lead.mql`` when the lead becomes an MQL (the
    thresholds, or a fast-track activity), so the handoff follows in the same transaction.
    """
    lock_for_one_lead()
    lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
    if lead is None:
        return None
    if lead.erased_at is not None:
        # Erasure emptied the fields fit rules read (title, email domain): re-scoring
        # would move the grade of an anonymous lead and, with it, the KPIs it still counts in.
        return lead
    result = _ledger_run_one(lead_id, mark_scored=True)
    if result.new_mql_ids:
        bus.publish("lead.mql", lead_id=lead_id)
    return Lead.objects.get(pk=lead_id)


@transaction.atomic
def lead_engagement_reset(*, lead_id: int, reason: str) -> None:
    """Start the lead's engagement again from zero: its activity so far, and a fast-track
    request among it, no longer count (the ledger writes the corrections, and the score
    event says why). Called when sales recycles the lead; a pass over every lead never
    qualifies a recycled one, so this cannot hand it back by itself.
    """
    lock_for_one_lead()
    # The clock of the app, as for touchpoints: not the transaction's start.
    now = timezone.now()
    Lead.objects.filter(pk=lead_id).update(
        engagement_reset_at=now, fast_tracked=False, updated_at=now
    )
    _ledger_run_one(lead_id, rule=reason)


def _ledger_run_one(lead_id: int, **options: Any) -> RunResult:
    """One lead's ledger against every active rule, at the current rule version; the
    caller holds the scoring lock."""
    version = ScoringChange.objects.aggregate(last=Max("version"))["last"] or 0
    return ledger_run(
        lo=lead_id,
        hi=lead_id,
        rules=active_rules(),
        cfg=config(),
        reconcile_rule_ids=None,
        version=version,
        **options,
    )
