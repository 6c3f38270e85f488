from __future__ import annotations

import pytest
from django.urls import reverse

from marketing.models import Campaign, Form
from tests.conftest import login
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_a_marketer_creates_a_campaign_and_a_fast_track_form(cast):
    client = login(cast.marketer)
    response = client.post(
        reverse("marketing:campaigns"),
        {"name": "Spring", "channel": "webinar", "budget": "1000", "cost": "250"},
    )
    campaign = Campaign.objects.get(name="Spring")
    assert response["Location"] == reverse("marketing:campaign", args=[campaign.pk])
    assert campaign.owner == cast.marketer

    client.post(
        reverse("marketing:campaign", args=[campaign.pk]),
        {"name": "Request a demo", "campaign": campaign.pk, "fast_track": "on"},
    )
    form = Form.objects.get(campaign=campaign)
    assert form.fast_track
    page = client.get(reverse("marketing:campaign", args=[campaign.pk])).content.decode()
    assert reverse("marketing:public_form", args=[form.key]) in page


def test_a_campaign_that_ends_before_it_starts_is_refused_with_a_message(cast):
    response = login(cast.marketer).post(
        reverse("marketing:campaigns"),
        {
            "name": "Backwards",
            "channel": "email",
            "budget": "0",
            "cost": "0",
            "starts_on": "2026-05-01",
            "ends_on": "2026-04-01",
        },
    )
    assert response.status_code == 200
    assert "cannot end before it starts" in response.content.decode()
    assert not Campaign.objects.exists()


def test_reps_cannot_open_marketing_pages(cast):
    client = login(cast.rep)
    assert client.get(reverse("marketing:campaigns")).status_code == 403
    assert client.get(reverse("marketing:leads")).status_code == 403
    lead = LeadFactory.create()
    assert client.get(reverse("marketing:lead", args=[lead.pk])).status_code == 403


def test_the_lead_list_filters_by_search_and_stage_and_htmx_gets_the_rows(cast):
    LeadFactory.create(company="Northwind", stage="mql")
    LeadFactory.create(company="Contoso", stage="lead")
    client = login(cast.marketer)

    found = client.get(reverse("marketing:leads"), {"q": "north"})
    rows = client.get(reverse("marketing:leads"), {"stage": "lead"}, HTTP_HX_REQUEST="true")

    assert [lead.company for lead in found.context["leads"]] == ["Northwind"]
    assert [lead.company for lead in rows.context["leads"]] == ["Contoso"]
    assert b"<html" not in rows.content


def test_the_campaign_list_counts_leads_per_campaign(cast):
    campaign = CampaignFactory.create(owner=cast.marketer)
    LeadFactory.create(campaign=campaign, stage="mql")
    LeadFactory.create(campaign=campaign)
    response = login(cast.marketer).get(reverse("marketing:campaigns"))
    row = next(c for c in response.context["campaigns"] if c.pk == campaign.pk)
    assert row.lead_count == 2


def test_the_lead_page_explains_the_score_and_shows_the_timeline(cast):
    lead = LeadFactory.create()
    response = login(cast.marketer).get(reverse("marketing:lead", args=[lead.pk]))
    assert response.status_code == 200
    assert "Not scored yet" in response.content.decode()
