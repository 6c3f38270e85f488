"""The handoff: the baton passed from marketing to sales, and the rules that create it.

The package, by sub-domain: ``qualification`` (the rules that turn a lead into a handoff,
and their versioned changes), ``handoffs`` (the handoff and its reject reasons),
``routing`` (team distribution settings, rep weights, territory and segment rules),
``sla`` (the tiers and their policies, business hours, holidays, the running clocks and
their breaches) and ``kpi`` (the dashboard's rollups, their refresh time, the targets).
Every model is re-exported here, so callers need not know the parts.
"""

# Import order: ``sla`` has no dependency on the other parts (it names ``Handoff`` by its
# "handoff.Handoff" string), ``qualification`` needs ``SlaTier``, ``handoffs`` needs both.
from handoff.models.handoffs import Handoff, RejectReason
from handoff.models.kpi import (
    KpiAttribution,
    KpiHandoffDay,
    KpiHandoffFact,
    KpiLeadDay,
    KpiMqlFact,
    KpiRefresh,
    KpiTarget,
)
from handoff.models.qualification import QualificationRule, QualificationRuleChange
from handoff.models.routing import RepWeight, RoutingRule, TeamRouting
from handoff.models.sla import (
    BusinessHours,
    Holiday,
    SlaBreach,
    SlaDeadline,
    SlaPolicy,
    SlaTier,
)

__all__ = [
    "BusinessHours",
    "Handoff",
    "Holiday",
    "KpiAttribution",
    "KpiHandoffDay",
    "KpiHandoffFact",
    "KpiLeadDay",
    "KpiMqlFact",
    "KpiRefresh",
    "KpiTarget",
    "QualificationRule",
    "QualificationRuleChange",
    "RejectReason",
    "RepWeight",
    "RoutingRule",
    "SlaBreach",
    "SlaDeadline",
    "SlaPolicy",
    "SlaTier",
    "TeamRouting",
]
