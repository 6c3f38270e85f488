"""Scoring's safety net: the leads whose scoring never ran, for the periodic sweeper."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from marketing.models import Lead


def leads_unscored_ids(*, older_than_seconds: int, limit: int = 1000) -> list[int]:
    """Leads whose scoring never ran (Redis was down, a worker died): the sweeper's input."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        Lead.objects.filter(scored_at=None, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )
