from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from handoff import services as handoff_services
from leadflow.models import Event
from marketing.models import Lead, Stage
from sales.models import Deal, PipelineStage
from tests.conftest import login
from tests.factories import HandoffFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(cast) -> Deal:
    handoff = HandoffFactory.create(team=cast.team, lead=LeadFactory.create(stage=Stage.SQL))
    handoff_services._assign(handoff, cast.rep, reason="test", actor=None)
    handoff_services.handoff_accept(handoff_id=handoff.pk, user=cast.rep)
    return handoff_services.handoff_convert(
        handoff_id=handoff.pk, user=cast.rep, deal_name="Big deal", amount=Decimal("5000")
    )


def stage(name: str) -> PipelineStage:
    return PipelineStage.objects.get(name=name, pipeline__is_default=True)


def test_the_board_shows_the_deal_in_its_stage_with_column_totals(cast, deal):
    response = login(cast.rep).get(reverse("sales:board"))
    assert response.status_code == 200
    column = next(c for c in response.context["columns"] if c["stage"].name == "Discovery")
    assert column["deals"] == [deal]
    assert column["total"] == Decimal("5000")


def test_moving_a_deal_to_won_is_an_event_and_makes_the_lead_a_customer(cast, deal):
    response = login(cast.rep).post(
        reverse("sales:deal_move", args=[deal.pk]), {"stage": stage("Won").pk}
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage.outcome == "won"
    assert deal.closed_at is not None
    event = Event.objects.get(subject_type="sales.deal", subject_id=deal.pk, kind="stage")
    assert (event.old_value, event.new_value, event.actor) == ("Discovery", "Won", cast.rep)
    assert Lead.objects.get(pk=deal.lead_id).stage == Stage.CUSTOMER


def test_lost_requires_a_reason(cast, deal):
    client = login(cast.rep)
    client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": stage("Lost").pk})
    assert Deal.objects.get(pk=deal.pk).stage.name == "Discovery"
    client.post(
        reverse("sales:deal_move", args=[deal.pk]),
        {"stage": stage("Lost").pk, "lost_reason": "Chose a competitor"},
    )
    assert Deal.objects.get(pk=deal.pk).lost_reason == "Chose a competitor"


def test_a_marketer_cannot_change_a_deal(cast, deal):
    response = login(cast.marketer).post(
        reverse("sales:deal_move", args=[deal.pk]), {"stage": stage("Won").pk}
    )
    assert response.status_code == 403
    assert Deal.objects.get(pk=deal.pk).stage.name == "Discovery"
    assert login(cast.marketer).get(reverse("sales:board")).status_code == 403


def test_another_rep_neither_sees_nor_moves_a_private_deal(cast, deal):
    client = login(cast.rep2)
    board = client.get(reverse("sales:board"))
    assert all(deal not in column["deals"] for column in board.context["columns"])
    response = client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": stage("Won").pk})
    assert response.status_code == 404


def test_a_shared_team_lets_teammates_see_the_deal_and_the_manager_always_does(cast, deal):
    cast.team.visibility = "shared"
    cast.team.save(update_fields=["visibility"])
    for user in (cast.rep2, cast.manager):
        columns = login(user).get(reverse("sales:board")).context["columns"]
        assert any(deal in column["deals"] for column in columns)
    columns = login(cast.other_rep).get(reverse("sales:board")).context["columns"]
    assert all(deal not in column["deals"] for column in columns)


def test_a_stage_of_another_pipeline_is_refused(cast, deal):
    from sales.models import Pipeline

    other = Pipeline.objects.create(name="Renewals")
    foreign = PipelineStage.objects.create(pipeline=other, name="Foreign", position=0)
    login(cast.rep).post(reverse("sales:deal_move", args=[deal.pk]), {"stage": foreign.pk})
    assert Deal.objects.get(pk=deal.pk).stage.name == "Discovery"
