"""Handoff writes: qualification, routing, claim, accept, reject, touch and conversion.

This is where marketing and sales meet, so it is the one app that calls both.
"""

from __future__ import annotations

import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from handoff import qualification, routing, sla
from handoff.models import (
    Handoff,
    Holiday,
    RejectReason,
    SlaDeadline,
    SlaPolicy,
    SlaTier,
    TeamRouting,
)
from leadflow import bus
from leadflow.errors import ApplicationError, ConflictError, NotAllowedError
from leadflow.models import AuditEntry, Event, NotificationKind, User
from leadflow.notifications import notification_send
from leadflow.services import event_record
from marketing import duplicates, privacy
from marketing import services as marketing
from marketing.models import Lead, Stage
from sales import selectors as sales_selectors
from sales import services as sales
from sales.models import Deal

HANDOFF = "handoff.handoff"
# Accept-or-reject deadlines per tier. Business hours and editable tiers come with the
# SLA work; until then the clock is wall time.
ACCEPT_WITHIN = {SlaTier.HOT: timedelta(minutes=15), SlaTier.STANDARD: timedelta(hours=4)}


@transaction.atomic
def handoff_qualify(*, lead_id: int) -> Handoff | None:
    """Run the ordered qualification rules on an MQL; the first match creates a handoff,
    which is routed in the same transaction (real time, never a batch)."""
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    if lead.stage != Stage.MQL:
        return None
    rule = qualification.rule_for_lead(lead_id=lead.pk)
    if rule is None:
        return None
    now = timezone.now()
    try:
        # The partial unique index allows one open handoff per lead; a concurrent
        # qualification of the same lead fails here instead of creating a second baton.
        with transaction.atomic():
            handoff = Handoff.objects.create(
                lead=lead,
                rule=rule,
                rule_name=rule.name,
                sla_tier=rule.sla_tier,
                team_id=rule.team_id,
                accept_due_at=now + ACCEPT_WITHIN[SlaTier(rule.sla_tier)],
                score_snapshot={
                    "fit": lead.fit_score,
                    "engagement": lead.engagement_score,
                    "grade": lead.grade,
                    "win_probability": lead.win_probability,
                    "rules": marketing.lead_score_breakdown(lead_id=lead.pk),
                },
            )
    except IntegrityError:
        return None
    event_record(
        subject_type=HANDOFF,
        subject_id=handoff.pk,
        kind=Event.Kind.CREATED,
        rule=f"qualification: {rule.name}",
        new_value=Handoff.Status.PENDING,
    )
    marketing.lead_stage_change(
        lead_id=lead.pk,
        stage=Stage.SQL,
        rule=f"qualification: {rule.name}",
        reason=f"{rule.get_sla_tier_display()} handoff to {rule.team.name}",
    )
    handoff_route(handoff=handoff)
    bus.publish("handoff.created", handoff_id=handoff.pk)
    return handoff


def handoff_route(*, handoff: Handoff) -> Handoff:
    """Route a new handoff to a team and a rep (or the team pool) and start its SLA clocks.
    Called in the transaction that creates the handoff: routing is never a batch."""
    return routing.route(handoff=handoff)


def handoff_claim(*, handoff_id: int, user: User) -> Handoff:
    return routing.claim(handoff_id=handoff_id, user=user)


def handoff_claim_next(*, user: User) -> int | None:
    """The id of the handoff claimed from the user's team pool, or None if it is empty."""
    return routing.claim_next(user=user)


def handoff_reassign(*, handoff_id: int, rep_id: int | None, manager: User) -> Handoff:
    return routing.reassign(handoff_id=handoff_id, rep_id=rep_id, manager=manager)


def rep_set_away(*, rep_id: int, away: bool, actor: User) -> User:
    return routing.rep_set_away(rep_id=rep_id, away=away, actor=actor)


def team_routing(*, team_id: int) -> TeamRouting:
    """The team's routing settings (created with defaults on first use)."""
    return TeamRouting.objects.get_or_create(team_id=team_id)[0]


