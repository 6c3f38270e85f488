from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from handoff import services
from handoff.models import Handoff
from leadflow.errors import ApplicationError, ConflictError
from leadflow.models import Event
from marketing.models import Lead, Stage
from sales.models import Account, Deal, Touch
from tests.conftest import login
from tests.factories import HandoffFactory, LeadFactory

pytestmark = pytest.mark.django_db


def routed(cast, **lead_fields):
    handoff = HandoffFactory(team=cast.team, lead=LeadFactory(stage=Stage.SQL, **lead_fields))
    return services.handoff_route(handoff=handoff)


def test_routing_is_round_robin_across_the_teams_reps(cast):
    owners = [routed(cast).assigned_to for _ in range(4)]
    assert owners == [cast.rep, cast.rep2, cast.rep, cast.rep2]


def test_routing_skips_reps_who_are_away(cast):
    cast.rep.is_away = True
    cast.rep.save(update_fields=["is_away"])
    assert {routed(cast).assigned_to for _ in range(3)} == {cast.rep2}


def test_with_nobody_available_the_handoff_waits_in_the_team_pool(cast):
    for rep in (cast.rep, cast.rep2):
        rep.is_away = True
        rep.save(update_fields=["is_away"])
    handoff = routed(cast)
    assert handoff.assigned_to is None
    assert "pool" in handoff.routing_reason


def test_a_claim_from_the_pool_is_given_to_exactly_one_rep(cast):
    handoff = HandoffFactory(team=cast.team)
    services.handoff_claim(handoff_id=handoff.pk, user=cast.rep)
    with pytest.raises(ConflictError):
        services.handoff_claim(handoff_id=handoff.pk, user=cast.rep2)
    assert Handoff.objects.get(pk=handoff.pk).assigned_to == cast.rep


def test_a_rep_of_another_team_cannot_claim(cast):
    handoff = HandoffFactory(team=cast.team)
    with pytest.raises(ConflictError):
        services.handoff_claim(handoff_id=handoff.pk, user=cast.other_rep)


def test_reject_without_a_reason_is_refused(cast):
    handoff = routed(cast)
    with pytest.raises(ApplicationError):
        services.handoff_reject(handoff_id=handoff.pk, user=handoff.assigned_to, reason="")
    assert Handoff.objects.get(pk=handoff.pk).status == Handoff.Status.PENDING


def test_reject_recycles_the_lead_to_marketing_with_an_event(cast):
    handoff = routed(cast)
    services.handoff_reject(
        handoff_id=handoff.pk, user=handoff.assigned_to, reason="no_budget", note="next year"
    )
    handoff.refresh_from_db()
    assert (handoff.status, handoff.reject_reason, handoff.reject_note) == (
        "rejected",
        "no_budget",
        "next year",
    )
    assert Lead.objects.get(pk=handoff.lead_id).stage == Stage.RECYCLED
    event = Event.objects.filter(subject_id=handoff.lead_id, kind="stage").last()
    assert event.new_value == "recycled"
    assert event.actor == handoff.assigned_to


def test_accept_then_convert_makes_account_contact_and_deal(cast):
    handoff = routed(cast, email="ann@acme.com", company="Acme")
    rep = handoff.assigned_to
    services.handoff_accept(handoff_id=handoff.pk, user=rep)
    services.handoff_log_touch(handoff_id=handoff.pk, user=rep, kind="call", outcome="talked")
    deal = services.handoff_convert(
        handoff_id=handoff.pk, user=rep, deal_name="Acme platform", amount=Decimal("12000")
    )

    handoff.refresh_from_db()
    assert handoff.status == "converted"
    assert handoff.deal == deal
    assert handoff.accepted_at
    assert handoff.first_touch_at
    assert handoff.converted_at
    assert deal.account.domain == "acme.com"
    assert deal.contact.email == "ann@acme.com"
    assert deal.stage.name == "Discovery"
    assert deal.owner == rep
    assert Lead.objects.get(pk=handoff.lead_id).stage == Stage.OPPORTUNITY
    assert Touch.objects.filter(lead_id=handoff.lead_id, kind="call").count() == 1


def test_a_lead_from_acme_joins_the_existing_account_and_gmail_never_matches(cast):
    acme = Account.objects.create(name="Acme Corp", domain="acme.com")
    Account.objects.create(name="Somebody", domain="")
    deals = []
    for email, company in (("bob@acme.com", "ACME GmbH"), ("joe@gmail.com", "Joe's")):
        handoff = routed(cast, email=email, company=company)
        services.handoff_accept(handoff_id=handoff.pk, user=handoff.assigned_to)
        deals.append(
            services.handoff_convert(
                handoff_id=handoff.pk,
                user=handoff.assigned_to,
                deal_name="d",
                amount=Decimal(1),
            )
        )
    assert deals[0].account == acme
    assert deals[1].account != acme
    assert deals[1].account.domain == ""


