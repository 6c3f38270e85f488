"""SLA clocks: business-time deadlines, warnings, breaches, escalation and re-routing."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
from django.utils import timezone

from handoff import services, sla
from handoff.models import (
    Handoff,
    Holiday,
    RejectReason,
    SlaBreach,
    SlaDeadline,
    SlaPolicy,
    TeamRouting,
)
from leadflow.errors import ApplicationError
from leadflow.models import Event, Notification
from marketing.models import Stage
from sales import services as sales
from tests.factories import HandoffFactory, LeadFactory
from tests.sales.conftest import migrations_data  # noqa: F401 -- the pipeline, if flushed

pytestmark = pytest.mark.django_db


def routed(team, **fields):
    handoff = HandoffFactory(team=team, lead=LeadFactory(stage=Stage.SQL), **fields)
    return services.handoff_route(handoff=handoff)


def test_a_standard_deadline_counts_the_teams_business_hours_and_holidays(cast):
    # Berlin team; handed off on Friday 2026-12-24 16:00 local, the 25th a holiday.
    Holiday.objects.create(team=cast.team, date=datetime.date(2026, 12, 25), name="Christmas")
    handoff = HandoffFactory(team=cast.team, sla_tier="standard")
    start = datetime.datetime(2026, 12, 24, 15, tzinfo=datetime.UTC)  # 16:00 in Berlin
    sla.sla_start(handoff=handoff, start=start)
    # 4 business hours: 1 h on Thursday, 3 h from Monday 9:00 → Monday 12:00 Berlin.
    assert handoff.accept_due_at == datetime.datetime(2026, 12, 28, 11, tzinfo=datetime.UTC)
    # 8 business hours for the first touch → Monday 16:00 Berlin.
    assert handoff.touch_due_at == datetime.datetime(2026, 12, 28, 15, tzinfo=datetime.UTC)


def test_a_hot_deadline_is_wall_clock_and_tiers_are_editable(cast):
    SlaPolicy.objects.update_or_create(
        tier="hot",
        defaults={
            "accept_minutes": 20,
            "touch_minutes": 60,
            "business_time": False,
            "warn_minutes": 5,
        },
    )
    handoff = HandoffFactory(team=cast.team, sla_tier="hot")
    start = datetime.datetime(2026, 11, 28, 23, tzinfo=datetime.UTC)  # a Saturday night
    sla.sla_start(handoff=handoff, start=start)
    assert handoff.accept_due_at == start + timedelta(minutes=20)


def test_a_warning_goes_out_once_before_the_deadline(cast):
    handoff = routed(cast.team, sla_tier="hot")
    deadline = handoff.deadlines.get(kind="accept")
    at = deadline.warn_at + timedelta(seconds=1)
    assert sla.sla_sweep(now=at)["warned"] == 1
    assert sla.sla_sweep(now=at)["warned"] == 0
    assert Notification.objects.filter(user=cast.rep, kind="sla.warning").count() == 1


def test_a_breach_escalates_and_reroutes_exactly_once(cast):
    TeamRouting.objects.update_or_create(team=cast.team, defaults={"reroute_on_breach": True})
    handoff = routed(cast.team, sla_tier="hot")
    assert handoff.assigned_to == cast.rep
    late = handoff.accept_due_at + timedelta(minutes=1)
    first = sla.sla_sweep(now=late)
    second = sla.sla_sweep(now=late)
    assert (first["breached"], second["breached"]) == (1, 0)

    handoff.refresh_from_db()
    assert handoff.assigned_to == cast.rep2  # the first rep lost it
    breach = SlaBreach.objects.get(handoff=handoff)
    assert (breach.kind, breach.rep, breach.rerouted_to) == ("accept", cast.rep, cast.rep2)
    owners = Event.objects.filter(
        subject_id=handoff.pk, subject_type="handoff.handoff", kind="owner"
    )
    assert [e.new_value for e in owners] == ["rep", "rep2"]
    # The rep and the manager are told, once each; the new rep gets the assignment.
    breaches = Notification.objects.filter(kind="sla.breach")
    assert sorted(n.user.username for n in breaches) == ["manager", "rep"]
    assert Notification.objects.filter(user=cast.rep2, kind="handoff.assigned").count() == 1
    # The new rep has a fresh accept clock.
    running = handoff.deadlines.get(kind="accept", state="open")
    assert running.rep == cast.rep2
    assert running.due_at > late


def test_without_rerouting_a_breach_only_escalates(cast):
    handoff = routed(cast.team, sla_tier="hot")
    sla.sla_sweep(now=handoff.accept_due_at + timedelta(seconds=1))
    handoff.refresh_from_db()
    assert handoff.assigned_to == cast.rep
    assert SlaBreach.objects.filter(handoff=handoff, rerouted_to=None).count() == 1


def test_accepting_and_touching_stop_the_clocks(cast):
    handoff = routed(cast.team, sla_tier="hot")
    services.handoff_accept(handoff_id=handoff.pk, user=cast.rep)
    sales.touch_log(actor=cast.rep, kind="call", lead_id=handoff.lead_id)
    states = dict(handoff.deadlines.values_list("kind", "state"))
    assert states == {"accept": "met", "touch": "met"}
    assert sla.sla_sweep(now=timezone.now() + timedelta(days=3)) == {"warned": 0, "breached": 0}


def test_a_deadline_whose_work_was_done_elsewhere_is_settled_not_breached(cast):
    handoff = routed(cast.team, sla_tier="hot")
    Handoff.objects.filter(pk=handoff.pk).update(status="accepted", first_touch_at=timezone.now())
    assert sla.sla_sweep(now=timezone.now() + timedelta(days=3))["breached"] == 0
    assert set(handoff.deadlines.values_list("state", flat=True)) == {"met"}


def test_reject_without_a_reason_is_refused(cast):
    handoff = routed(cast.team)
    with pytest.raises(ApplicationError):
        services.handoff_reject(handoff_id=handoff.pk, user=cast.rep, reason="")
    with pytest.raises(ApplicationError):
        services.handoff_reject(handoff_id=handoff.pk, user=cast.rep, reason="bored")
    assert Handoff.objects.get(pk=handoff.pk).status == "pending"


def test_reject_recycles_with_a_recheck_date_stops_clocks_and_tells_the_campaign_owner(cast):
    handoff = routed(cast.team)
    from tests.factories import CampaignFactory

    campaign = CampaignFactory()
    handoff.lead.campaign = campaign
    handoff.lead.save(update_fields=["campaign"])
    services.handoff_reject(
        handoff_id=handoff.pk, user=cast.rep, reason=RejectReason.BAD_TIMING, note="Q3"
    )
    handoff.refresh_from_db()
    assert handoff.recheck_on == timezone.localdate() + timedelta(days=90)
    assert handoff.lead.stage == Stage.RECYCLED
    assert set(handoff.deadlines.values_list("state", flat=True)) == {"met", "cancelled"}
    note = Notification.objects.get(user=campaign.owner, kind="handoff.rejected")
    assert "Bad timing" in note.subject
    assert note.body == "Q3"


def test_a_recycled_lead_that_qualifies_again_gets_a_new_handoff_with_history(cast, rules):
    lead = LeadFactory(stage=Stage.MQL, fast_tracked=True)
    first = services.handoff_qualify(lead_id=lead.pk)
    services.handoff_reject(handoff_id=first.pk, user=first.assigned_to, reason="no_budget")
    lead.refresh_from_db()
    assert lead.stage == Stage.RECYCLED
    assert not lead.fast_tracked  # the old demo request no longer counts
    # A new demo request later, and scoring moves it to MQL again.
    from marketing import services as marketing
    from marketing.models import Lead

    Lead.objects.filter(pk=lead.pk).update(fast_tracked=True)
    marketing.lead_stage_change(lead_id=lead.pk, stage=Stage.MQL, rule="scoring")
    second = services.handoff_qualify(lead_id=lead.pk)
    assert second is not None
    assert second.pk != first.pk
    assert second.status == "pending"
    assert second.assigned_to is not None
    first.refresh_from_db()
    assert (first.status, first.reject_reason) == ("rejected", "no_budget")
    stages = list(
        Event.objects.filter(
            subject_type="marketing.lead", subject_id=lead.pk, kind="stage"
        ).values_list("new_value", flat=True)
    )
    assert stages[-4:] == ["sql", "recycled", "mql", "sql"]
    assert SlaDeadline.objects.filter(handoff=second, state="open").count() == 2


@pytest.mark.usefixtures("migrations_data")
def test_a_won_deal_is_announced_to_the_team_but_not_to_who_won_it(cast):
    from django.urls import reverse

    from tests.conftest import login
    from tests.sales.conftest import convert, stage

    deal = convert(cast.rep)
    response = login(cast.rep).post(
        reverse("sales:deal_move", args=[deal.pk]),
        {"stage": stage("Won").pk, "reason": "Price and terms"},
    )
    assert response.status_code in (200, 302)
    told = set(
        Notification.objects.filter(kind="deal.won").values_list("user__username", flat=True)
    )
    assert told == {"rep2", "manager"}


def test_a_rejected_lead_starts_its_engagement_again_and_returns_only_on_new_activity(
    cast, rules, scoring_rules
):
    from marketing import scoring
    from marketing import services as marketing
    from marketing.models import Lead, Touchpoint
    from marketing.tasks import score_leads
    from tests.factories import FormFactory

    form = FormFactory()
    data = marketing.CaptureInput(
        email="dir@bigco.com", company_size=500, job_title="Director IT", country="US"
    )
    lead_id = marketing.lead_capture(form=form, data=data).lead_id
    for _ in range(4):
        Touchpoint.objects.create(lead_id=lead_id, kind="form_submit", campaign=form.campaign)
    score_leads([lead_id])
    first = Handoff.objects.get(lead_id=lead_id)
    assert first.score_snapshot["engagement"] == 50

    services.handoff_reject(handoff_id=first.pk, user=first.assigned_to, reason="no_budget")

    lead = Lead.objects.get(pk=lead_id)
    assert (lead.stage, lead.engagement_score, lead.fast_tracked) == ("recycled", 0, False)
    assert lead.engagement_reset_at is not None
    reset = Event.objects.filter(subject_id=lead_id, kind="score").latest("id")
    assert reset.rule.startswith("engagement reset: rejected: No budget")
    explained = scoring.lead_score_explain(lead_id=lead_id)
    assert explained.engagement == 0
    assert any("since" in sentence for sentence in explained.sentences)
    # Scoring again, a pass over every lead, keeps the reset: the old activity is gone.
    score_leads([lead_id])
    scoring.ledger_run(
        lo=lead_id,
        hi=lead_id,
        rules=scoring.active_rules(),
        cfg=scoring.config(),
        reconcile_rule_ids=None,
    )
    lead.refresh_from_db()
    assert (lead.stage, lead.engagement_score) == ("recycled", 0)

    # New interest brings it back, on the new activity alone.
    for _ in range(4):
        Touchpoint.objects.create(lead_id=lead_id, kind="form_submit", campaign=form.campaign)
    score_leads([lead_id])
    lead.refresh_from_db()
    assert (lead.stage, lead.engagement_score) == ("recycled", 40)
    Touchpoint.objects.create(lead_id=lead_id, kind="form_submit", campaign=form.campaign)
    score_leads([lead_id])
    second = Handoff.objects.filter(lead_id=lead_id).exclude(pk=first.pk).get()
    assert second.score_snapshot["engagement"] == 50
