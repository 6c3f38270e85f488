"""The shared KPIs: one selector per KPI, each taking one :class:`KpiFilter`.

Every selector reads the rollups of ``handoff.rollups`` (never the live tables: no
full-table count per request), so the numbers are as old as the last refresh, which the
page shows. Definitions, once:

- The **waterfall** follows a cohort: the leads created in the period, and how far they
  got (MQL, SQL = handed off, accepted, opportunity = a deal, won). It counts leads: a
  lead handed off twice (recycled, or re-routed after an expiry) counts once, in the team
  and with the rep of its latest handoff, at the furthest stage any of its handoffs
  reached. Pipeline is the value of all the cohort's deals; won value of the won ones.
  Median days between stages are over the handoffs that made each step.
- **Speed to lead, rejections, team balance and SLA** follow the handoffs of the period
  (handed off in it). Open breaches and the backlog are the state now.
- Leads belong to no team until they are handed off: the team filter narrows the sales
  side (SQL onwards), not the lead and MQL counts. A rep's own numbers have no lead side.
- Periods are whole days in UTC: ``start`` and ``end`` are both included.

The selectors live in submodules and are all importable from here:

- ``base``: :class:`KpiFilter` and ``filter_for``, the WHERE clauses and the replica reads.
- ``funnel``: the waterfall, lead velocity and the month's targets.
- ``speed``: speed to lead, SLA attainment, open breaches and the team balance (backlog).
- ``rejections``: rejected handoffs by reason, campaign, source and rule.
- ``campaigns``: campaign return, cost and the attribution models.
- ``records``: click-through from a figure to the records behind it.
"""

from handoff.kpis.base import KpiFilter, filter_for
from handoff.kpis.campaigns import (
    ATTRIBUTION_MODELS,
    CampaignReturn,
    campaign_cost_in,
    kpi_campaign_return,
)
from handoff.kpis.funnel import (
    VELOCITY_MONTHS,
    Month,
    Stage,
    TargetProgress,
    Waterfall,
    kpi_lead_velocity,
    kpi_targets,
    kpi_waterfall,
)
from handoff.kpis.records import (
    BREAKDOWNS,
    COHORT_FIGURES,
    HANDOFF_FIGURES,
    NOW_FIGURES,
    kpi_handoff_ids,
    kpi_handoffs,
    kpi_lead_ids,
)
from handoff.kpis.rejections import Bucket, Rejections, kpi_rejections
from handoff.kpis.speed import (
    OUTRUN_RATIO,
    STARVING_PER_REP_DAY,
    Attainment,
    Balance,
    Breach,
    Speed,
    _verdict,
    kpi_open_breaches,
    kpi_speed_to_lead,
    kpi_team_balance,
)

__all__ = [
    "ATTRIBUTION_MODELS",
    "BREAKDOWNS",
    "COHORT_FIGURES",
    "HANDOFF_FIGURES",
    "NOW_FIGURES",
    "OUTRUN_RATIO",
    "STARVING_PER_REP_DAY",
    "VELOCITY_MONTHS",
    "Attainment",
    "Balance",
    "Breach",
    "Bucket",
    "CampaignReturn",
    "KpiFilter",
    "Month",
    "Rejections",
    "Speed",
    "Stage",
    "TargetProgress",
    "Waterfall",
    "_verdict",  # the tests check the team balance's verdict on its own
    "campaign_cost_in",
    "filter_for",
    "kpi_campaign_return",
    "kpi_handoff_ids",
    "kpi_handoffs",
    "kpi_lead_ids",
    "kpi_lead_velocity",
    "kpi_open_breaches",
    "kpi_rejections",
    "kpi_speed_to_lead",
    "kpi_targets",
    "kpi_team_balance",
    "kpi_waterfall",
]