# The team settings page: thin entry points into routing and sla.
team_routing_update = routing.team_routing_update
rep_weights = routing.rep_weights
team_hours = sla.team_hours
team_hours_set = sla.team_hours_set
team_holiday_add = sla.team_holiday_add
team_holiday_remove = sla.team_holiday_remove


def team_holidays(*, team_id: int) -> list[Holiday]:
    return list(Holiday.objects.filter(team_id=team_id, date__gte=timezone.localdate()))


def sla_tiers() -> list[SlaPolicy]:
    """Both tiers as in force (the rows, or the defaults where a row is missing)."""
    return [sla.sla_policy(tier) for tier in SlaTier.values]


def _transition(handoff_id: int, user: User, source: tuple[str, ...], **changes: object) -> Handoff:
    """Compare-and-set a status change of the user's own handoff; 0 rows → it moved on."""
    changed = Handoff.objects.filter(pk=handoff_id, assigned_to=user, status__in=source).update(
        **changes
    )
    if changed != 1:
        raise ConflictError(
            _("This handoff is not yours to change any more, or it already moved on.")
        )
    return Handoff.objects.select_related("lead").get(pk=handoff_id)


@transaction.atomic
def handoff_accept(*, handoff_id: int, user: User) -> Handoff:
    handoff = _transition(
        handoff_id,
        user,
        (Handoff.Status.PENDING,),
        status=Handoff.Status.ACCEPTED,
        accepted_at=timezone.now(),
    )
    event_record(
        subject_type=HANDOFF,
        subject_id=handoff.pk,
        kind=Event.Kind.STATUS,
        actor=user,
        old_value=Handoff.Status.PENDING,
        new_value=Handoff.Status.ACCEPTED,
    )
    sla.sla_stop(
        handoff_id=handoff.pk, kinds=(SlaDeadline.Kind.ACCEPT,), state=SlaDeadline.State.MET
    )
    bus.publish("handoff.accepted", handoff_id=handoff.pk)
    return handoff


# How long marketing waits before looking at a recycled lead again, by reason.
RECHECK_AFTER_DAYS: dict[str, int] = {RejectReason.BAD_TIMING: 90, RejectReason.NO_BUDGET: 90}
RECHECK_DEFAULT_DAYS = 30


def recheck_default(reason: str, *, today: datetime.date) -> datetime.date:
    return today + timedelta(days=RECHECK_AFTER_DAYS.get(reason, RECHECK_DEFAULT_DAYS))


@transaction.atomic
def handoff_reject(
    *,
    handoff_id: int,
    user: User,
    reason: str,
    note: str = "",
    recheck_on: datetime.date | None = None,
) -> Handoff:
    """Reject with a reason from the list and an optional note. The lead is recycled to
    marketing with a re-check date; the campaign's owner is told."""
    if reason not in RejectReason.values:
        raise ApplicationError(_("Choose a reason for the rejection."), field="reason")
    today = timezone.localdate()
    if recheck_on is not None and recheck_on <= today:
        raise ApplicationError(_("The re-check date must be in the future."), field="recheck_on")
    handoff = _transition(
        handoff_id,
        user,
        Handoff.OPEN_STATUSES,
        status=Handoff.Status.REJECTED,
        rejected_at=timezone.now(),
        reject_reason=reason,
        reject_note=note.strip()[:500],
        recheck_on=recheck_on or recheck_default(reason, today=today),
    )
    event_record(
        subject_type=HANDOFF,
        subject_id=handoff.pk,
        kind=Event.Kind.STATUS,
        actor=user,
        reason=str(RejectReason(reason).label),
        old_value="open",
        new_value=Handoff.Status.REJECTED,
    )
    sla.sla_stop(
        handoff_id=handoff.pk, kinds=(SlaDeadline.Kind.ACCEPT,), state=SlaDeadline.State.MET
    )
    sla.sla_stop(
        handoff_id=handoff.pk,
        kinds=(SlaDeadline.Kind.TOUCH,),
        state=SlaDeadline.State.CANCELLED,
    )
    marketing.lead_recycle(
        lead_id=handoff.lead_id,
        actor=user,
        reason=f"rejected: {RejectReason(reason).label}; re-check on {handoff.recheck_on}",
    )
    _notify_rejected(handoff)
    bus.publish("handoff.rejected", handoff_id=handoff.pk)
    return handoff


