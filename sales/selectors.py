"""Sales reads, with the visibility rules: who may see which deals."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet, Sum

from leadflow.models import Role, Team, User
from sales.models import Contact, Deal, Pipeline, PipelineStage, Touch


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


def person_data_for_lead(*, lead_id: int, email: str = "") -> dict[str, Any]:
    """Sales' records of the person behind a lead, for the export of their data: contacts
    (converted from the lead, or with its address), their deals and the touches on them."""
    by_person = (Q(lead_id=lead_id) | Q(email__iexact=email)) if email else Q(lead_id=lead_id)
    contacts = list(Contact.objects.filter(by_person).select_related("account").order_by("pk"))
    contact_ids = [contact.pk for contact in contacts]
    deals = list(
        Deal.objects.filter(Q(lead_id=lead_id) | Q(contact_id__in=contact_ids))
        .select_related("stage", "owner", "account")
        .order_by("pk")
    )
    touches = (
        Touch.objects.filter(
            Q(lead_id=lead_id)
            | Q(contact_id__in=contact_ids)
            | Q(deal_id__in=[deal.pk for deal in deals])
        )
        .select_related("actor")
        .order_by("created_at", "pk")
    )
    return {
        "contacts": [
            {
                "id": contact.pk,
                "account": contact.account.name,
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "email": contact.email,
                "phone": contact.phone,
                "job_title": contact.job_title,
                "created_at": contact.created_at.isoformat(),
            }
            for contact in contacts
        ],
        "deals": [
            {
                "id": deal.pk,
                "name": deal.name,
                "account": deal.account.name,
                "stage": deal.stage.name,
                "amount": str(deal.amount),
                "currency": deal.currency,
                "owner": deal.owner.username,
                "lost_reason": deal.lost_reason,
                "created_at": deal.created_at.isoformat(),
                "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
            }
            for deal in deals
        ],
        "touches": [
            {
                "kind": touch.kind,
                "outcome": touch.outcome,
                "body": touch.body,
                "by": touch.actor.username,
                "deal_id": touch.deal_id,
                "created_at": touch.created_at.isoformat(),
            }
            for touch in touches
        ],
    }
