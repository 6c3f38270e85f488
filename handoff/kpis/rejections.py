"""Rejections: the period's handoffs that sales rejected, by reason, campaign, source and
rule."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from handoff.kpis.base import KpiFilter, _campaign_names, _rows, _where
from handoff.models import RejectReason


@dataclass(frozen=True)
class Bucket:
    key: str  # for click-through
    label: str
    count: int


@dataclass(frozen=True)
class Rejections:
    total: int
    by_reason: list[Bucket]
    by_campaign: list[Bucket]
    by_source: list[Bucket]
    by_rule: list[Bucket]


def kpi_rejections(f: KpiFilter) -> Rejections:
    """The period's handoffs that sales rejected, by reason, campaign, source and rule."""
    where, params = _where(f, period="handed_off_at")
    rows = _rows(
        f"""
        SELECT grouping(reject_reason), grouping(campaign_id), grouping(source),
               reject_reason, campaign_id, source, rule_name, count(*)
        FROM handoff_kpihandofffact WHERE {where} AND status = 'rejected'
        GROUP BY GROUPING SETS ((reject_reason), (campaign_id), (source), (rule_name))
        ORDER BY 8 DESC
        """,  # noqa: S608
        params,
    )
    campaigns = _campaign_names()
    reasons = dict(RejectReason.choices)
    result: dict[str, list[Bucket]] = {"reason": [], "campaign": [], "source": [], "rule": []}
    for no_reason, no_campaign, no_source, reason, campaign, source, rule, count in rows:
        if not no_reason:
            result["reason"].append(Bucket(reason, str(reasons.get(reason, reason)), count))
        elif not no_campaign:
            key = "" if campaign is None else str(campaign)
            result["campaign"].append(Bucket(key, campaigns.get(campaign, "?"), count))
        elif not no_source:
            result["source"].append(Bucket(source, source or _("(none)"), count))
        else:
            result["rule"].append(Bucket(rule, rule or _("(none)"), count))
    return Rejections(
        total=sum(b.count for b in result["reason"]),
        by_reason=result["reason"],
        by_campaign=result["campaign"],
        by_source=result["source"],
        by_rule=result["rule"],
    )
