"""Writes of the dashboard: managers' monthly targets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from handoff.models import KpiTarget
from leadflow.errors import ApplicationError, NotAllowedError
from leadflow.models import Team, User


@transaction.atomic
def target_set(
    *, user: User, month: dt.date, team_id: int | None, metric: str, value: Decimal
) -> KpiTarget:
    """Set (or replace) the target of a month, team (None: everybody) and measure."""
    _check_team(user, team_id)
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
def target_delete(*, user: User, target_id: int) -> None:
    target = KpiTarget.objects.select_for_update().filter(pk=target_id).first()
    if target is None:
        raise ApplicationError(_("This target no longer exists."))
    _check_team(user, target.team_id)
    target.delete()


def _check_team(user: User, team_id: int | None) -> None:
    """A team's manager sets their own team's targets; everybody's (and other teams')
    are for admins and managers without a team (marketing's)."""
    if user.is_admin_role or user.team_id is None:
        return
    if team_id != user.team_id:
        raise NotAllowedError(_("You can set the targets of your own team only."), field="team")
