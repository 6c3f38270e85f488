"""The board, its drag-and-drop endpoint, won/lost reasons, filters, totals and the list."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadflow.models import Event
from marketing.models import Stage
from sales import selectors
from sales.models import CloseReason, Deal, Pipeline, PipelineStage
from tests.conftest import login
from tests.sales.conftest import lead_of, stage

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "board"}


def move(client, deal: Deal, stage_name: str, **extra):
    return client.post(
        reverse("sales:deal_move", args=[deal.pk]),
        {"stage": stage(stage_name).pk, **extra},
        **HTMX,
    )


def test_the_board_shows_the_deal_in_its_stage_with_column_totals(cast, deal):
    response = login(cast.rep).get(reverse("sales:board"))
    assert response.status_code == 200
    column = next(c for c in response.context["columns"] if c.stage.name == "Discovery")
    assert column.deals == [deal]
    assert column.count == 1
    assert column.total.items() == [("USD", Decimal("5000"))]
    assert column.weighted.items() == [("USD", Decimal("500"))]  # 10 %


def test_a_drag_and_drop_move_is_recorded_as_an_event(cast, deal):
    response = move(login(cast.rep), deal, "Proposal")
    assert response.status_code == 200
    assert 'id="board"' in response.content.decode()  # the board partial, for the swap
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    event = Event.objects.get(subject_type="sales.deal", subject_id=deal.pk, kind="stage")
    assert (event.old_value, event.new_value, event.actor) == ("Discovery", "Proposal", cast.rep)
    assert deal.stage_changed_at == deal.last_activity_at


@pytest.mark.parametrize("outcome", ["Won", "Lost"])
def test_won_and_lost_require_a_reason(cast, deal, outcome):
    client = login(cast.rep)
    response = move(client, deal, outcome)
    assert "Say why the deal was" in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).stage.name == "Discovery"
    assert not Event.objects.filter(
        subject_type="sales.deal", subject_id=deal.pk, kind="stage"
    ).exists()


def test_a_reason_must_come_from_the_active_list(cast, deal):
    client = login(cast.rep)
    move(client, deal, "Lost", reason="Because I said so")
    assert Deal.objects.get(pk=deal.pk).stage.name == "Discovery"
    retired = CloseReason.objects.get(kind="lost", label="No budget")
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    move(client, deal, "Lost", reason="No budget")
    assert Deal.objects.get(pk=deal.pk).stage.name == "Discovery"
    # A won reason does not close a deal as lost.
    move(client, deal, "Lost", reason="Price and terms")
    assert Deal.objects.get(pk=deal.pk).stage.name == "Discovery"


def test_winning_with_a_reason_closes_the_deal_and_makes_the_lead_a_customer(cast, deal):
    response = move(login(cast.rep), deal, "Won", reason="Price and terms", note="3 years")
    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage.outcome == "won"
    assert (deal.close_reason, deal.close_note) == ("Price and terms", "3 years")
    assert deal.closed_at is not None
    event = Event.objects.get(subject_type="sales.deal", subject_id=deal.pk, kind="stage")
    assert (event.new_value, event.reason) == ("Won", "Price and terms")
    assert lead_of(deal).stage == Stage.CUSTOMER


def test_reopening_a_closed_deal_clears_its_close(cast, deal):
    client = login(cast.rep)
    move(client, deal, "Lost", reason="Chose a competitor")
    move(client, deal, "Negotiation")
    deal.refresh_from_db()
    assert (deal.closed_at, deal.close_reason, deal.stage.name) == (None, "", "Negotiation")


def test_a_plain_post_without_htmx_redirects_with_the_message(cast, deal):
    response = login(cast.rep).post(
        reverse("sales:deal_move", args=[deal.pk]), {"stage": stage("Proposal").pk}
    )
    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).stage.name == "Proposal"


def test_a_stage_of_another_pipeline_is_refused(cast, deal):
    other = Pipeline.objects.create(name="Renewals")
    foreign = PipelineStage.objects.create(pipeline=other, name="Foreign", position=0)
    login(cast.rep).post(reverse("sales:deal_move", args=[deal.pk]), {"stage": foreign.pk})
    assert Deal.objects.get(pk=deal.pk).stage.name == "Discovery"


def test_garbage_input_to_the_move_endpoint_is_a_clear_error_not_a_crash(cast, deal):
    response = login(cast.rep).post(
        reverse("sales:deal_move", args=[deal.pk]), {"stage": "abc"}, **HTMX
    )
    assert response.status_code == 200
    assert "Choose a stage" in response.content.decode()


def test_the_board_filters_by_owner_and_close_month(cast, make_deal):
    cast.team.visibility = "shared"
    cast.team.save(update_fields=["visibility"])
    mine = make_deal(cast.rep)
    theirs = make_deal(cast.rep2)
    Deal.objects.filter(pk=mine.pk).update(expected_close=datetime.date(2026, 3, 15))
    client = login(cast.manager)

    def shown(**params) -> set[int]:
        response = client.get(reverse("sales:board"), params)
        assert response.status_code == 200
        return {d.pk for c in response.context["columns"] for d in c.deals}

    assert shown() == {mine.pk, theirs.pk}
    assert shown(owner=cast.rep2.pk) == {theirs.pk}
    assert shown(close_month="2026-03") == {mine.pk}
    assert shown(close_month="2026-04") == set()
    assert shown(close_month="not-a-month") == {mine.pk, theirs.pk}


def test_the_list_view_has_the_same_filters_and_a_closed_list(cast, make_deal):
    open_deal = make_deal(cast.rep)
    won = make_deal(cast.rep)
    client = login(cast.rep)
    move(client, won, "Won", reason="Price and terms")

    def listed(**params) -> list[int]:
        response = client.get(reverse("sales:deals"), params)
        assert response.status_code == 200
        return [d.pk for d in response.context["page"].object_list]

    assert set(listed()) == {open_deal.pk, won.pk}
    assert listed(status="closed") == [won.pk]
    assert listed(status="won") == [won.pk]
    assert listed(status="open") == [open_deal.pk]
    assert listed(owner=cast.rep.pk, status="lost") == []


def test_weighted_pipeline_value_counts_open_deals_by_probability(cast, make_deal):
    a = make_deal(cast.rep, amount="1000")
    make_deal(cast.rep, amount="3000")
    client = login(cast.rep)
    move(client, a, "Proposal")  # 50 %
    total, weighted = selectors.pipeline_value(selectors.deals_visible_to(cast.rep))
    assert total.items() == [("USD", Decimal("4000"))]
    assert weighted.items() == [("USD", Decimal("800"))]  # 500 + 300


def test_the_board_and_the_list_use_a_fixed_number_of_queries(cast, make_deal):
    for _ in range(3):
        make_deal(cast.rep)
    client = login(cast.rep)
    client.get(reverse("sales:board"))  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("sales:board"))
    for _ in range(5):
        make_deal(cast.rep)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("sales:board"))
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("sales:deals"))
    make_deal(cast.rep)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("sales:deals"))
    assert len(many) == len(few)


def test_a_full_column_shows_its_newest_cards_and_links_to_all_in_the_list(
    cast, make_deal, monkeypatch
):
    monkeypatch.setattr("sales.selectors.board.BOARD_CARDS_PER_COLUMN", 2)
    deals = [make_deal(cast.rep) for _ in range(3)]
    client = login(cast.rep)
    response = client.get(reverse("sales:board"))
    column = next(c for c in response.context["columns"] if c.stage.name == "Discovery")
    assert [d.pk for d in column.deals] == [deals[2].pk, deals[1].pk]
    assert column.count == 3
    link = f"stage={column.stage.pk}"
    assert link in response.content.decode()
    listed = client.get(reverse("sales:deals"), {"stage": column.stage.pk})
    assert {d.pk for d in listed.context["page"].object_list} == {d.pk for d in deals}
    other = client.get(reverse("sales:deals"), {"stage": stage("Won").pk})
    assert list(other.context["page"].object_list) == []