def _notify_rejected(handoff: Handoff) -> None:
    lead = handoff.lead
    owner = lead.campaign.owner if lead.campaign_id and lead.campaign else None
    if owner is None:
        return
    notification_send(
        user=owner,
        kind=NotificationKind.HANDOFF_REJECTED,
        subject=_("Sales rejected %(lead)s: %(reason)s")
        % {"lead": lead.full_name or lead.company, "reason": handoff.get_reject_reason_display()},
        body=handoff.reject_note,
        url=reverse("handoff:rejections"),
        dedupe_key=f"handoff.rejected:{handoff.pk}",
    )


@transaction.atomic
def handoff_first_touch(*, lead_id: int) -> Handoff | None:
    """A touch on the person stops the first-touch clock of their open handoff (once)."""
    handoff = (
        Handoff.objects.select_for_update()
        .filter(lead_id=lead_id, status__in=Handoff.OPEN_STATUSES, first_touch_at=None)
        .first()
    )
    if handoff is None:
        return None
    handoff.first_touch_at = timezone.now()
    handoff.save(update_fields=["first_touch_at"])
    sla.sla_stop(
        handoff_id=handoff.pk, kinds=(SlaDeadline.Kind.TOUCH,), state=SlaDeadline.State.MET
    )
    return handoff


@transaction.atomic
def handoff_log_touch(
    *, handoff_id: int, user: User, kind: str, outcome: str = "", body: str = ""
) -> Handoff:
    """Log a call/email/meeting/note on the lead; the first one stops the first-touch clock."""
    handoff = Handoff.objects.select_for_update().get(pk=handoff_id)
    if handoff.assigned_to_id != user.pk or not handoff.is_open:
        raise NotAllowedError(_("Only the assigned rep can log touches on an open handoff."))
    sales.touch_log(actor=user, kind=kind, outcome=outcome, body=body, lead_id=handoff.lead_id)
    # sales publishes touch.logged, which stops the clock too; this is the same idempotent
    # call, made here so the handoff page's own touch never depends on the subscription.
    return handoff_first_touch(lead_id=handoff.lead_id) or handoff


