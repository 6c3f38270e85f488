"""Writes of the dashboard: managers' monthly targets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from handoff.models import KpiTarget
from leadflow.errors import ApplicationError
from leadflow.models import Team, User


@transaction.atomic
def target_set(
    *, user: User, month: dt.date, team_id: int | None, metric: str, value: Decimal
) -> KpiTarget:
    """Set (or replace) the target of a month, team (None: everybody) and measure."""
    if metric not in KpiTarget.Metric.values:
        raise ApplicationError(_("Unknown measure."), field="metric")
    if value <= 0:
        raise ApplicationError(_("A target must be above zero."), field="value")
    if team_id is not None and not Team.objects.filter(pk=team_id).exists():
        raise ApplicationError(_("No team has this id."), field="team")
    # team_id may be None ("everybody"); the unique constraint treats NULLs as equal.
    lookup: dict[str, Any] = {"month": month.replace(day=1), "team_id": team_id, "metric": metric}
    target, _created = KpiTarget.objects.update_or_create(
        **lookup, defaults={"value": value, "set_by": user}
    )
    return target


@transaction.atomic
def target_delete(*, target_id: int) -> None:
    deleted, _counts = KpiTarget.objects.filter(pk=target_id).delete()
    if not deleted:
        raise ApplicationError(_("This target no longer exists."))
