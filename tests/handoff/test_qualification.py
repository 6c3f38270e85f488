"""Qualification rules: ordered data, the first match wins, edited and versioned."""

from __future__ import annotations

import pytest

from handoff import qualification
from handoff.models import Handoff, QualificationRule, QualificationRuleChange
from handoff.services import handoff_qualify
from marketing.models import ConsentRecord, Lead, Stage
from tests.conftest import login
from tests.factories import LeadFactory, QualificationRuleFactory

pytestmark = pytest.mark.django_db


def mql(**fields) -> Lead:
    defaults = {"stage": Stage.MQL, "grade": "B", "engagement_score": 60}
    return LeadFactory.create(**{**defaults, **fields})


def test_the_first_matching_rule_wins_and_order_decides(cast):
    first = QualificationRuleFactory(name="Engaged", position=0, min_engagement=50, team=cast.team)
    second = QualificationRuleFactory(
        name="Grade B", position=1, max_grade="B", sla_tier="hot", team=cast.other_team
    )
    lead = mql()
    assert qualification.rule_for_lead(lead_id=lead.pk) == first

    qualification.rule_move(actor=cast.manager, rule_id=second.pk, up=True)
    assert qualification.rule_for_lead(lead_id=lead.pk) == second
    handoff = handoff_qualify(lead_id=lead.pk)
    assert handoff is not None
    assert (handoff.rule, handoff.rule_name, handoff.sla_tier) == (second, "Grade B", "hot")
    assert handoff.team == cast.other_team
    assert handoff.score_snapshot["engagement"] == 60
    assert QualificationRuleChange.objects.filter(action="moved").count() == 2


def test_an_inactive_rule_never_fires(cast):
    QualificationRuleFactory(position=0, is_active=False, team=cast.team)
    assert qualification.rule_for_lead(lead_id=mql().pk) is None


def test_each_condition_holds_back_the_leads_that_fail_it(cast):
    rule = QualificationRuleFactory(
        position=0,
        stages=["mql"],
        max_grade="B",
        min_engagement=50,
        required_fields=["phone", "company"],
        requires_consent=True,
        exclude_domains="rival.com\ncompetitor.io",
        team=cast.team,
    )
    good = mql(phone="+4930123456", email="ann@buyer.com")
    ConsentRecord.objects.create(lead=good, source="form")
    assert qualification.rule_for_lead(lead_id=good.pk) == rule

    failing = [
        mql(phone="+4930123456", grade="C"),
        mql(phone="+4930123456", engagement_score=10),
        mql(phone=""),
        mql(phone="+4930123456", email="spy@rival.com"),
        mql(phone="+4930123456", stage=Stage.LEAD),
    ]
    for lead in failing:
        ConsentRecord.objects.create(lead=lead, source="form")
    failing.append(mql(phone="+4930123456"))  # no consent
    for lead in failing:
        assert qualification.rule_for_lead(lead_id=lead.pk) is None, lead.__dict__


def test_existing_customers_are_excluded_by_their_domain(cast):
    from sales.models import Account, Deal, Pipeline, PipelineStage

    rule = QualificationRuleFactory(position=0, exclude_customers=True, team=cast.team)
    account = Account.objects.create(name="Buyer", domain="buyer.com")
    pipeline = Pipeline.objects.first() or Pipeline.objects.create(name="Sales")
    won = PipelineStage.objects.filter(outcome="won").first() or PipelineStage.objects.create(
        pipeline=pipeline, name="Won", position=9, outcome="won"
    )
    Deal.objects.create(
        name="Deal", account=account, pipeline=won.pipeline, stage=won, owner=cast.rep
    )
    assert qualification.rule_for_lead(lead_id=mql(email="new@buyer.com").pk) is None
    assert qualification.rule_for_lead(lead_id=mql(email="new@other.com").pk) == rule


def test_a_rule_is_saved_with_a_version_and_validated(cast):
    rule = qualification.rule_save(
        actor=cast.marketer,
        data={
            "name": "Hot",
            "fast_track_only": True,
            "sla_tier": "hot",
            "team_id": cast.team.pk,
            "exclude_domains": "@Rival.com, competitor.io",
        },
    )
    assert rule.exclude_domains == "competitor.io\nrival.com"
    qualification.rule_save(actor=cast.manager, rule_id=rule.pk, data={"min_engagement": 30})
    changes = list(QualificationRuleChange.objects.filter(rule=rule).order_by("version"))
    assert [(c.action, c.actor) for c in changes] == [
        ("created", cast.marketer),
        ("updated", cast.manager),
    ]
    assert (changes[1].before["min_engagement"], changes[1].after["min_engagement"]) == (0, 30)
    with pytest.raises(qualification.ApplicationError) as error:
        qualification.rule_save(actor=cast.marketer, rule_id=rule.pk, data={"min_probability": 3})
    assert error.value.field == "min_probability"


def test_the_pages_let_marketing_edit_and_preview_rules(cast):
    QualificationRuleFactory(name="Standard", position=0, min_engagement=50, team=cast.team)
    mql()
    mql(engagement_score=10)
    assert login(cast.rep).get("/qualification/").status_code == 403
    client = login(cast.marketer)
    page = client.get("/qualification/").content.decode()
    assert "Standard" in page
    assert "2 MQLs are waiting for a handoff now; 1 of them meet no active rule." in page

    form = {
        "name": "Catch-all",
        "stages": ["mql"],
        "min_engagement": "0",
        "sla_tier": "standard",
        "team": str(cast.team.pk),
        "is_active": "on",
    }
    preview = client.post(
        "/qualification/new/", {**form, "action": "preview"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "2 would be handed off and 0 would keep waiting" in preview
    assert not QualificationRule.objects.filter(name="Catch-all").exists()

    assert client.post("/qualification/new/", {**form, "action": "save"}).status_code == 302
    rule = QualificationRule.objects.get(name="Catch-all")
    assert rule.position == 1
    bad = client.post(f"/qualification/{rule.pk}/", {**form, "min_engagement": "x"})
    assert bad.status_code == 400


def test_a_handoff_waits_when_no_rule_matches(cast):
    QualificationRuleFactory(position=0, min_engagement=90, team=cast.team)
    lead = mql()
    assert handoff_qualify(lead_id=lead.pk) is None
    assert not Handoff.objects.filter(lead=lead).exists()