@transaction.atomic
def handoff_convert(
    *,
    handoff_id: int,
    user: User,
    deal_name: str,
    amount: Decimal,
    expected_close: datetime.date | None = None,
    currency: str = sales.DEFAULT_CURRENCY,
    pipeline_id: int | None = None,
    account_id: int | None = None,
    new_account: bool = False,
) -> Deal:
    """Turn an accepted handoff into a contact, an account and a deal.

    The account is the one the rep confirmed (``account_id``, which must still be the
    person's match), a new one (``new_account``), or else the current match, if any.
    Attribution (source, campaign, first and last touch) is copied to the deal; the
    handoff's timestamps are completed (converting means the person was reached, so a
    missing first touch is the conversion itself).
    """
    handoff = (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("lead__campaign")
        .get(pk=handoff_id)
    )
    if handoff.assigned_to_id != user.pk:
        raise NotAllowedError(_("Only the assigned rep can convert this handoff."))
    if handoff.status != Handoff.Status.ACCEPTED:
        raise ConflictError(_("Accept the handoff before converting it."))
    lead = handoff.lead
    person = sales.PersonInput(
        lead_id=lead.pk,
        email=lead.email or "",
        first_name=lead.first_name,
        last_name=lead.last_name,
        phone=lead.phone,
        job_title=lead.job_title,
        company=lead.company,
    )
    match = sales_selectors.account_match(email=person.email, company=person.company)
    matched_id = match.account.pk if match.account else None
    if account_id is not None and account_id != matched_id:
        # The rep confirmed an account the page offered; another one means the match
        # changed in between (or the post was tampered with): show the page again.
        raise ConflictError(
            _("The matching account changed meanwhile; review the conversion again.")
        )
    if not new_account:
        account_id = matched_id
    conversion = sales.person_convert(
        person=person,
        account_id=account_id,
        deal=sales.DealInput(
            pipeline_id=pipeline_id,
            name=deal_name,
            amount=amount,
            currency=currency,
            expected_close=expected_close,
        ),
        owner=user,
        team=user.team,
        attribution=sales.Attribution(
            source=lead.source,
            campaign_name=lead.campaign.name if lead.campaign else "",
            first_touch_id=lead.first_touch_id,
            last_touch_id=lead.last_touch_id,
        ),
    )
    deal = conversion.deal
    # Converting means the person was reached: without a touch logged before, the
    # conversion is the first touch, and it stops that clock (a no-op when it already ran).
    touched = handoff_first_touch(lead_id=lead.pk)
    handoff.status = Handoff.Status.CONVERTED
    handoff.converted_at = timezone.now()
    handoff.first_touch_at = touched.first_touch_at if touched else handoff.first_touch_at
    handoff.deal = deal
    handoff.save(update_fields=["status", "converted_at", "first_touch_at", "deal"])
    event_record(
        subject_type=HANDOFF,
        subject_id=handoff.pk,
        kind=Event.Kind.STATUS,
        actor=user,
        old_value=Handoff.Status.ACCEPTED,
        new_value=Handoff.Status.CONVERTED,
    )
    marketing.lead_stage_change(
        lead_id=lead.pk,
        stage=Stage.OPPORTUNITY,
        actor=user,
        # The id, not the name: a deal is often named after the person, and events are
        # immutable, so a name here would survive the person's erasure.
        reason=f"deal #{deal.pk}",
    )
    return deal


def lead_on_deal_won(*, deal_id: int, lead_id: int | None, actor: User | None = None) -> None:
    """A won deal makes its lead a customer, and the deal's team hears about it."""
    if lead_id is not None:
        marketing.lead_stage_change(
            lead_id=lead_id, stage=Stage.CUSTOMER, actor=actor, reason=f"deal #{deal_id} won"
        )
    _notify_deal_won(deal_id=deal_id, actor=actor)


def _notify_deal_won(*, deal_id: int, actor: User | None) -> None:
    deal = Deal.objects.select_related("owner").filter(pk=deal_id).first()
    if deal is None or deal.team_id is None:
        return
    team = User.objects.filter(team_id=deal.team_id, is_active=True)
    if actor is not None:
        team = team.exclude(pk=actor.pk)
    owner = deal.owner.get_full_name() or deal.owner.username if deal.owner else ""
    for person in team:
        notification_send(
            user=person,
            kind=NotificationKind.DEAL_WON,
            subject=_("Deal won: %(deal)s") % {"deal": deal.name},
            body=_("%(owner)s won %(amount)s.") % {"owner": owner, "amount": deal.amount},
            url=reverse("sales:board"),
            dedupe_key=f"deal.won:{deal_id}",
        )


# --- Privacy and merging: operations on one person across marketing and sales ----------

LEAD = "marketing.lead"


@transaction.atomic
def person_export(*, lead_id: int, actor: User, ip: str | None) -> dict[str, Any]:
    """Everything LeadFlow holds about the person behind a lead, as JSON-ready data:
    marketing's records, the handoffs and sales' contacts, deals and touches. Audited."""
    data = privacy.lead_export_data(lead_id=lead_id)
    handoffs = [
        {
            "id": handoff.pk,
            "status": handoff.status,
            "rule": handoff.rule_name,
            "sla_tier": handoff.sla_tier,
            "team": handoff.team.name,
            "assigned_to": handoff.assigned_to.username if handoff.assigned_to else None,
            "score_snapshot": handoff.score_snapshot,
            "reject_reason": handoff.reject_reason,
            "reject_note": handoff.reject_note,
            "handed_off_at": handoff.handed_off_at.isoformat(),
            "accepted_at": handoff.accepted_at.isoformat() if handoff.accepted_at else None,
            "rejected_at": handoff.rejected_at.isoformat() if handoff.rejected_at else None,
            "converted_at": handoff.converted_at.isoformat() if handoff.converted_at else None,
        }
        for handoff in Handoff.objects.filter(lead_id=lead_id)
        .select_related("team", "assigned_to")
        .order_by("handed_off_at", "pk")
    ]
    AuditEntry.objects.create(
        actor=actor, action="lead.export", subject_type=LEAD, subject_id=lead_id, ip=ip or None
    )
    return {
        "format": "leadflow.person/1",
        "exported_at": timezone.now().isoformat(),
        **data,
        "handoffs": handoffs,
        "sales": sales_selectors.person_data_for_lead(
            lead_id=lead_id, email=data["lead"]["email"] or ""
        ),
    }


