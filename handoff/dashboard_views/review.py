"""The weekly alignment review page: a week against the week before, for a team or all."""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from handoff import kpis, review, rollups
from handoff.dashboard_views.base import _freshness, _today, _user
from leadflow.http import HtmxHttpRequest
from leadflow.models import Role, Team
from leadflow.permissions import role_required


@role_required(Role.MANAGER, Role.MARKETER)
def dashboard_review(request: HtmxHttpRequest) -> HttpResponse:
    """Last week (or ``week``, a Monday) against the week before, for a team or all."""
    user = _user(request)
    week = review.week_of(_today())
    error = ""
    if request.GET.get("week"):
        try:
            asked = dt.date.fromisoformat(request.GET["week"])
        except ValueError:
            error = _("The week must be a date like 2026-11-16.")
        else:
            week = asked - dt.timedelta(days=asked.weekday())
    team_id: int | None = None
    raw_team = request.GET.get(
        "team", "" if user.role == Role.MARKETER else str(user.team_id or "")
    )
    if raw_team:
        try:
            team_id = int(raw_team)
        except ValueError:
            error = _("Pick a team from the list.")
        if team_id is not None and not Team.objects.filter(pk=team_id).exists():
            team_id, error = None, _("Pick a team from the list.")
    f = kpis.filter_for(user, start=week, end=week + dt.timedelta(days=6), team_id=team_id)
    context = {
        "review": review.weekly_review(f),
        "teams": Team.objects.all(),
        "team_id": team_id,
        "error": error,
        "previous_week": week - dt.timedelta(days=7),
        "next_week": week + dt.timedelta(days=7) if week < review.week_of(_today()) else None,
        **_freshness(rollups.rollups_refreshed_at()),
    }
    return render(request, "dashboard/review.html", context, status=400 if error else 200)
