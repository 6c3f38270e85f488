"""Sales reads, with the visibility rules: who may see which deals."""

from __future__ import annotations

from django.db.models import Q, QuerySet, Sum

from leadflow.models import Role, Team, User
from sales.models import Deal, Pipeline, PipelineStage


def deals_visible_to(user: User) -> QuerySet[Deal]:
    """Reps: their own deals, or the team's when the team shares; managers: their team's
    (a manager without a team, and admins, see all); marketers: none."""
    deals = Deal.objects.all()
    if user.is_superuser or user.role == Role.ADMIN:
        return deals
    if user.role == Role.MANAGER:
        return deals.filter(team_id=user.team_id) if user.team_id else deals
    if user.role == Role.REP:
        if user.team_id and user.team and user.team.visibility == Team.Visibility.SHARED:
            return deals.filter(Q(owner=user) | Q(team_id=user.team_id))
        return deals.filter(owner=user)
    return deals.none()


def pipeline_board(*, user: User, pipeline: Pipeline) -> list[dict[str, object]]:
    """The kanban columns: each stage with its visible deals and their total."""
    deals = (
        deals_visible_to(user)
        .filter(pipeline=pipeline)
        .select_related("account", "owner", "stage")
        .order_by("-created_at")
    )
    by_stage: dict[int, list[Deal]] = {}
    for deal in deals[:2000]:
        by_stage.setdefault(deal.stage_id, []).append(deal)
    totals = dict(
        deals_visible_to(user)
        .filter(pipeline=pipeline)
        .values_list("stage_id")
        .annotate(total=Sum("amount"))
    )
    return [
        {"stage": stage, "deals": by_stage.get(stage.pk, []), "total": totals.get(stage.pk, 0)}
        for stage in PipelineStage.objects.filter(pipeline=pipeline).order_by("position")
    ]


def pipelines_for(user: User) -> QuerySet[Pipeline]:
    pipelines = Pipeline.objects.all()
    if user.team_id and user.role != Role.ADMIN:
        pipelines = pipelines.filter(Q(team_id=user.team_id) | Q(team=None))
    return pipelines.order_by("-is_default", "name")
