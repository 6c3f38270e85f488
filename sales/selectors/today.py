"""The Today page: a user's due and upcoming tasks, stale deals and recent closes."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import (
    DateTimeField,
    ExpressionWrapper,
    F,
    Value,
)
from django.utils import timezone

from leadflow.models import User
from sales.models import (
    Deal,
    PipelineStage,
    Task,
)


@dataclass(frozen=True)
class StaleDeal:
    deal: Deal
    idle_days: int


def tasks_due_for(*, user: User, until: datetime.datetime) -> list[Task]:
    """The user's open tasks due before ``until`` (overdue ones first)."""
    return list(
        Task.objects.filter(owner=user, done_at=None, due_at__lt=until)
        .select_related("deal", "contact", "account")
        .order_by("due_at", "id")[:200]
    )


def tasks_upcoming_for(*, user: User, after: datetime.datetime) -> list[Task]:
    return list(
        Task.objects.filter(owner=user, done_at=None, due_at__gte=after)
        .select_related("deal", "contact", "account")
        .order_by("due_at", "id")[:20]
    )


def stale_deals_for(*, user: User, now: datetime.datetime | None = None) -> list[StaleDeal]:
    """The user's open deals with no activity for longer than their stage allows."""
    now = now or timezone.now()
    limit = ExpressionWrapper(
        F("last_activity_at") + F("stage__stale_after_days") * Value(datetime.timedelta(days=1)),
        output_field=DateTimeField(),
    )
    deals = (
        Deal.objects.filter(owner=user, closed_at=None, stage__outcome=PipelineStage.Outcome.OPEN)
        .annotate(stale_at=limit)
        .filter(stale_at__lt=now)
        .select_related("account", "stage")
        .order_by("last_activity_at", "id")[:100]
    )
    return [StaleDeal(deal=deal, idle_days=(now - deal.last_activity_at).days) for deal in deals]


def deals_closed_recently_for(*, user: User, since: datetime.datetime) -> list[Deal]:
    return list(
        Deal.objects.filter(owner=user, closed_at__gte=since)
        .select_related("account", "stage")
        .order_by("-closed_at")[:20]
    )
