"""Campaigns: the list with its funnel counts, a campaign's page, and editing one."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leadflow.errors import ApplicationError
from marketing import selectors, services
from marketing.models import Campaign, Stage
from tests.conftest import login
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("marketing:campaigns")


def funnel_leads(campaign: Campaign) -> None:
    """10 leads: 4 reached MQL, 3 SQL (one recycled since), 2 became deals, 1 was won."""
    now = timezone.now()
    LeadFactory.create_batch(6, campaign=campaign)
    LeadFactory.create(campaign=campaign, stage=Stage.MQL, mql_at=now)
    LeadFactory.create(campaign=campaign, stage=Stage.RECYCLED, mql_at=now, sql_at=now)
    LeadFactory.create(campaign=campaign, stage=Stage.OPPORTUNITY, mql_at=now, sql_at=now)
    LeadFactory.create(campaign=campaign, stage=Stage.CUSTOMER, mql_at=now, sql_at=now)


def test_the_campaign_list_counts_each_funnel_step_and_the_cost_per_lead(cast):
    campaign = CampaignFactory.create(owner=cast.marketer, name="Spring", cost=Decimal(1000))
    funnel_leads(campaign)
    LeadFactory.create_batch(2)  # no campaign: counted nowhere
    empty = CampaignFactory.create(name="Empty", cost=Decimal(50))

    response = login(cast.marketer).get(LIST_URL)

    rows = {c.pk: c for c in response.context["campaigns"]}
    row = rows[campaign.pk]
    assert (row.lead_count, row.mql_count, row.sql_count) == (10, 4, 3)
    assert (row.opportunity_count, row.won_count) == (2, 1)
    assert row.cost_per_lead == Decimal(100)
    assert row.cost_per_mql == Decimal(250)
    assert rows[empty.pk].cost_per_lead is None
    page = response.content.decode()
    assert "100.00" in page
    assert f"{reverse('marketing:leads')}?campaign={campaign.pk}" in page


def test_the_campaign_list_is_one_query_whatever_the_number_of_campaigns(cast):
    client = login(cast.marketer)

    def queries() -> list[str]:
        client.get(LIST_URL)  # warm the session
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST_URL).status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    funnel_leads(CampaignFactory.create())
    few = queries()
    for campaign in CampaignFactory.create_batch(12):
        funnel_leads(campaign)
    many = queries()

    assert len(many) == len(few)
    assert len([sql for sql in many if "marketing_lead" in sql]) == 1


def test_the_campaign_page_shows_its_funnel_costs_and_latest_leads(cast):
    campaign = CampaignFactory.create(
        name="Spring",
        cost=Decimal(1200),
        budget=Decimal(2000),
        utm_campaign="spring-26",
        starts_on=datetime.date(2026, 3, 1),
    )
    funnel_leads(campaign)
    other = LeadFactory.create(company="Elsewhere Ltd")

    response = login(cast.marketer).get(reverse("marketing:campaign", args=[campaign.pk]))

    assert response.status_code == 200
    shown = response.context["campaign"]
    assert (shown.lead_count, shown.mql_count, shown.sql_count) == (10, 4, 3)
    assert (shown.opportunity_count, shown.won_count) == (2, 1)
    assert shown.cost_per_sql == Decimal(400)
    assert len(response.context["leads"]) == 10
    page = response.content.decode()
    assert "utm_campaign=spring-26" in page
    assert "400.00" in page
    assert other.company not in page
    assert f"{reverse('marketing:leads')}?campaign={campaign.pk}" in page


def test_a_campaign_without_leads_says_how_to_get_some(cast):
    campaign = CampaignFactory.create()
    page = login(cast.marketer).get(reverse("marketing:campaign", args=[campaign.pk]))
    assert "No leads from this campaign yet." in page.content.decode()


def test_a_marketer_edits_a_campaign(cast):
    campaign = CampaignFactory.create(name="Spring", cost=Decimal(0))
    url = reverse("marketing:campaign_edit", args=[campaign.pk])
    client = login(cast.marketer)
    assert 'value="Spring"' in client.get(url).content.decode()

    response = client.post(
        url,
        {
            "name": "Spring 2026",
            "channel": "paid_social",
            "utm_source": "linkedin",
            "utm_medium": "paid",
            "utm_campaign": "spring-26",
            "budget": "5000",
            "cost": "1234.50",
            "starts_on": "2026-03-01",
            "ends_on": "2026-05-31",
        },
    )

    assert response["Location"] == reverse("marketing:campaign", args=[campaign.pk])
    campaign.refresh_from_db()
    assert (campaign.name, campaign.channel, campaign.utm_source) == (
        "Spring 2026",
        "paid_social",
        "linkedin",
    )
    assert (campaign.budget, campaign.cost) == (Decimal(5000), Decimal("1234.50"))
    assert (campaign.starts_on, campaign.ends_on) == (
        datetime.date(2026, 3, 1),
        datetime.date(2026, 5, 31),
    )


def test_an_edit_that_ends_before_it_starts_is_refused_and_changes_nothing(cast):
    campaign = CampaignFactory.create(name="Spring")
    response = login(cast.marketer).post(
        reverse("marketing:campaign_edit", args=[campaign.pk]),
        {
            "name": "Renamed",
            "channel": "email",
            "budget": "0",
            "cost": "0",
            "starts_on": "2026-05-01",
            "ends_on": "2026-04-01",
        },
    )
    assert response.status_code == 400
    assert "cannot end before it starts" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.name == "Spring"


def test_the_service_refuses_a_negative_cost(cast):
    campaign = CampaignFactory.create(cost=Decimal(10))
    with pytest.raises(ApplicationError) as refused:
        services.campaign_update(
            campaign_id=campaign.pk, name="x", channel="email", cost=Decimal(-1)
        )
    assert refused.value.field == "cost"
    campaign.refresh_from_db()
    assert campaign.cost == Decimal(10)


def test_reps_cannot_see_or_edit_campaigns(cast):
    campaign = CampaignFactory.create(name="Spring")
    client = login(cast.rep)
    assert client.get(LIST_URL).status_code == 403
    assert client.get(reverse("marketing:campaign", args=[campaign.pk])).status_code == 403
    response = client.post(
        reverse("marketing:campaign_edit", args=[campaign.pk]),
        {"name": "Hijacked", "channel": "email", "budget": "0", "cost": "0"},
    )
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.name == "Spring"


def test_editing_a_missing_campaign_is_not_found(cast):
    response = login(cast.marketer).get(reverse("marketing:campaign_edit", args=[999999]))
    assert response.status_code == 404


def test_campaign_options_list_every_campaign_by_name(cast):
    b = CampaignFactory.create(name="B")
    a = CampaignFactory.create(name="A")
    assert selectors.campaign_options() == [(a.pk, "A"), (b.pk, "B")]
