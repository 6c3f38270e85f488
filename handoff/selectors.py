"""Handoff reads: queues, object access and the shared KPIs."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from handoff import kpis
from handoff.models import Handoff, RejectReason, SlaBreach, SlaDeadline
from leadflow.models import Role, User


def handoffs_visible_to(user: User) -> QuerySet[Handoff]:
    """Reps: their own and their team's pool; managers: their team's (all, without a team);
    admins: all; marketers: none (they see leads, not the sales queue)."""
    handoffs = Handoff.objects.all()
    if user.is_superuser or user.role == Role.ADMIN:
        return handoffs
    if user.role == Role.MANAGER:
        return handoffs.filter(team_id=user.team_id) if user.team_id else handoffs
    if user.role == Role.REP and user.team_id:
        return handoffs.filter(Q(assigned_to=user) | Q(team_id=user.team_id, assigned_to=None))
    return handoffs.none()


def handoff_get_for(*, user: User, handoff_id: int) -> Handoff:
    """The handoff if this user may see it, else 404 (not 403: existence is not leaked)."""
    handoff = (
        handoffs_visible_to(user)
        .select_related("lead", "lead__campaign", "assigned_to", "team", "deal")
        .filter(pk=handoff_id)
        .first()
    )
    if handoff is None:
        raise Http404
    return handoff


def handoff_queue_for(user: User) -> dict[str, list[Handoff]]:
    """'My queue': my open handoffs (hot first, then by deadline) and my team's pool."""
    base = Handoff.objects.select_related("lead", "lead__campaign", "team")
    mine = list(
        # Hot first; within a tier, what still waits for an answer, soonest deadline first.
        base.filter(assigned_to=user, status__in=Handoff.OPEN_STATUSES).order_by(
            "sla_tier", "-status", "accept_due_at", "handed_off_at"
        )[:200]
    )
    pool: list[Handoff] = []
    if user.team_id:
        pool = list(
            base.filter(
                team_id=user.team_id, assigned_to=None, status=Handoff.Status.PENDING
            ).order_by("sla_tier", "handed_off_at")[:100]
        )
    return {"mine": mine, "pool": pool}


@dataclass(frozen=True)
class Funnel:
    leads: int
    mqls: int
    sqls: int
    accepted: int
    opportunities: int
    won: int
    won_value: float
    median_accept_minutes: float | None

    @property
    def conversion(self) -> dict[str, float | None]:
        """Stage-to-stage conversion, in percent of the stage before."""
        steps = [
            ("mqls", self.leads, self.mqls),
            ("sqls", self.mqls, self.sqls),
            ("accepted", self.sqls, self.accepted),
            ("opportunities", self.accepted, self.opportunities),
            ("won", self.opportunities, self.won),
        ]
        return {name: (100 * after / before if before else None) for name, before, after in steps}


def dashboard_funnel(
    *, start: datetime.datetime, end: datetime.datetime, team_id: int | None = None
) -> Funnel:
    """The waterfall of ``handoff.kpis`` for the UTC days from ``start`` to ``end`` (both
    included), in the shape the API has always returned, with the median minutes from
    handoff to acceptance."""
    f = kpis.KpiFilter(start=start.date(), end=end.date(), team_id=team_id)
    waterfall = kpis.kpi_waterfall(f)
    counts = {stage.key: stage.count or 0 for stage in waterfall.stages}
    return Funnel(
        leads=counts["leads"],
        mqls=counts["mqls"],
        sqls=counts["sqls"],
        accepted=counts["accepted"],
        opportunities=counts["opportunities"],
        won=counts["won"],
        won_value=float(waterfall.won_value),
        median_accept_minutes=kpis.kpi_speed_to_lead(f).accept_median,
    )


def sla_deadlines_for(user: User) -> list[SlaDeadline]:
    """Running SLA clocks of the user's open handoffs (a manager: of the team's), soonest
    first: the "SLA deadlines" block of Today."""
    deadlines = SlaDeadline.objects.filter(
        state=SlaDeadline.State.OPEN, handoff__status__in=Handoff.OPEN_STATUSES
    )
    if user.role == Role.MANAGER and user.team_id:
        deadlines = deadlines.filter(handoff__team_id=user.team_id)
    else:
        deadlines = deadlines.filter(handoff__assigned_to=user)
    return list(deadlines.select_related("handoff__lead", "handoff__assigned_to")[:100])


# --- The manager's team view and marketing's rejections view ----------------------------


@dataclass(frozen=True)
class RepLoad:
    rep: User
    open_count: int
    pending_count: int
    breaches: int


def team_board(*, team_id: int, since: datetime.datetime) -> list[RepLoad]:
    """Each rep of the team with open handoffs, pending ones and breaches since ``since``:
    one query, counts by subquery-free aggregates over the two tables."""
    reps = (
        User.objects.filter(team_id=team_id, role=Role.REP, is_active=True)
        .annotate(
            open_count=Count(
                "handoffs", filter=Q(handoffs__status__in=Handoff.OPEN_STATUSES), distinct=True
            ),
            pending_count=Count(
                "handoffs", filter=Q(handoffs__status=Handoff.Status.PENDING), distinct=True
            ),
        )
        .order_by("first_name", "last_name", "username")
    )
    breaches = dict(
        SlaBreach.objects.filter(team_id=team_id, breached_at__gte=since)
        .values_list("rep_id")
        .annotate(n=Count("id"))
    )
    return [
        RepLoad(rep, rep.open_count, rep.pending_count, breaches.get(rep.pk, 0)) for rep in reps
    ]


def team_open_handoffs(*, team_id: int) -> list[Handoff]:
    return list(
        Handoff.objects.filter(team_id=team_id, status__in=Handoff.OPEN_STATUSES)
        .select_related("lead", "assigned_to")
        .order_by("sla_tier", "accept_due_at", "handed_off_at")[:300]
    )


@dataclass(frozen=True)
class Rejections:
    total: int
    by_reason: list[dict[str, Any]]
    by_campaign: list[dict[str, Any]]
    by_rule: list[dict[str, Any]]
    recent: list[Handoff]


def rejections_summary(*, since: datetime.datetime) -> Rejections:
    """Rejected handoffs since ``since``, counted by reason, campaign and qualification rule,
    and the latest ones with their re-check dates."""
    rejected = Handoff.objects.filter(status=Handoff.Status.REJECTED, rejected_at__gte=since)
    labels = dict(RejectReason.choices)
    by_reason = [
        {"key": row["reject_reason"], "label": labels.get(row["reject_reason"], ""), "n": row["n"]}
        for row in rejected.values("reject_reason").annotate(n=Count("id")).order_by("-n")
    ]
    by_campaign = [
        {"label": row["lead__campaign__name"] or "", "n": row["n"]}
        for row in rejected.values("lead__campaign__name")
        .annotate(n=Count("id"))
        .order_by("-n")[:20]
    ]
    by_rule = [
        {"label": row["rule_name"], "n": row["n"]}
        for row in rejected.values("rule_name").annotate(n=Count("id")).order_by("-n")[:20]
    ]
    recent = list(
        rejected.select_related("lead", "lead__campaign", "assigned_to").order_by("-rejected_at")[
            :50
        ]
    )
    return Rejections(
        total=sum(row["n"] for row in by_reason),
        by_reason=by_reason,
        by_campaign=by_campaign,
        by_rule=by_rule,
        recent=recent,
    )
