"""Click-through: the figures a number on the dashboard can open (which rollup rows or
leads are behind it, optionally narrowed to one bucket of a breakdown), and those records."""

from __future__ import annotations

from collections.abc import Sequence

from handoff.kpis.base import KpiFilter, _one, _rows, _where
from handoff.models import Handoff

# figure -> (the rollup condition, what the records are)
HANDOFF_FIGURES = {
    "sqls": "is_latest",
    "accepted": "is_latest AND lead_accepted",
    "opportunities": "is_latest AND lead_converted",
    "won": "is_latest AND lead_won",
    "deals": "deal_id IS NOT NULL",
    "won_deals": "deal_outcome = 'won'",
    "rejected": "status = 'rejected'",
    "accept_missed": "accept_sla = 'missed'",
    "touch_missed": "touch_sla = 'missed'",
    "breaches": "open_breach",
    "backlog": "status = 'pending'",
    "speed_accepted": "minutes_to_accept IS NOT NULL",
    "speed_touched": "minutes_to_touch IS NOT NULL",
}
# Figures of the cohort (lead created in the period); the others follow handed_off_at.
COHORT_FIGURES = {"sqls", "accepted", "opportunities", "won", "deals", "won_deals"}
# Figures that are the state now: no period.
NOW_FIGURES = {"breaches", "backlog"}
# Narrowing a figure to one bucket of a breakdown: by -> column.
BREAKDOWNS = {
    "reason": "reject_reason",
    "campaign": "campaign_id",
    "source": "source",
    "rule": "rule_name",
    "rep": "rep_id",
    "team": "team_id",
    "tier": "sla_tier",
}


def kpi_handoff_ids(
    f: KpiFilter, *, figure: str, by: str = "", key: str = "", limit: int = 200
) -> tuple[int, list[int]]:
    """The handoffs behind a handoff-side figure (optionally one bucket of a breakdown):
    how many, and the first ``limit`` ids, newest first. Raises KeyError on an unknown
    figure or breakdown."""
    condition = HANDOFF_FIGURES[figure]
    if figure in NOW_FIGURES:
        period = None
    else:
        period = "lead_created_at" if figure in COHORT_FIGURES else "handed_off_at"
    where, params = _where(f, period=period)
    if by == "touched":  # deals credited to a campaign by attribution (any model)
        credit = "campaign_id IS NULL" if key == "" else "campaign_id = %(key)s"
        where += f" AND deal_id IN (SELECT deal_id FROM handoff_kpiattribution WHERE {credit})"  # noqa: S608
        params["key"] = int(key) if key else None
    elif by:
        column = BREAKDOWNS[by]
        if key == "" and column in ("campaign_id", "rep_id"):
            where += f" AND {column} IS NULL"
        else:
            where += f" AND {column} = %(key)s"
            params["key"] = int(key) if column.endswith("_id") else key
    sql = f"FROM handoff_kpihandofffact WHERE {where} AND {condition}"
    (total,) = _one(f"SELECT count(*) {sql}", params)
    ids = [
        row[0]
        for row in _rows(
            f"SELECT handoff_id {sql} ORDER BY handed_off_at DESC LIMIT %(limit)s",
            {**params, "limit": limit},
        )
    ]
    return total, ids


def kpi_handoffs(ids: Sequence[int]) -> list[Handoff]:
    """The handoffs of ``ids`` in that order, with what the records page shows."""
    found = Handoff.objects.select_related("lead", "team", "assigned_to", "deal").in_bulk(ids)
    return [found[i] for i in ids if i in found]


def kpi_lead_ids(
    f: KpiFilter, *, figure: str, campaign: str | None = None, limit: int = 200
) -> tuple[int, list[int]]:
    """The leads behind ``leads`` or ``mqls`` of the waterfall (campaign return too): the
    rollup keeps no lead ids for plain leads, so this reads the lead table, one period
    and campaign at a time (a click, not every page view)."""
    from marketing.models import Lead

    leads = Lead.objects.filter(created_at__gte=f.since, created_at__lt=f.until)
    if figure == "mqls":
        leads = leads.filter(mql_at__isnull=False)
    elif figure != "leads":
        raise KeyError(figure)
    if f.campaign_id is not None:
        leads = leads.filter(campaign_id=f.campaign_id)
    if f.campaign_ids is not None:
        leads = leads.filter(campaign_id__in=f.campaign_ids)
    if f.source:
        leads = leads.filter(source=f.source)
    if campaign is not None:  # one row of the campaign table; "" is "no campaign"
        leads = leads.filter(campaign_id=int(campaign)) if campaign else leads.filter(campaign=None)
    return leads.count(), list(leads.order_by("-created_at").values_list("pk", flat=True)[:limit])
