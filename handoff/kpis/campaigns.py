"""Campaign return: per campaign, its cost in the period, what its leads became, and the
pipeline and revenue credited to it under each attribution model."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from handoff.kpis.base import KpiFilter, _rows, _where
from marketing.models import Campaign

ATTRIBUTION_MODELS = (
    ("first_touch", gettext_lazy("First touch")),
    ("last_touch", gettext_lazy("Last touch")),
    ("linear", gettext_lazy("Linear")),
    ("u_shaped", gettext_lazy("U-shaped (40/20/40)")),
    ("w_shaped", gettext_lazy("W-shaped (30/30/30 + 10)")),
)


@dataclass(frozen=True)
class CampaignReturn:
    campaign_id: int | None
    name: str
    cost: Decimal
    leads: int | None
    mqls: int | None
    sqls: int
    won: int
    pipeline: dict[str, float]  # by attribution model
    revenue: dict[str, float]

    def _per(self, count: int | None) -> Decimal | None:
        return (self.cost / count).quantize(Decimal("0.01")) if count else None

    @property
    def cost_per_lead(self) -> Decimal | None:
        return self._per(self.leads)

    @property
    def cost_per_mql(self) -> Decimal | None:
        return self._per(self.mqls)

    @property
    def cost_per_sql(self) -> Decimal | None:
        return self._per(self.sqls)

    @property
    def cost_per_won(self) -> Decimal | None:
        return self._per(self.won)


def campaign_cost_in(campaign: Campaign, start: dt.date, end: dt.date) -> Decimal:
    """The campaign's actual cost that falls in [start, end]: spread evenly over its run
    (starts_on to ends_on, or to ``end`` if still running); all of it if undated."""
    if campaign.starts_on is None:
        return campaign.cost
    run_end = campaign.ends_on or max(end, campaign.starts_on)
    run_days = (run_end - campaign.starts_on).days + 1
    overlap = (min(end, run_end) - max(start, campaign.starts_on)).days + 1
    if run_days <= 0 or overlap <= 0:
        return Decimal(0)
    return (campaign.cost * overlap / run_days).quantize(Decimal("0.01"))


def kpi_campaign_return(f: KpiFilter) -> list[CampaignReturn]:
    """Per first campaign of the period's leads: cost (the share of the period), leads,
    MQLs, SQLs and won deals, and the cohort's pipeline and revenue credited to each
    campaign under every attribution model."""
    counts: dict[int | None, dict[str, Any]] = {}

    def slot(campaign: int | None) -> dict[str, Any]:
        return counts.setdefault(campaign, {"leads": 0, "mqls": 0, "sqls": 0, "won": 0})

    if f.has_lead_side:
        where, params = _where(f, period="day", team=None, rep=None)
        for campaign, leads, mqls in _rows(
            f"SELECT campaign_id, sum(leads), sum(mqls) FROM handoff_kpileadday "  # noqa: S608
            f"WHERE {where} GROUP BY campaign_id",
            params,
        ):
            slot(campaign).update(leads=leads, mqls=mqls)
    where, params = _where(f, period="lead_created_at")
    for campaign, sqls, won in _rows(
        f"""
        SELECT campaign_id, count(*) FILTER (WHERE is_latest),
               count(*) FILTER (WHERE is_latest AND lead_won)
        FROM handoff_kpihandofffact WHERE {where} GROUP BY campaign_id
        """,  # noqa: S608
        params,
    ):
        slot(campaign).update(sqls=sqls, won=won)
    models = [name for name, _label in ATTRIBUTION_MODELS]
    sums = ", ".join(f"sum(amount * {m}), sum(amount * {m}) FILTER (WHERE won)" for m in models)
    where, params = _where(f, period="lead_created_at", campaign="lead_campaign_id")
    credit: dict[int | None, tuple[Any, ...]] = {
        row[0]: row[1:]
        for row in _rows(
            f"SELECT campaign_id, {sums} FROM handoff_kpiattribution "  # noqa: S608
            f"WHERE {where} GROUP BY campaign_id",
            params,
        )
    }
    for campaign in credit:
        slot(campaign)
    campaigns = {c.pk: c for c in Campaign.objects.filter(pk__in=[k for k in counts if k])}
    result = []
    for campaign_id, c in counts.items():
        campaign = campaigns.get(campaign_id) if campaign_id else None
        values = credit.get(campaign_id, (0,) * (2 * len(models)))
        result.append(
            CampaignReturn(
                campaign_id=campaign_id,
                name=campaign.name if campaign else _("No campaign"),
                cost=campaign_cost_in(campaign, f.start, f.end) if campaign else Decimal(0),
                leads=c["leads"] if f.has_lead_side else None,
                mqls=c["mqls"] if f.has_lead_side else None,
                sqls=c["sqls"],
                won=c["won"],
                pipeline={m: float(values[2 * i] or 0) for i, m in enumerate(models)},
                revenue={m: float(values[2 * i + 1] or 0) for i, m in enumerate(models)},
            )
        )
    result.sort(key=lambda r: (-(r.leads or 0), -r.sqls, r.name))
    return result
