"""Converting an accepted handoff: account matching, filling only empty fields, the deal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from handoff import services as handoff_services
from handoff.models import Handoff
from leadflow.errors import ConflictError
from marketing.models import Campaign, Channel, Stage, Touchpoint
from sales import selectors
from sales.models import Account, Contact, Deal, Pipeline
from tests.conftest import login
from tests.sales.conftest import accepted_handoff

pytestmark = pytest.mark.django_db


def convert(handoff: Handoff, user, **kwargs) -> Deal:
    return handoff_services.handoff_convert(
        handoff_id=handoff.pk,
        user=user,
        deal_name=kwargs.pop("deal_name", "Deal"),
        amount=kwargs.pop("amount", Decimal("1000")),
        **kwargs,
    )


def test_a_lead_from_acme_com_joins_the_existing_acme_account(cast):
    acme = Account.objects.create(name="Acme Inc.", domain="acme.com", owner=cast.rep2)
    handoff = accepted_handoff(cast.rep, email="jane@acme.com", company="ACME Corporation")
    match = selectors.account_match(email="jane@acme.com", company="ACME Corporation")
    assert (match.account, match.by) == (acme, "domain")

    deal = convert(handoff, cast.rep, account_id=acme.pk)

    assert deal.account == acme
    assert Account.objects.count() == 1
    assert deal.contact.account == acme


def test_a_gmail_lead_never_matches_by_domain(cast):
    # Even a (wrongly) stored free-mail domain is never used to match.
    Account.objects.create(name="Someone", domain="gmail.com")
    handoff = accepted_handoff(cast.rep, email="solo@gmail.com", company="Solo Consulting")
    match = selectors.account_match(email="solo@gmail.com", company="Solo Consulting")
    assert (match.account, match.domain) == (None, "")

    deal = convert(handoff, cast.rep)

    assert deal.account.name == "Solo Consulting"
    assert deal.account.domain == ""
    other = accepted_handoff(cast.rep, email="other@gmail.com", company="Other Shop")
    assert convert(other, cast.rep).account != deal.account


def test_the_company_name_is_the_fallback_and_teaches_the_account_its_domain(cast):
    acme = Account.objects.create(name="Acme", domain="")
    handoff = accepted_handoff(cast.rep, email="ann@acme-group.io", company="acme")
    match = selectors.account_match(email="ann@acme-group.io", company="acme")
    assert (match.account, match.by) == (acme, "name")

    convert(handoff, cast.rep, account_id=acme.pk)

    acme.refresh_from_db()
    assert acme.domain == "acme-group.io"


def test_conversion_fills_only_empty_fields(cast):
    acme = Account.objects.create(name="Acme", domain="acme.com", owner=None, team=None)
    Account.objects.create(name="Keeps", domain="keeps.com", owner=cast.rep2)
    contact = Contact.objects.create(
        account=acme, email="jane@acme.com", first_name="Janet", last_name="", phone=""
    )
    handoff = accepted_handoff(
        cast.rep,
        email="jane@acme.com",
        first_name="Jane",
        last_name="Doe",
        phone="+4930123456",
        job_title="CTO",
        company="Acme Corporation",
    )

    deal = convert(handoff, cast.rep, account_id=acme.pk)

    acme.refresh_from_db()
    contact.refresh_from_db()
    assert deal.contact == contact
    assert acme.name == "Acme"  # kept
    assert (acme.owner, acme.team) == (cast.rep, cast.team)  # were empty: filled
    assert contact.first_name == "Janet"  # kept
    assert (contact.last_name, contact.phone, contact.job_title) == ("Doe", "+4930123456", "CTO")
    assert contact.lead_id == handoff.lead_id

    # An account that has an owner keeps it.
    keeps = Account.objects.get(domain="keeps.com")
    other = accepted_handoff(cast.rep, email="bob@keeps.com", company="Keeps")
    convert(other, cast.rep, account_id=keeps.pk)
    keeps.refresh_from_db()
    assert keeps.owner == cast.rep2


def test_declining_the_match_creates_a_new_account_without_the_taken_domain(cast):
    acme = Account.objects.create(name="Acme", domain="acme.com")
    handoff = accepted_handoff(cast.rep, email="x@acme.com", company="Acme Labs")

    deal = convert(handoff, cast.rep, new_account=True)

    assert deal.account != acme
    assert (deal.account.name, deal.account.domain) == ("Acme Labs", "")


def test_confirming_an_account_that_is_not_the_match_is_refused(cast):
    Account.objects.create(name="Acme", domain="acme.com")
    unrelated = Account.objects.create(name="Unrelated", domain="unrelated.com")
    handoff = accepted_handoff(cast.rep, email="x@acme.com", company="Acme")

    with pytest.raises(ConflictError):
        convert(handoff, cast.rep, account_id=unrelated.pk)

    assert not Deal.objects.exists()
    assert Handoff.objects.get(pk=handoff.pk).status == Handoff.Status.ACCEPTED


def test_the_deal_gets_the_attribution_and_the_handoff_its_timestamps(cast):
    campaign = Campaign.objects.create(name="Spring", channel=Channel.WEBINAR, owner=cast.marketer)
    handoff = accepted_handoff(cast.rep, email="v@northwind.example", source="webinar")
    lead = handoff.lead
    first = Touchpoint.objects.create(lead=lead, kind="form_submit", campaign=campaign)
    last = Touchpoint.objects.create(lead=lead, kind="pricing_view", utm_source="google")
    lead.first_touch, lead.last_touch, lead.campaign = first, last, campaign
    lead.save(update_fields=["first_touch", "last_touch", "campaign"])

    deal = convert(handoff, cast.rep, currency="eur", amount=Decimal("24000"))

    assert (deal.source, deal.campaign_name) == ("webinar", "Spring")
    assert (deal.first_touch, deal.last_touch) == (first, last)
    assert (deal.amount, deal.currency) == (Decimal("24000"), "EUR")
    handoff.refresh_from_db()
    assert handoff.status == Handoff.Status.CONVERTED
    assert handoff.deal == deal
    for stamp in ("handed_off_at", "assigned_at", "accepted_at", "first_touch_at", "converted_at"):
        assert getattr(handoff, stamp) is not None, stamp
    lead.refresh_from_db()
    assert lead.stage == Stage.OPPORTUNITY


def test_a_deal_goes_into_the_chosen_pipeline_of_the_team(cast):
    renewals = Pipeline.objects.create(name="Renewals", team=cast.team)
    renewals.stages.create(name="Talk", position=0, outcome="open")
    foreign = Pipeline.objects.create(name="West only", team=cast.other_team)
    foreign.stages.create(name="Open", position=0, outcome="open")
    handoff = accepted_handoff(cast.rep)

    from leadflow.errors import ApplicationError

    with pytest.raises(ApplicationError):
        convert(handoff, cast.rep, pipeline_id=foreign.pk)
    deal = convert(handoff, cast.rep, pipeline_id=renewals.pk)
    assert (deal.pipeline, deal.stage.name) == (renewals, "Talk")


def test_the_conversion_page_offers_the_match_and_converts(cast):
    acme = Account.objects.create(name="Acme Inc.", domain="acme.com", owner=cast.rep2)
    handoff = accepted_handoff(cast.rep, email="jane@acme.com", company="Acme")
    client = login(cast.rep)
    url = reverse("handoff:convert", args=[handoff.pk])

    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme Inc." in html
    assert "acme.com" in html
    assert f'value="{acme.pk}" checked' in html

    response = client.post(
        url,
        {
            "account": str(acme.pk),
            "deal_name": "Acme platform",
            "pipeline": str(Pipeline.objects.get(is_default=True, team=None).pk),
            "amount": "12000",
            "currency": "USD",
        },
    )
    assert response.status_code == 302
    deal = Deal.objects.get()
    assert (deal.name, deal.account) == ("Acme platform", acme)


def test_the_conversion_page_shows_a_clear_error_for_bad_input(cast):
    handoff = accepted_handoff(cast.rep)
    response = login(cast.rep).post(
        reverse("handoff:convert", args=[handoff.pk]),
        {
            "account": "new",
            "deal_name": "X",
            "pipeline": str(Pipeline.objects.get(is_default=True, team=None).pk),
            "amount": "10",
            "currency": "US$",
        },
    )
    assert response.status_code == 400
    assert "three-letter code" in response.content.decode()
    assert not Deal.objects.exists()


def test_only_the_assigned_rep_converts(cast):
    handoff = accepted_handoff(cast.rep)
    url = reverse("handoff:convert", args=[handoff.pk])
    assert login(cast.rep2).get(url).status_code == 404
    assert login(cast.other_rep).post(url, {"account": "new"}).status_code == 404
    assert login(cast.marketer).get(url).status_code == 403
    assert not Deal.objects.exists()
