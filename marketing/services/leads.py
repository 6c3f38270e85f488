"""Lead edits: stage and owner changes (each with its event), recycling, and the scoring
entry points other apps use (grades compared, a score explained per rule). The handoff
app calls these; the scoring engine itself is ``marketing.scoring``."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from leadflow.models import Event, User
from leadflow.services import event_record
from marketing import scoring
from marketing.models import Lead, Stage

LEAD = "marketing.lead"
GRADE_ORDER = "ABCD"
# Stages from which a lead may become an MQL.
QUALIFIABLE = (Stage.LEAD, Stage.RECYCLED)


# --- Scoring (the engine is marketing.scoring) ------------------------------------------


def grade_at_least(grade: str, minimum: str) -> bool:
    """True when ``grade`` is ``minimum`` or better (A is best)."""
    return GRADE_ORDER.index(grade) <= GRADE_ORDER.index(minimum)


def lead_score_breakdown(*, lead_id: int) -> list[dict[str, Any]]:
    """Points per rule, from the ledger (engagement decayed to today): the explanation
    whose sum is the score. Kept in handoff snapshots."""
    return [
        {"rule": line.rule, "axis": line.axis, "points": line.points}
        for line in scoring.lead_score_explain(lead_id=lead_id).lines
    ]


# --- Stage changes (also used by the handoff app) ---------------------------------------


def _set_stage(
    lead: Lead, stage: str, *, actor: User | None = None, rule: str = "", reason: str = ""
) -> None:
    if lead.stage == stage:
        return
    event_record(
        subject_type=LEAD,
        subject_id=lead.pk,
        kind=Event.Kind.STAGE,
        actor=actor,
        rule=rule,
        reason=reason,
        old_value=lead.stage,
        new_value=stage,
    )
    lead.stage = stage


@transaction.atomic
def lead_stage_change(
    *, lead_id: int, stage: str, actor: User | None = None, rule: str = "", reason: str = ""
) -> Lead:
    """Move a lead to ``stage`` with an event; stamps ``sql_at`` on the way to SQL."""
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    if lead.stage == stage:
        return lead
    _set_stage(lead, stage, actor=actor, rule=rule, reason=reason)
    update = ["stage", "updated_at"]
    if stage == Stage.SQL:
        lead.sql_at = timezone.now()
        update.append("sql_at")
    lead.save(update_fields=update)
    return lead


@transaction.atomic
def lead_recycle(*, lead_id: int, actor: User | None, reason: str) -> Lead:
    """Sales sent the lead back: it is recycled, and its engagement starts again from zero,
    so it comes back to sales only on new activity (the score event carries ``reason``)."""
    lead_stage_change(lead_id=lead_id, stage=Stage.RECYCLED, actor=actor, reason=reason)
    scoring.lead_engagement_reset(lead_id=lead_id, reason=f"engagement reset: {reason}")
    return Lead.objects.get(pk=lead_id)


@transaction.atomic
def lead_owner_change(
    *, lead_id: int, owner: User | None, actor: User | None = None, rule: str = "", reason: str = ""
) -> None:
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    if lead.owner_id == (owner.pk if owner else None):
        return
    event_record(
        subject_type=LEAD,
        subject_id=lead.pk,
        kind=Event.Kind.OWNER,
        actor=actor,
        rule=rule,
        reason=reason,
        old_value=lead.owner.username if lead.owner else "",
        new_value=owner.username if owner else "",
    )
    lead.owner = owner
    lead.save(update_fields=["owner", "updated_at"])
