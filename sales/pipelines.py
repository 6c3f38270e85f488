"""Pipeline and reason-list editing (managers and admins): stages with their order,
probability, outcome and staleness; the won and lost reasons."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as _noop

from leadflow.errors import ApplicationError, ConflictError, NotAllowedError
from leadflow.models import Role, User
from sales.models import CloseReason, Pipeline, PipelineStage

NEW_PIPELINE_STAGES = (
    (_noop("Discovery"), 10, PipelineStage.Outcome.OPEN),
    (_noop("Proposal"), 50, PipelineStage.Outcome.OPEN),
    (_noop("Won"), 100, PipelineStage.Outcome.WON),
    (_noop("Lost"), 0, PipelineStage.Outcome.LOST),
)


def pipeline_check_editable(*, pipeline: Pipeline, user: User) -> None:
    """Admins edit every pipeline; a manager edits their own team's."""
    if user.is_admin_role:
        return
    if user.role == Role.MANAGER and user.team_id and pipeline.team_id == user.team_id:
        return
    raise NotAllowedError(_("Only an admin or the team's manager can change this pipeline."))


@transaction.atomic
def pipeline_create(*, name: str, actor: User) -> Pipeline:
    """A new pipeline for the actor's team (an admin without a team: for everyone), with
    starter stages to rename; the team's first pipeline becomes its default."""
    if not (actor.is_admin_role or (actor.role == Role.MANAGER and actor.team_id)):
        raise NotAllowedError(_("Only an admin or a team's manager can add a pipeline."))
    if not name.strip():
        raise ApplicationError(_("Give the pipeline a name."), field="name")
    team_id = actor.team_id
    first = not Pipeline.objects.filter(team=actor.team).exists()
    pipeline = Pipeline.objects.create(
        name=name.strip()[:100], team_id=team_id, is_default=first and team_id is not None
    )
    PipelineStage.objects.bulk_create(
        PipelineStage(
            pipeline=pipeline,
            name=_(label),
            position=position,
            probability=probability,
            outcome=outcome,
        )
        for position, (label, probability, outcome) in enumerate(NEW_PIPELINE_STAGES)
    )
    return pipeline


def _outcomes_left(pipeline_id: int, *, without: int | None = None) -> set[str]:
    stages = PipelineStage.objects.filter(pipeline_id=pipeline_id)
    if without is not None:
        stages = stages.exclude(pk=without)
    return set(stages.values_list("outcome", flat=True))


@transaction.atomic
def stage_save(
    *,
    pipeline_id: int,
    actor: User,
    name: str,
    probability: int,
    outcome: str,
    stale_after_days: int,
    stage_id: int | None = None,
) -> PipelineStage:
    """Add a stage (at the end) or change one. A pipeline keeps at least one open, one
    won and one lost stage, so every deal can always move on and close."""
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline_id)
    pipeline_check_editable(pipeline=pipeline, user=actor)
    if not name.strip():
        raise ApplicationError(_("Give the stage a name."), field="name")
    if not 0 <= probability <= 100:
        raise ApplicationError(_("A probability is between 0 and 100."), field="probability")
    if outcome not in PipelineStage.Outcome.values:
        raise ApplicationError(_("Choose open, won or lost."), field="outcome")
    if stage_id is None:
        last = pipeline.stages.order_by("-position").values_list("position", flat=True).first()
        stage = PipelineStage(pipeline=pipeline, position=(last or 0) + 1)
    else:
        stage = PipelineStage.objects.get(pk=stage_id, pipeline=pipeline)
        if outcome != stage.outcome:
            if stage.deals.exists():
                raise ApplicationError(
                    _("Deals are in this stage; move them before changing its outcome."),
                    field="outcome",
                )
            if stage.outcome not in _outcomes_left(pipeline.pk, without=stage.pk):
                raise ApplicationError(
                    _("A pipeline needs an open, a won and a lost stage."), field="outcome"
                )
    stage.name = name.strip()[:100]
    stage.probability = probability
    stage.outcome = outcome
    stage.stale_after_days = max(1, stale_after_days)
    stage.save()
    return stage


@transaction.atomic
def stage_reorder(*, pipeline_id: int, actor: User, stage_ids: list[int]) -> None:
    """Put the stages in the given order (every stage of the pipeline, once)."""
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline_id)
    pipeline_check_editable(pipeline=pipeline, user=actor)
    current = set(pipeline.stages.values_list("pk", flat=True))
    if len(stage_ids) != len(current) or set(stage_ids) != current:
        raise ConflictError(_("The stages changed meanwhile; reload and try again."))
    stages = PipelineStage.objects.in_bulk(stage_ids)
    for position, stage_id in enumerate(stage_ids):
        stages[stage_id].position = position
    PipelineStage.objects.bulk_update(stages.values(), ["position"])


@transaction.atomic
def stage_delete(*, stage_id: int, actor: User) -> None:
    stage = PipelineStage.objects.select_related("pipeline").get(pk=stage_id)
    pipeline_check_editable(pipeline=stage.pipeline, user=actor)
    if stage.deals.exists():
        raise ApplicationError(_("Deals are in this stage; move them before removing it."))
    if stage.outcome not in _outcomes_left(stage.pipeline_id, without=stage.pk):
        raise ApplicationError(_("A pipeline needs an open, a won and a lost stage."))
    stage.delete()


@transaction.atomic
def close_reason_add(*, kind: str, label: str, actor: User) -> CloseReason:
    if not (actor.is_admin_role or actor.role == Role.MANAGER):
        raise NotAllowedError(_("Only managers and admins edit the reason lists."))
    if kind not in CloseReason.Kind.values:
        raise ApplicationError(_("Choose the won or the lost list."), field="kind")
    text = label.strip()[:200]
    if not text:
        raise ApplicationError(_("Write the reason."), field="label")
    last = (
        CloseReason.objects.filter(kind=kind)
        .order_by("-position")
        .values_list("position", flat=True)
        .first()
    )
    reason, created = CloseReason.objects.get_or_create(
        kind=kind, label=text, defaults={"position": (last or 0) + 1}
    )
    if not created:
        if reason.is_active:
            raise ApplicationError(_("That reason is already in the list."), field="label")
        reason.is_active = True
        reason.save(update_fields=["is_active"])
    return reason


@transaction.atomic
def close_reason_set_active(*, reason_id: int, active: bool, actor: User) -> CloseReason:
    """Retire a reason (closed deals keep its text) or bring it back."""
    if not (actor.is_admin_role or actor.role == Role.MANAGER):
        raise NotAllowedError(_("Only managers and admins edit the reason lists."))
    reason = CloseReason.objects.select_for_update().get(pk=reason_id)
    if (
        not active
        and not CloseReason.objects.filter(kind=reason.kind, is_active=True)
        .exclude(pk=reason.pk)
        .exists()
    ):
        raise ApplicationError(_("Each list keeps at least one reason."))
    reason.is_active = active
    reason.save(update_fields=["is_active"])
    return reason
