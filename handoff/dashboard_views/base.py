"""What every dashboard page shares: who may look, today's date, the filters (period,
team, campaign, source) parsed from the query string, and how fresh the rollups are."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from handoff import kpis
from handoff.dashboard_forms import DEFAULT_DAYS, KpiFilterForm
from leadflow.http import HtmxHttpRequest
from leadflow.models import Role, Team, User
from marketing.models import Campaign

VIEWERS = (Role.MANAGER, Role.MARKETER, Role.REP)
# Older numbers than this are shown as stale (beat refreshes every two minutes).
STALE_AFTER = dt.timedelta(minutes=5)


def _user(request: HtmxHttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


# --- Filters ---------------------------------------------------------------------------


@dataclass
class Filters:
    form: KpiFilterForm
    kpi: kpis.KpiFilter
    query: str  # the filters as a query string, for links and exports


def _filters(request: HtmxHttpRequest, data: QueryDict | None = None) -> Filters:
    user = _user(request)
    data = request.GET if data is None else data
    is_rep = user.role == Role.REP and not user.is_superuser
    teams = [] if is_rep else list(Team.objects.values_list("pk", "name"))
    campaigns = Campaign.objects.order_by("name")
    if user.role == Role.MARKETER and not user.is_superuser:
        campaigns = campaigns.filter(owner=user)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT source FROM handoff_kpileadday WHERE source <> '' ORDER BY 1"
        )
        sources = [row[0] for row in cursor.fetchall()]
    # Always bound, with the default period when none is asked, so the page shows it.
    data = data.copy()
    data.setdefault("period", str(DEFAULT_DAYS))
    form = KpiFilterForm(
        data,
        teams=teams,
        campaigns=list(campaigns.values_list("pk", "name")),
        sources=sources,
    )
    start, end = form.dates(_today())
    kpi = kpis.filter_for(
        user,
        start=start,
        end=end,
        team_id=form.value("team"),
        campaign_id=form.value("campaign"),
        source=form.value("source") or "",
    )
    # The filters as they were understood, for the links and exports of the page.
    clean = form.cleaned_data if form.is_valid() else {}
    keep = {k: clean.get(k) for k in ("period", "team", "campaign", "source")}
    if clean.get("period") == "custom":
        keep |= {"start": clean["start"].isoformat(), "end": clean["end"].isoformat()}
    query = urlencode({k: v for k, v in keep.items() if v not in (None, "")})
    return Filters(form=form, kpi=kpi, query=query)


def _freshness(refreshed_at: dt.datetime | None) -> dict[str, Any]:
    now = timezone.now()
    return {
        "refreshed_at": refreshed_at,
        "age_minutes": None
        if refreshed_at is None
        else int((now - refreshed_at).total_seconds() // 60),
        "stale": refreshed_at is None or now - refreshed_at > STALE_AFTER,
    }
