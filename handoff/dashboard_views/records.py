"""The records page: the leads or handoffs behind one figure of the dashboard."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from handoff import kpis
from handoff.dashboard_views.base import VIEWERS, _filters, _user
from handoff.models import RejectReason
from leadflow.http import HtmxHttpRequest
from leadflow.models import Role, Team, User
from leadflow.permissions import role_required
from marketing.models import Campaign, Lead


def _figure_title(figure: str, by: str, key: str) -> str:
    """What the records page lists, in words: "Rejected · Reason: No budget"."""
    figures = {
        "leads": _("Leads"),
        "mqls": "MQL",
        "sqls": "SQL",
        "accepted": _("Accepted"),
        "opportunities": _("Opportunities"),
        "won": _("Won"),
        "deals": _("Deals (pipeline)"),
        "won_deals": _("Won deals"),
        "rejected": _("Rejected"),
        "accept_missed": _("Accept deadline missed"),
        "touch_missed": _("First-touch deadline missed"),
        "breaches": _("Open breaches"),
        "backlog": _("Backlog"),
        "speed_accepted": _("Accepted (speed to lead)"),
        "speed_touched": _("Touched (speed to lead)"),
    }
    title = figures.get(figure, figure)
    if not by:
        return title
    value = key or "—"
    if by in ("campaign", "touched"):
        value = (
            str(Campaign.objects.filter(pk=key).first() or _("No campaign"))
            if key
            else _("No campaign")
        )
    elif by == "team" and key.isdigit():
        value = str(Team.objects.filter(pk=key).first() or key)
    elif by == "rep":
        rep = User.objects.filter(pk=key).first() if key.isdigit() else None
        value = (rep.get_full_name() or rep.username) if rep else _("Team pool")
    elif by == "reason":
        value = str(dict(RejectReason.choices).get(key, key))
    labels = {
        "campaign": _("Campaign"),
        "touched": _("Credited to campaign"),
        "team": _("Team"),
        "rep": _("Rep"),
        "reason": _("Reason"),
        "source": _("Source"),
        "rule": _("Rule"),
        "tier": _("Tier"),
    }
    return f"{title} · {labels.get(by, by)}: {value}"


@role_required(*VIEWERS)
def dashboard_records(request: HtmxHttpRequest) -> HttpResponse:
    """The records behind one figure of the dashboard, under the same filters."""
    user = _user(request)
    f = _filters(request)
    figure = request.GET.get("figure", "")
    by, key = request.GET.get("by", ""), request.GET.get("key", "")
    leads: list[Lead] = []
    handoffs: list[Any] = []
    try:
        if figure in ("leads", "mqls"):
            if not f.kpi.has_lead_side:
                raise KeyError(figure)
            total, ids = kpis.kpi_lead_ids(
                f.kpi, figure=figure, campaign=request.GET.get("campaign_row")
            )
            found = Lead.objects.select_related("campaign").in_bulk(ids)
            leads = [found[i] for i in ids if i in found]
        else:
            total, ids = kpis.kpi_handoff_ids(f.kpi, figure=figure, by=by, key=key)
            handoffs = kpis.kpi_handoffs(ids)
    except (KeyError, ValueError):
        return render(
            request,
            "dashboard/records.html",
            {"error": _("This figure is not known; go back to the dashboard."), "filters": f},
            status=400,
        )
    context = {
        "filters": f,
        "title": _figure_title(figure, by, key),
        "figure": figure,
        "by": by,
        "key": key,
        "total": total,
        "leads": leads,
        "handoffs": handoffs,
        "shown": len(leads) + len(handoffs),
        # The handoff page opens for a rep's own, a manager's team's, or an admin.
        "sales_links": user.role != Role.MARKETER,
        "team_only": None if user.is_admin_role else user.team_id,
    }
    return render(request, "dashboard/records.html", context)
