"""Routing rules, distribution inside a team, capacity, away, the pool and claiming."""

from __future__ import annotations

import pytest
from django.db import connection

from handoff import routing, services
from handoff.models import Handoff, RepWeight, RoutingRule, SlaDeadline, TeamRouting
from leadflow.errors import ConflictError, NotAllowedError
from leadflow.models import Event, Notification, Role
from marketing.models import Lead, Stage
from sales.models import Account
from tests.factories import HandoffFactory, LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def routed(team, **lead_fields):
    handoff = HandoffFactory(team=team, lead=LeadFactory(stage=Stage.SQL, **lead_fields))
    return services.handoff_route(handoff=handoff)


def settings_for(team, **fields):
    TeamRouting.objects.update_or_create(team=team, defaults=fields)


def test_round_robin_goes_around_the_reps_in_order(cast):
    rep3 = UserFactory(role=Role.REP, team=cast.team)
    owners = [routed(cast.team).assigned_to for _ in range(6)]
    assert owners == [cast.rep, cast.rep2, rep3, cast.rep, cast.rep2, rep3]


def test_an_away_rep_is_skipped_and_gets_leads_again_when_back(cast):
    routing.rep_set_away(rep_id=cast.rep.pk, away=True, actor=cast.rep)
    assert {routed(cast.team).assigned_to for _ in range(3)} == {cast.rep2}
    routing.rep_set_away(rep_id=cast.rep.pk, away=False, actor=cast.manager)
    assert {routed(cast.team).assigned_to for _ in range(2)} == {cast.rep, cast.rep2}


def test_a_rep_at_capacity_is_skipped_and_a_full_team_fills_the_pool(cast):
    settings_for(cast.team, max_open_per_rep=2)
    HandoffFactory.create_batch(2, team=cast.team, assigned_to=cast.rep)
    owners = [routed(cast.team).assigned_to for _ in range(3)]
    assert owners == [cast.rep2, cast.rep2, None]
    assert "pool" in Handoff.objects.latest("pk").routing_reason


def test_weighted_routing_splits_three_to_one(cast):
    settings_for(cast.team, strategy=TeamRouting.Strategy.WEIGHTED, max_open_per_rep=None)
    RepWeight.objects.create(user=cast.rep, weight=3)
    owners = [routed(cast.team).assigned_to for _ in range(8)]
    assert owners.count(cast.rep) == 6
    assert owners.count(cast.rep2) == 2
    assert owners[:4].count(cast.rep) == 3  # spread out, not bunched


def test_least_loaded_routing_picks_the_rep_with_fewest_open_handoffs(cast):
    settings_for(cast.team, strategy=TeamRouting.Strategy.LEAST_LOADED)
    HandoffFactory.create_batch(3, team=cast.team, assigned_to=cast.rep)
    owners = [routed(cast.team).assigned_to for _ in range(3)]
    assert owners == [cast.rep2, cast.rep2, cast.rep2]


def test_territory_and_segment_rules_pick_the_team_first_match_wins(cast):
    RoutingRule.objects.create(
        name="DACH", position=0, kind="country", countries="de, AT", team=cast.other_team
    )
    RoutingRule.objects.create(
        name="Enterprise", position=1, kind="company_size", min_company_size=1000, team=cast.team
    )
    assert routed(cast.team, country="DE", company_size=5000).assigned_to == cast.other_rep
    enterprise = routed(cast.other_team, country="FR", company_size=5000)
    assert enterprise.team == cast.team
    assert enterprise.assigned_to.team == cast.team
    small = routed(cast.other_team, country="FR", company_size=10)
    assert small.team == cast.other_team


def test_the_existing_account_owner_wins_over_every_later_rule(cast):
    RoutingRule.objects.create(name="Owner", position=0, kind="account_owner")
    RoutingRule.objects.create(
        name="DACH", position=1, kind="country", countries="DE", team=cast.other_team
    )
    Account.objects.create(name="Acme", domain="acme.example", owner=cast.rep2)
    handoff = routed(cast.other_team, email="buyer@acme.example", country="DE")
    assert (handoff.team, handoff.assigned_to) == (cast.team, cast.rep2)
    assert "account owner" in handoff.routing_reason
    # Without an account the territory rule applies.
    assert routed(cast.team, email="x@other.example", country="DE").team == cast.other_team


