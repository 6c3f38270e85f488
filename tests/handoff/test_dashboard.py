from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from handoff import routing, selectors, services
from handoff.models import Handoff
from marketing.models import Stage
from sales import services as sales_services
from sales.models import PipelineStage
from tests.conftest import login
from tests.factories import HandoffFactory, LeadFactory

pytestmark = pytest.mark.django_db


def worked(cast, team, *, accept: bool = True, convert: bool = False, win: bool = False):
    """A handoff of ``team`` taken as far as asked."""
    rep = cast.rep if team == cast.team else cast.other_rep
    lead = LeadFactory.create(stage=Stage.SQL, mql_at=timezone.now())
    handoff = HandoffFactory.create(team=team, lead=lead)
    routing.assign(handoff=handoff, rep=rep, reason="test", actor=None)
    if accept:
        services.handoff_accept(handoff_id=handoff.pk, user=rep)
    if convert:
        deal = services.handoff_convert(
            handoff_id=handoff.pk, user=rep, deal_name="d", amount=Decimal("1000")
        )
        if win:
            won = PipelineStage.objects.get(pipeline=deal.pipeline, outcome="won")
            sales_services.deal_move(
                deal_id=deal.pk, stage_id=won.pk, actor=rep, reason="Price and terms"
            )
    return handoff


def test_the_funnel_counts_each_stage_and_the_median_acceptance_time(cast):
    LeadFactory.create()  # a plain lead
    worked(cast, cast.team, accept=False)
    worked(cast, cast.team, convert=True, win=True)
    worked(cast, cast.other_team, convert=True)
    # The two accepted handoffs took 10 and 30 minutes: the median is 20.
    times = iter([10, 30])
    for handoff in Handoff.objects.filter(accepted_at__isnull=False).order_by("pk"):
        Handoff.objects.filter(pk=handoff.pk).update(
            handed_off_at=handoff.accepted_at - timedelta(minutes=next(times))
        )
    now = timezone.now()

    funnel = selectors.dashboard_funnel(start=now - timedelta(days=1), end=now)

    assert (funnel.leads, funnel.mqls, funnel.sqls) == (4, 3, 3)
    assert (funnel.accepted, funnel.opportunities, funnel.won) == (2, 2, 1)
    assert funnel.won_value == 1000.0
    assert funnel.median_accept_minutes == pytest.approx(20, abs=0.1)
    assert funnel.conversion["won"] == 50.0


def test_the_team_filter_narrows_the_sales_side(cast):
    worked(cast, cast.team, convert=True)
    worked(cast, cast.other_team)
    now = timezone.now()

    east = selectors.dashboard_funnel(start=now - timedelta(days=1), end=now, team_id=cast.team.pk)

    assert (east.sqls, east.accepted, east.opportunities) == (1, 1, 1)


def test_leads_outside_the_period_are_not_counted(cast):
    LeadFactory.create()
    now = timezone.now()
    funnel = selectors.dashboard_funnel(start=now - timedelta(days=30), end=now - timedelta(days=1))
    assert funnel.leads == 0


def test_the_dashboard_page_renders_for_each_role_and_htmx_gets_the_panels(cast):
    worked(cast, cast.team, convert=True)
    for user in (cast.manager, cast.marketer, cast.rep, cast.admin):
        assert login(user).get(reverse("handoff:dashboard")).status_code == 200
    partial = login(cast.manager).get(
        reverse("handoff:dashboard"), {"period": "30", "team": cast.team.pk}, HTTP_HX_REQUEST="true"
    )
    assert b'id="panels"' in partial.content
    assert b"<html" not in partial.content
    assert partial.context["funnel"].opportunities == 1


def test_a_rep_only_ever_sees_the_numbers_of_their_own_team(cast):
    worked(cast, cast.other_team, convert=True)
    response = login(cast.rep).get(reverse("handoff:dashboard"), {"team": cast.other_team.pk})
    assert response.context["team_id"] == cast.team.pk
    assert response.context["funnel"].opportunities == 0
