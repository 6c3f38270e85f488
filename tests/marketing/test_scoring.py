from __future__ import annotations

import pytest
from django.db.models import Sum

from handoff.models import Handoff
from leadflow.models import Event
from marketing import services
from marketing.models import Lead, ScoreEntry, Stage, Touchpoint
from marketing.tasks import score_leads
from tests.factories import FormFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scoring_rules")]


def capture(form, **fields):
    data = services.CaptureInput(email=fields.pop("email", "vp@bigco.com"), **fields)
    lead_id = services.lead_capture(form=form, data=data).lead_id
    return lead_id


def test_score_is_the_sum_of_its_ledger_and_explains_every_point():
    lead_id = capture(FormFactory(), job_title="Head of Growth", company_size=800, country="US")
    score_leads([lead_id])

    lead = Lead.objects.get(pk=lead_id)
    assert (lead.fit_score, lead.engagement_score, lead.grade) == (45, 10, "A")
    ledger = ScoreEntry.objects.filter(lead=lead).aggregate(total=Sum("points"))["total"]
    assert ledger == lead.fit_score + lead.engagement_score
    rules = {row["rule"] for row in services.lead_score_breakdown(lead_id=lead_id)}
    assert rules == {
        "Company size 200+",
        "Senior title (VP, Head, Director)",
        "Target country",
        "Form submitted",
    }


def test_scoring_twice_changes_nothing():
    lead_id = capture(FormFactory(), email="someone@gmail.com", company_size=10)
    score_leads([lead_id])
    entries = ScoreEntry.objects.count()
    events = Event.objects.count()

    score_leads([lead_id])

    assert ScoreEntry.objects.count() == entries
    assert Event.objects.count() == events
    assert Lead.objects.get(pk=lead_id).fit_score == -10


def test_a_score_change_is_an_event_with_old_and_new_values():
    lead_id = capture(FormFactory(), company_size=250)
    score_leads([lead_id])

    event = Event.objects.get(subject_id=lead_id, kind="score")
    assert (event.old_value, event.new_value, event.rule) == ("D 0/0", "B 20/10", "scoring")


def test_engaged_b_grade_lead_becomes_mql_and_gets_a_routed_handoff(rules, cast):
    form = FormFactory()
    lead_id = capture(form, company_size=500, job_title="Director IT")
    lead = Lead.objects.get(pk=lead_id)
    for _ in range(4):
        Touchpoint.objects.create(lead=lead, kind="form_submit", campaign=form.campaign)
    score_leads([lead_id])

    lead.refresh_from_db()
    assert lead.stage == Stage.SQL
    assert lead.mql_at
    assert lead.sql_at
    handoff = Handoff.objects.get(lead=lead)
    assert handoff.rule_name == "Standard"
    assert handoff.assigned_to in (cast.rep, cast.rep2)
    assert handoff.score_snapshot["engagement"] == 50
    stages = list(
        Event.objects.filter(subject_id=lead_id, kind="stage").values_list("new_value", flat=True)
    )
    assert stages == ["mql", "sql"]


def test_a_fast_track_form_makes_an_mql_and_a_hot_handoff_at_once(rules, cast):
    lead_id = capture(FormFactory(fast_track=True), email="ceo@smallco.com")
    score_leads([lead_id])

    handoff = Handoff.objects.get(lead_id=lead_id)
    assert handoff.sla_tier == "hot"
    assert handoff.accept_due_at is not None
    assert Lead.objects.get(pk=lead_id).stage == Stage.SQL


def test_a_lead_below_the_thresholds_stays_a_lead(rules):
    lead_id = capture(FormFactory(), email="x@gmail.com")
    score_leads([lead_id])

    assert Lead.objects.get(pk=lead_id).stage == Stage.LEAD
    assert not Handoff.objects.exists()


def test_the_sweeper_finds_leads_whose_scoring_never_ran(settings):
    from marketing.selectors import leads_unscored_ids

    settings.LEADFLOW_SWEEP_AFTER_SECONDS = 0
    lead_id = capture(FormFactory())
    assert lead_id in leads_unscored_ids(older_than_seconds=0)
    score_leads([lead_id])
    assert lead_id not in leads_unscored_ids(older_than_seconds=0)