def test_converting_before_accepting_is_refused(cast):
    handoff = routed(cast)
    with pytest.raises(ConflictError):
        services.handoff_convert(
            handoff_id=handoff.pk, user=handoff.assigned_to, deal_name="x", amount=Decimal(1)
        )
    assert not Deal.objects.exists()


def test_only_the_assigned_rep_may_accept(cast):
    handoff = routed(cast)
    other = cast.rep2 if handoff.assigned_to == cast.rep else cast.rep
    with pytest.raises(ConflictError):
        services.handoff_accept(handoff_id=handoff.pk, user=other)


def test_a_rep_cannot_open_another_teams_handoff(cast):
    handoff = routed(cast)
    client = login(cast.other_rep)
    for name in ("detail",):
        assert client.get(reverse(f"handoff:{name}", args=[handoff.pk])).status_code == 404
    for name in ("accept", "claim", "reject", "touch", "convert"):
        response = client.post(reverse(f"handoff:{name}", args=[handoff.pk]), {"reason": "spam"})
        assert response.status_code == 404
    assert Handoff.objects.get(pk=handoff.pk).status == "pending"


def test_a_rep_does_not_see_a_teammates_handoff_either(cast):
    handoff = routed(cast)
    other = cast.rep2 if handoff.assigned_to == cast.rep else cast.rep
    assert login(other).get(reverse("handoff:detail", args=[handoff.pk])).status_code == 404


def test_the_manager_of_the_team_sees_it_and_a_marketer_is_refused_the_queue(cast):
    handoff = routed(cast)
    assert login(cast.manager).get(reverse("handoff:detail", args=[handoff.pk])).status_code == 200
    assert login(cast.marketer).get(reverse("handoff:queue")).status_code == 403


def test_the_queue_shows_my_handoffs_and_the_team_pool(cast):
    mine = routed(cast, company="Mine Inc")
    pool = HandoffFactory(team=cast.team, lead=LeadFactory(company="Pooled Ltd"))
    client = login(mine.assigned_to)

    page = client.get(reverse("handoff:queue"))
    partial = client.get(reverse("handoff:queue"), HTTP_HX_REQUEST="true")

    assert b"Mine Inc" in page.content
    assert b"Pooled Ltd" in page.content
    assert b"<html" not in partial.content
    assert b"Mine Inc" in partial.content
    assert pool.pk


def test_accepting_from_the_queue_with_htmx_rerenders_the_queue(cast):
    handoff = routed(cast)
    response = login(handoff.assigned_to).post(
        reverse("handoff:accept", args=[handoff.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="queue",
    )
    assert response.status_code == 200
    assert b'id="queue"' in response.content
    assert Handoff.objects.get(pk=handoff.pk).status == "accepted"


def test_a_reject_form_without_reason_shows_the_error(cast):
    handoff = routed(cast)
    response = login(handoff.assigned_to).post(
        reverse("handoff:reject", args=[handoff.pk]), {"reason": ""}
    )
    assert response.status_code == 400
    assert b"This field is required" in response.content


def test_events_cannot_be_changed_or_deleted(cast):
    handoff = routed(cast)
    event = Event.objects.filter(subject_type="handoff.handoff", subject_id=handoff.pk).first()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        Event.objects.filter(pk=event.pk).delete()
    assert Event.objects.get(pk=event.pk).reason == event.reason


def test_converting_a_pending_handoff_in_the_browser_shows_why_and_creates_nothing(cast):
    handoff = routed(cast)
    response = login(handoff.assigned_to).post(
        reverse("handoff:convert", args=[handoff.pk]), {"deal_name": "X", "amount": "100"}
    )
    assert response.status_code == 400
    assert "Accept the handoff before converting it." in response.content.decode()
    assert not Deal.objects.exists()


def test_a_touch_logged_in_the_browser_stops_the_first_touch_clock(cast):
    handoff = routed(cast)
    response = login(handoff.assigned_to).post(
        reverse("handoff:touch", args=[handoff.pk]), {"kind": "email", "outcome": "sent"}
    )
    assert response.status_code == 302
    assert Handoff.objects.get(pk=handoff.pk).first_touch_at is not None