@transaction.atomic
def person_erase(*, lead_id: int, actor: User, ip: str | None) -> dict[str, int]:
    """Erase the person behind a lead everywhere: marketing's fields and touchpoint URLs,
    sales' contacts and notes, handoff rejection notes. Every row stays, so lead, handoff
    and deal counts do not move; the address is suppressed so no import brings it back.

    The audit entry records counts only: audit rows are immutable, and a name or an
    address in one would outlive the erasure it records.
    """
    person = privacy.lead_erase(lead_id=lead_id, actor=actor)
    in_sales = sales.contact_erase_for_lead(
        lead_id=lead_id,
        email=person.email,
        first_name=person.first_name,
        last_name=person.last_name,
        phone=person.phone,
    )
    notes = Handoff.objects.filter(lead_id=lead_id).exclude(reject_note="").update(reject_note="")
    summary = {
        "touchpoints": person.touchpoints,
        "consents": person.consents,
        "contacts": in_sales.contacts,
        "touches": in_sales.touches,
        "deals_renamed": in_sales.deals_renamed,
        "accounts_renamed": in_sales.accounts_renamed,
        "handoff_notes": notes,
    }
    AuditEntry.objects.create(
        actor=actor,
        action="lead.erase",
        subject_type=LEAD,
        subject_id=lead_id,
        detail=summary,
        ip=ip or None,
    )
    return summary


@transaction.atomic
def person_merge(
    *, survivor_id: int, other_id: int, take_from_other: list[str], actor: User, ip: str | None
) -> Lead:
    """Merge two leads of one person. Handoffs and sales' rows of the other lead move to
    the survivor first, then marketing merges fields, touchpoints, ledger and consents.

    Two open handoffs cannot become one (one open handoff per lead): that merge is refused
    until sales closes one — usually by rejecting it as a duplicate.
    """
    # Lock both leads in id order (lead_merge locks them again, in the same order).
    ids = sorted({survivor_id, other_id})
    list(Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    open_leads = set(
        Handoff.objects.filter(lead_id__in=ids, status__in=Handoff.OPEN_STATUSES).values_list(
            "lead_id", flat=True
        )
    )
    if survivor_id != other_id and open_leads == set(ids):
        raise ConflictError(
            _(
                "Both leads are with sales right now (each has an open handoff). Ask the rep "
                "to reject one of them as a duplicate, then merge."
            )
        )
    handoffs = Handoff.objects.filter(lead_id=other_id).update(lead_id=survivor_id)
    sales_rows = sales.lead_references_move(from_lead_id=other_id, to_lead_id=survivor_id)
    lead = duplicates.lead_merge(
        survivor_id=survivor_id, other_id=other_id, take_from_other=take_from_other, actor=actor
    )
    AuditEntry.objects.create(
        actor=actor,
        action="lead.merge",
        subject_type=LEAD,
        subject_id=survivor_id,
        # Field names, never values: this row is immutable (see person_erase).
        detail={
            "merged_id": other_id,
            "fields_from_merged": sorted(take_from_other),
            "handoffs_moved": handoffs,
            "sales_rows_moved": sales_rows,
        },
        ip=ip or None,
    )
    return lead
