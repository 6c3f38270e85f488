"""The chart data of the dashboard: JSON blocks drawn by static/js/dashboard.js, built
from the same KPIs as the tables, each bar or slice linking to its records."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from handoff import kpis
from handoff.dashboard_views.tables import Links


def _charts(
    waterfall: kpis.Waterfall,
    speed: kpis.Speed,
    rejections: kpis.Rejections,
    campaigns: list[kpis.CampaignReturn],
    balance: list[kpis.Balance],
    velocity: list[kpis.Month],
    link: Links,
) -> dict[str, Any]:
    stages = [s for s in waterfall.stages if s.count is not None]
    credited = [c for c in campaigns if any(c.pipeline.values())][:10]
    return {
        "waterfall": {
            "type": "bar",
            "labels": [s.label for s in stages],
            "datasets": [{"label": _("Count"), "data": [s.count for s in stages]}],
            "links": [link(s.key) for s in stages],
        },
        "speed": {
            "type": "bar",
            "labels": [_("To accept"), _("To first touch")],
            "datasets": [
                {"label": _("Median, minutes"), "data": [speed.accept_median, speed.touch_median]},
                {"label": _("p90, minutes"), "data": [speed.accept_p90, speed.touch_p90]},
            ],
            "links": [link("speed_accepted"), link("speed_touched")],
        },
        "rejections": {
            "type": "doughnut",
            "labels": [b.label for b in rejections.by_reason],
            "datasets": [{"label": _("Rejected"), "data": [b.count for b in rejections.by_reason]}],
            "links": [link("rejected", "reason", b.key) for b in rejections.by_reason],
        },
        "attribution": {
            "type": "bar",
            "labels": [c.name for c in credited],
            "datasets": [
                {"label": str(label), "data": [round(c.pipeline[m], 2) for c in credited]}
                for m, label in kpis.ATTRIBUTION_MODELS
            ],
            "links": [link("deals", "touched", c.campaign_id or "") for c in credited],
        },
        "balance": {
            "type": "bar",
            "labels": [b.team for b in balance],
            "datasets": [
                {"label": _("SQLs a day"), "data": [round(b.inflow_per_day, 2) for b in balance]},
                {
                    "label": _("Answered a day"),
                    "data": [round(b.handled_per_day, 2) for b in balance],
                },
                {"label": _("Backlog"), "data": [b.backlog for b in balance]},
            ],
            "links": [link("backlog", "team", b.team_id) for b in balance],
        },
        "velocity": {
            "type": "line",
            "labels": [m.month.strftime("%Y-%m") for m in velocity],
            "datasets": [
                *(
                    [{"label": "MQL", "data": [m.mqls for m in velocity]}]
                    if velocity and velocity[0].mqls is not None
                    else []
                ),
                {"label": "SQL", "data": [m.sqls for m in velocity]},
            ],
        },
    }
