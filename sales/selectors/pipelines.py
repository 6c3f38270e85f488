"""Pipeline settings: the pipelines a user works in, a team's default pipeline and the
won and lost reasons."""

from __future__ import annotations

from django.db.models import (
    Q,
    QuerySet,
)

from leadflow.models import Team, User
from sales.models import (
    CloseReason,
    Pipeline,
)
from sales.selectors.visibility import _sees_everything


def default_pipeline(*, team: Team | None) -> Pipeline | None:
    """The team's default pipeline, else the global default, else any."""
    pipeline = (
        Pipeline.objects.filter(team=team).order_by("-is_default", "id").first() if team else None
    )
    return (
        pipeline
        or Pipeline.objects.filter(is_default=True, team=None).order_by("id").first()
        or Pipeline.objects.filter(team=None).order_by("id").first()
    )


def pipelines_for(user: User) -> QuerySet[Pipeline]:
    """The pipelines a user works in: their team's and the shared ones (team not set)."""
    pipelines = Pipeline.objects.all()
    if user.team_id and not _sees_everything(user):
        pipelines = pipelines.filter(Q(team_id=user.team_id) | Q(team=None))
    return pipelines.order_by("-is_default", "name")


def close_reasons() -> dict[str, list[str]]:
    """The active won and lost reasons, in order: {"won": [...], "lost": [...]}."""
    reasons: dict[str, list[str]] = {"won": [], "lost": []}
    for kind, label in CloseReason.objects.filter(is_active=True).values_list("kind", "label"):
        reasons[kind].append(label)
    return reasons
