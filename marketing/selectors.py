"""Marketing reads."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from leadflow.models import Event
from marketing.models import Campaign, Lead, Stage


def email_hash(email: str) -> str:
    """The suppression list's key: SHA-256 of the normalised (trimmed, lower-case) address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def leads_unscored_ids(*, older_than_seconds: int, limit: int = 1000) -> list[int]:
    """Leads whose scoring never ran (Redis was down, a worker died): the sweeper's input."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        Lead.objects.filter(scored_at=None, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )


def campaign_list() -> QuerySet[Campaign]:
    reached = (Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER)
    return Campaign.objects.select_related("owner").annotate(
        lead_count=Count("leads"),
        mql_count=Count("leads", filter=Q(leads__mql_at__isnull=False)),
        sql_count=Count("leads", filter=Q(leads__sql_at__isnull=False)),
        open_count=Count("leads", filter=Q(leads__stage__in=reached)),
    )


def lead_list(
    *, stage: str = "", campaign_id: int | None = None, search: str = ""
) -> QuerySet[Lead]:
    leads = Lead.objects.select_related("campaign", "owner")
    if stage:
        leads = leads.filter(stage=stage)
    if campaign_id:
        leads = leads.filter(campaign_id=campaign_id)
    if search:
        leads = leads.filter(
            Q(email__icontains=search)
            | Q(last_name__icontains=search)
            | Q(first_name__icontains=search)
            | Q(company__icontains=search)
        )
    return leads.order_by("-created_at", "-id")


def lead_timeline(*, lead: Lead) -> list[dict[str, object]]:
    """Touchpoints and events of one lead, oldest first."""
    items: list[dict[str, object]] = [
        {"at": touch.created_at, "kind": "touchpoint", "item": touch}
        for touch in lead.touchpoints.select_related("campaign")
    ]
    items += [
        {"at": event.created_at, "kind": "event", "item": event}
        for event in Event.objects.filter(
            subject_type="marketing.lead", subject_id=lead.pk
        ).select_related("actor")
    ]
    return sorted(items, key=lambda item: item["at"])  # type: ignore[return-value,arg-type]