def test_an_away_account_owner_leaves_the_lead_to_the_owners_team(cast):
    RoutingRule.objects.create(name="Owner", position=0, kind="account_owner")
    Account.objects.create(name="Acme", domain="acme.example", owner=cast.rep2)
    routing.rep_set_away(rep_id=cast.rep2.pk, away=True, actor=cast.rep2)
    handoff = routed(cast.other_team, email="buyer@acme.example")
    assert (handoff.team, handoff.assigned_to) == (cast.team, cast.rep)


def test_routing_starts_the_clocks_and_notifies_the_rep(cast):
    handoff = routed(cast.team)
    kinds = set(handoff.deadlines.values_list("kind", "rep_id"))
    assert kinds == {("accept", cast.rep.pk), ("touch", cast.rep.pk)}
    assert handoff.accept_due_at is not None
    assert handoff.touch_due_at > handoff.accept_due_at
    note = Notification.objects.get(user=cast.rep, kind="handoff.assigned")
    assert note.url == f"/handoffs/{handoff.pk}/"


def test_a_rep_cannot_set_a_colleague_away_but_their_manager_can(cast):
    with pytest.raises(NotAllowedError):
        routing.rep_set_away(rep_id=cast.rep2.pk, away=True, actor=cast.rep)
    with pytest.raises(NotAllowedError):
        routing.rep_set_away(rep_id=cast.other_rep.pk, away=True, actor=cast.manager)
    routing.rep_set_away(rep_id=cast.rep2.pk, away=True, actor=cast.manager)
    cast.rep2.refresh_from_db()
    assert cast.rep2.is_away


def test_claim_next_takes_the_hottest_then_the_oldest(cast):
    old_standard = HandoffFactory(team=cast.team, sla_tier="standard")
    Lead.objects.filter(pk=old_standard.lead_id).update(owner=cast.rep2)
    hot = HandoffFactory(team=cast.team, sla_tier="hot")
    newer_hot = HandoffFactory(team=cast.team, sla_tier="hot")
    taken = [services.handoff_claim_next(user=cast.rep) for _ in range(3)]
    assert taken == [hot.pk, newer_hot.pk, old_standard.pk]
    assert services.handoff_claim_next(user=cast.rep) is None
    assert Lead.objects.get(pk=hot.lead_id).owner == cast.rep
    assert Event.objects.filter(
        subject_type="handoff.handoff", subject_id=hot.pk, kind="owner", actor=cast.rep
    ).exists()
    lead_event = Event.objects.get(subject_type="marketing.lead", subject_id=hot.lead_id)
    assert (lead_event.old_value, lead_event.new_value) == ("", "rep")
    lead_event = Event.objects.get(subject_type="marketing.lead", subject_id=old_standard.lead_id)
    assert (lead_event.old_value, lead_event.new_value) == ("rep2", "rep")


def _nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_the_claim_rechecks_nothing_but_the_pool_row_under_its_lock(cast):
    """Under FOR UPDATE, Postgres re-evaluates every condition beside the lock for each row
    another claimer has just taken; the capacity check must sit above the lock, not in it."""
    settings_for(cast.team, max_open_per_rep=3)
    params = {"user": cast.rep.pk, "team": cast.team.pk, "username": "rep", "default_cap": 25}
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + routing._CLAIM_NEXT, params)
        (plan,) = cursor.fetchone()[0]
    locks = [node for node in _nodes(plan["Plan"]) if node["Node Type"] == "LockRows"]
    assert len(locks) == 1
    under_lock = list(_nodes(locks[0]))[1:]
    assert [node["Node Type"] for node in under_lock] == ["Index Scan"]
    assert under_lock[0]["Index Name"] == "handoff_pool_idx"
    assert "Subplan Name" not in under_lock[0]


