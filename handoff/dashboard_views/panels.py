"""The dashboard page: every panel's KPIs, tables, charts and HTML computed for the
filters, kept in the cache until the next refresh of the rollups and warmed after it."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from handoff import kpis, rollups
from handoff.dashboard_forms import DEFAULT_DAYS
from handoff.dashboard_views.base import VIEWERS, _filters, _freshness, _today, _user
from handoff.dashboard_views.charts import _charts
from handoff.dashboard_views.tables import (
    Links,
    _attainment_table,
    _attribution_table,
    _balance_table,
    _breaches_table,
    _campaign_table,
    _rejections_table,
    _targets_table,
    _velocity_table,
    _waterfall_table,
)
from leadflow.http import HtmxHttpRequest
from leadflow.models import Role, Team
from leadflow.permissions import role_required

logger = logging.getLogger(__name__)

# A computed page lives this long in the cache (beat refreshes the rollups every 2 min).
CACHE_SECONDS = 600


def _panels(k: kpis.KpiFilter, query: str, refreshed_at: dt.datetime | None) -> dict[str, Any]:
    """Every panel's KPIs, tables, chart data and HTML for the filters, from the cache when
    this filter was already computed since the last refresh of the rollups.

    The numbers change only when the rollups do, so the key holds the refresh time: the
    next refresh makes every entry unreachable (they expire soon after). Ages (the
    backlog's) are as of the refresh, like everything else on the page. Without Redis the
    panels are computed every time.
    """
    key = (
        "kpi-panels:"
        + hashlib.sha256(
            repr((k, query, refreshed_at, _today(), get_language())).encode()
        ).hexdigest()
    )
    if refreshed_at is None:  # nothing built yet: nothing worth keeping
        return _rendered(_compute_panels(k, query, now=timezone.now()))
    try:
        cached = cache.get(key)
    except Exception:  # Redis is down: compute
        logger.warning("the dashboard cache is unavailable", exc_info=True)
        cached = None
    if cached is not None:
        return cast(dict[str, Any], cached)
    panels = _rendered(_compute_panels(k, query, now=refreshed_at))
    try:
        cache.set(key, panels, timeout=CACHE_SECONDS)
    except Exception:
        logger.warning("the dashboard cache is unavailable", exc_info=True)
    return panels


def dashboard_cache_warm() -> int:
    """After a refresh: compute the default view (the last 90 days, all teams and each
    team alone) in every language, so the first manager to open the dashboard after a
    refresh finds it warm. Returns how many views were computed.

    The cache keys must be the ones a request makes: the same filter and query string as
    ``_filters`` builds for a manager who picked only the period and maybe a team.
    """
    refreshed_at = rollups.rollups_refreshed_at()
    if refreshed_at is None:
        return 0
    today = _today()
    start = today - dt.timedelta(days=DEFAULT_DAYS - 1)
    warmed = 0
    for team_id in [None, *Team.objects.values_list("pk", flat=True)]:
        query = urlencode({"period": str(DEFAULT_DAYS)} | ({"team": team_id} if team_id else {}))
        k = kpis.KpiFilter(start=start, end=today, team_id=team_id)
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                _panels(k, query, refreshed_at)
            warmed += 1
    return warmed


def _rendered(panels: dict[str, Any]) -> dict[str, Any]:
    """The panels with their HTML, rendered once and kept with them: a warm page then
    renders only its frame (filters and freshness) around it."""
    html = render_to_string("dashboard/_panels.html", panels)
    return panels | {"panels_html": mark_safe(html)}  # noqa: S308 -- the template escaped it


def _compute_panels(k: kpis.KpiFilter, query: str, *, now: dt.datetime) -> dict[str, Any]:
    link = Links(query)
    waterfall = kpis.kpi_waterfall(k)
    speed = kpis.kpi_speed_to_lead(k)
    breach_count, breaches = kpis.kpi_open_breaches(k, limit=20)
    rejections = kpis.kpi_rejections(k)
    campaigns = kpis.kpi_campaign_return(k)
    balance = kpis.kpi_team_balance(k, now=now)
    velocity = kpis.kpi_lead_velocity(k, today=_today())
    month, progress = kpis.kpi_targets(k, today=_today())
    tables = {
        t.key: t
        for t in (
            _waterfall_table(waterfall, link),
            _attainment_table(speed, link),
            _breaches_table(breaches),
            _rejections_table(rejections, link),
            _campaign_table(campaigns, link),
            _attribution_table(campaigns, link),
            _balance_table(balance, link),
            _velocity_table(velocity),
            _targets_table(progress),
        )
    }
    for table in tables.values():
        url = reverse("handoff:dashboard_export", args=[table.key])
        table.export_url = f"{url}?{query}" if query else url
    return {
        "waterfall": waterfall,
        "speed": speed,
        "breach_count": breach_count,
        "rejections": rejections,
        "campaigns": campaigns,
        "balance": balance,
        "velocity": velocity,
        "target_month": month,
        "targets": progress,
        "tables": tables,
        "cards": [(s, link(s.key)) for s in waterfall.stages if s.count is not None],
        "links": {
            stage.key: link(stage.key) for stage in waterfall.stages if stage.count is not None
        }
        | {
            "breaches": link("breaches"),
            "deals": link("deals"),
            "won_deals": link("won_deals"),
            "rejected": link("rejected"),
            "speed_accepted": link("speed_accepted"),
            "speed_touched": link("speed_touched"),
        },
        "charts": _charts(waterfall, speed, rejections, campaigns, balance, velocity, link),
    }


def _first_refresh(refreshed_at: dt.datetime | None) -> None:
    """Never built (a fresh install): ask the worker to build the rollups now rather than
    wait for beat. The page says so and polls."""
    if refreshed_at is None:
        from handoff.tasks import kpi_rollups_refresh
        from leadflow.services import enqueue_on_commit

        enqueue_on_commit(kpi_rollups_refresh)


@role_required(*VIEWERS)
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    f = _filters(request)
    refreshed_at = rollups.rollups_refreshed_at()
    _first_refresh(refreshed_at)
    context = {
        "filters": f,
        "form": f.form,
        "kpi": f.kpi,
        "is_manager": user.role in (Role.MANAGER, Role.ADMIN) or user.is_superuser,
        "own_view": f.kpi.rep_id is not None or f.kpi.campaign_ids is not None,
        **_freshness(refreshed_at),
        **_panels(f.kpi, f.query, refreshed_at),
    }
    if request.htmx and request.htmx.target == "panels":
        return render(request, "dashboard/dashboard.html#panels", context)
    return render(request, "dashboard/dashboard.html", context)
