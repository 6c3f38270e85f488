"""The pages of routing: My queue's in-place actions, My team, Rejections; roles, objects
and query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from handoff import services
from handoff.models import Handoff
from marketing.models import Stage
from tests.conftest import login
from tests.factories import CampaignFactory, HandoffFactory, LeadFactory

pytestmark = pytest.mark.django_db
HTMX_QUEUE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "queue"}
HTMX_TEAM = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "team"}


def routed(cast):
    handoff = HandoffFactory(team=cast.team, lead=LeadFactory(stage=Stage.SQL))
    return services.handoff_route(handoff=handoff)


def test_reject_in_the_queue_without_a_reason_says_so_and_changes_nothing(cast):
    handoff = routed(cast)
    response = login(handoff.assigned_to).post(
        f"/handoffs/{handoff.pk}/reject/", {"reason": "", "note": "x"}, **HTMX_QUEUE
    )
    assert response.status_code == 200
    assert "Choose a reason for the rejection." in response.content.decode()
    assert Handoff.objects.get(pk=handoff.pk).status == "pending"


def test_reject_in_the_queue_with_a_reason_rerenders_the_queue(cast):
    handoff = routed(cast)
    response = login(handoff.assigned_to).post(
        f"/handoffs/{handoff.pk}/reject/", {"reason": "spam"}, **HTMX_QUEUE
    )
    body = response.content.decode()
    assert 'id="queue"' in body
    assert "went back to marketing" in body
    assert Handoff.objects.get(pk=handoff.pk).reject_reason == "spam"


def test_a_rep_cannot_reject_another_reps_handoff(cast):
    handoff = routed(cast)
    other = cast.rep2 if handoff.assigned_to == cast.rep else cast.rep
    response = login(other).post(f"/handoffs/{handoff.pk}/reject/", {"reason": "spam"})
    assert response.status_code == 404
    assert Handoff.objects.get(pk=handoff.pk).status == "pending"


def test_claim_next_in_the_queue_gives_the_rep_the_hottest(cast):
    HandoffFactory(team=cast.team, sla_tier="standard")
    hot = HandoffFactory(team=cast.team, sla_tier="hot")
    response = login(cast.rep).post("/queue/claim-next/", **HTMX_QUEUE)
    assert "The lead is yours." in response.content.decode()
    assert Handoff.objects.get(pk=hot.pk).assigned_to == cast.rep
    assert login(cast.manager).post("/queue/claim-next/").status_code == 403


def test_a_rep_sets_themself_away_and_back_from_the_queue(cast):
    client = login(cast.rep)
    client.post("/queue/away/", {"away": "1"})
    cast.rep.refresh_from_db()
    assert cast.rep.is_away
    client.post("/queue/away/", {"away": "0"}, **HTMX_QUEUE)
    cast.rep.refresh_from_db()
    assert not cast.rep.is_away


def test_a_rep_cannot_set_a_colleague_away(cast):
    response = login(cast.rep).post("/queue/away/", {"away": "1", "rep": cast.rep2.pk})
    assert response.status_code == 302
    cast.rep2.refresh_from_db()
    assert not cast.rep2.is_away


def test_the_team_view_is_for_managers_and_shows_each_reps_load_in_a_few_queries(cast):
    for _ in range(6):
        routed(cast)
    client = login(cast.manager)
    client.get("/team/")  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/team/")
    assert response.status_code == 200
    reps = {row.rep.username: row.open_count for row in response.context["reps"]}
    assert reps == {"rep": 3, "rep2": 3}
    assert len(queries) <= 10
    assert login(cast.rep).get("/team/").status_code == 403
    assert login(cast.marketer).get("/team/").status_code == 403


def test_a_manager_reassigns_from_the_team_view_but_not_another_teams_handoff(cast):
    handoff = routed(cast)
    target = cast.rep2 if handoff.assigned_to == cast.rep else cast.rep
    response = login(cast.manager).post(
        f"/handoffs/{handoff.pk}/reassign/", {"rep": target.pk}, **HTMX_TEAM
    )
    assert 'id="team"' in response.content.decode()
    assert Handoff.objects.get(pk=handoff.pk).assigned_to == target
    foreign = HandoffFactory(team=cast.other_team)
    response = login(cast.manager).post(f"/handoffs/{foreign.pk}/reassign/", {"rep": ""})
    assert response.status_code == 404


def test_rejections_are_counted_by_reason_campaign_and_rule_for_marketing(cast):
    campaign = CampaignFactory(name="Webinar")
    for reason in ("spam", "spam", "no_budget"):
        handoff = routed(cast)
        handoff.lead.campaign = campaign
        handoff.lead.save(update_fields=["campaign"])
        services.handoff_reject(handoff_id=handoff.pk, user=handoff.assigned_to, reason=reason)
    client = login(cast.marketer)
    client.get("/rejections/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/rejections/?days=7")
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.total == 3
    assert [(row["key"], row["n"]) for row in summary.by_reason] == [("spam", 2), ("no_budget", 1)]
    assert summary.by_campaign == [{"label": "Webinar", "n": 3}]
    assert summary.by_rule == [{"label": "test rule", "n": 3}]
    assert len(queries) <= 10
    assert login(cast.rep).get("/rejections/").status_code == 403