def test_a_rep_at_capacity_cannot_claim(cast):
    settings_for(cast.team, max_open_per_rep=1)
    HandoffFactory(team=cast.team, assigned_to=cast.rep)
    HandoffFactory(team=cast.team)
    with pytest.raises(ConflictError):
        services.handoff_claim_next(user=cast.rep)


def test_a_claim_hands_the_running_clocks_to_the_claimer(cast):
    for rep in (cast.rep, cast.rep2):
        routing.rep_set_away(rep_id=rep.pk, away=True, actor=rep)
    handoff = routed(cast.team)
    assert handoff.assigned_to is None
    services.handoff_claim(handoff_id=handoff.pk, user=cast.rep)
    assert set(handoff.deadlines.values_list("rep_id", flat=True)) == {cast.rep.pk}


def test_a_manager_reassigns_within_the_team_only(cast):
    handoff = routed(cast.team)
    routing.reassign(handoff_id=handoff.pk, rep_id=cast.rep2.pk, manager=cast.manager)
    handoff.refresh_from_db()
    assert handoff.assigned_to == cast.rep2
    assert SlaDeadline.objects.filter(handoff=handoff, rep=cast.rep2).count() == 2
    with pytest.raises(NotAllowedError):
        routing.reassign(handoff_id=handoff.pk, rep_id=cast.other_rep.pk, manager=cast.manager)
    other_manager = UserFactory(role=Role.MANAGER, team=TeamFactory())
    with pytest.raises(NotAllowedError):
        routing.reassign(handoff_id=handoff.pk, rep_id=cast.rep.pk, manager=other_manager)
    routing.reassign(handoff_id=handoff.pk, rep_id=None, manager=cast.manager)
    handoff.refresh_from_db()
    assert handoff.assigned_to is None


def test_the_manager_edits_routing_hours_and_holidays_of_the_team_only(cast):
    from datetime import date

    from handoff.models import BusinessHours, Holiday
    from tests.conftest import login

    client = login(cast.manager)
    assert client.get("/team/settings/").status_code == 200
    response = client.post(
        "/team/settings/",
        {
            "action": "routing",
            "strategy": "weighted",
            "max_open_per_rep": "5",
            "reroute_on_breach": "on",
            f"weight_{cast.rep.pk}": "3",
            f"weight_{cast.rep2.pk}": "1",
        },
    )
    assert response.status_code == 302
    routing_row = TeamRouting.objects.get(team=cast.team)
    assert (routing_row.strategy, routing_row.max_open_per_rep, routing_row.reroute_on_breach) == (
        "weighted",
        5,
        True,
    )
    assert RepWeight.objects.get(user=cast.rep).weight == 3
    hours = {"action": "hours"}
    for day in range(5):
        hours |= {f"open_{day}": "on", f"opens_{day}": "08:00", f"closes_{day}": "16:00"}
    assert client.post("/team/settings/", hours).status_code == 302
    assert BusinessHours.objects.filter(team=cast.team, opens="08:00").count() == 5
    bad = {"action": "hours", "open_0": "on", "opens_0": "18:00", "closes_0": "09:00"}
    response = client.post("/team/settings/", bad)
    assert response.status_code == 400
    assert "closing must be after opening" in response.content.decode()
    response = client.post(
        "/team/settings/", {"action": "holiday_add", "date": "2030-12-25", "name": "Xmas"}
    )
    assert Holiday.objects.get(team=cast.team).date == date(2030, 12, 25)
    # A rep may not open it; another team's manager changes only their own team.
    assert login(cast.rep).get("/team/settings/").status_code == 403
    with pytest.raises(NotAllowedError):
        routing.team_routing_update(
            team_id=cast.other_team.pk,
            actor=cast.manager,
            strategy="round_robin",
            max_open_per_rep=None,
            reroute_on_breach=False,
            weights={},
        )
