"""The form builder: creating and editing capture forms in the browser."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from marketing.models import ConsentText, Form
from tests.conftest import login
from tests.factories import CampaignFactory, FormFactory

pytestmark = pytest.mark.django_db


def builder_data(**changes):
    """A builder post: asks email, company (required) and phone, with every setting."""
    data = {
        "name": "Request a demo",
        "title": "See LeadFlow in 20 minutes",
        "ask_company": "on",
        "required_company": "on",
        "ask_phone": "on",
        "consent_text": "I agree to be contacted about LeadFlow.",
        "thank_you_message": "We will call you today.",
        "redirect_url": "",
        "allowed_origins": "https://www.example.org/\nHTTPS://Shop.Example.org:8443",
        "fast_track": "on",
        "is_active": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def edit(client, form, **changes):
    return client.post(reverse("marketing:form_edit", args=[form.pk]), builder_data(**changes))


def test_a_marketer_builds_a_form_with_fields_consent_thanks_origins_and_fast_track(cast):
    campaign = CampaignFactory(owner=cast.marketer)
    client = login(cast.marketer)

    response = client.post(reverse("marketing:campaign", args=[campaign.pk]), builder_data())

    form = Form.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"#form-{form.pk}")
    assert form.campaign == campaign
    assert form.created_by == cast.marketer
    assert form.fields == [
        {"name": "email", "required": True},
        {"name": "company", "required": True},
        {"name": "phone", "required": False},
    ]
    assert form.allowed_origins == "https://www.example.org\nhttps://shop.example.org:8443"
    assert (form.title, form.thank_you_message, form.fast_track) == (
        "See LeadFlow in 20 minutes",
        "We will call you today.",
        True,
    )
    assert form.consent.version == 1
    assert form.consent.text == "I agree to be contacted about LeadFlow."


def test_the_email_is_always_asked_and_required_even_when_the_boxes_come_unticked(cast):
    campaign = CampaignFactory(owner=cast.marketer)

    login(cast.marketer).post(
        reverse("marketing:campaign", args=[campaign.pk]),
        builder_data(ask_company=None, required_company=None, ask_phone=None),
    )

    assert Form.objects.get().fields == [{"name": "email", "required": True}]


def test_ticking_required_alone_asks_for_the_field_too(cast):
    form = FormFactory()

    edit(login(cast.marketer), form, ask_company=None, required_company="on", ask_phone=None)

    form.refresh_from_db()
    assert {"name": "company", "required": True} in form.fields


def test_editing_the_consent_text_makes_a_new_version_and_keeps_the_old(cast):
    form = FormFactory()
    client = login(cast.marketer)

    edit(client, form, consent_text="Version one.")
    edit(client, form, consent_text="Version one.")  # unchanged: no new version
    edit(client, form, consent_text="Version two.")

    form.refresh_from_db()
    versions = list(ConsentText.objects.filter(form=form).order_by("version"))
    assert [(v.version, v.text) for v in versions] == [(1, "Version one."), (2, "Version two.")]
    assert form.consent == versions[1]
    assert form.consent_text == "Version two."
    page = client.get(reverse("marketing:form_edit", args=[form.pk])).content.decode()
    assert "Version one." in page
    assert "Version two." in page


def test_removing_the_consent_text_stops_asking_for_consent(cast):
    form = FormFactory()
    client = login(cast.marketer)
    edit(client, form, consent_text="Version one.")

    edit(client, form, consent_text="")

    form.refresh_from_db()
    assert form.consent is None
    page = Client().get(reverse("marketing:public_form", args=[form.key]))
    assert 'name="consent"' not in page.content.decode()


def test_a_bad_origin_is_refused_with_a_message_and_nothing_changes(cast):
    form = FormFactory(allowed_origins="https://www.example.org")

    response = edit(
        login(cast.marketer), form, allowed_origins="https://ok.example.org\nwww.example.org/page"
    )

    assert response.status_code == 400
    assert "is not an origin" in response.content.decode()
    form.refresh_from_db()
    assert form.allowed_origins == "https://www.example.org"


def test_a_redirect_must_be_a_web_address(cast):
    form = FormFactory()

    response = edit(login(cast.marketer), form, redirect_url="javascript:alert(1)")

    assert response.status_code == 400
    form.refresh_from_db()
    assert form.redirect_url == ""


def test_an_edit_is_seen_by_the_public_endpoint_at_once(cast, django_capture_on_commit_callbacks):
    form = FormFactory(fields=[{"name": "email", "required": True}])
    url = reverse("marketing:public_form", args=[form.key])
    assert 'name="company"' not in Client().get(url).content.decode()  # now cached
    client = login(cast.marketer)

    with django_capture_on_commit_callbacks(execute=True):
        edit(client, form)

    assert 'name="company"' in Client().get(url).content.decode()
    body = {"email": "a@example.com", "company": "A", "consent": "on"}
    answer = Client().post(url, body, HTTP_ORIGIN="https://www.example.org")
    assert answer.status_code == 200  # the new origin is allowed

    with django_capture_on_commit_callbacks(execute=True):
        edit(client, form, is_active=None)

    assert Client().get(url).status_code == 404


def test_the_hosted_page_asks_exactly_the_fields_of_the_form_and_the_consent_box(cast):
    form = FormFactory()
    edit(login(cast.marketer), form)

    page = Client().get(reverse("marketing:public_form", args=[form.key])).content.decode()

    for name in ("email", "company", "phone", "consent", "website"):
        assert f'name="{name}"' in page
    for name in ("first_name", "job_title", "country"):
        assert f'name="{name}"' not in page
    assert "I agree to be contacted about LeadFlow." in page
    assert 'name="consent_version" value="1"' in page


def test_the_campaign_page_shows_each_form_with_its_hosted_link_and_embed_snippet(cast):
    form = FormFactory(campaign=CampaignFactory(owner=cast.marketer))

    page = login(cast.marketer).get(reverse("marketing:campaign", args=[form.campaign_id]))

    html = page.content.decode()
    assert f"http://testserver/f/{form.key}/" in html
    assert f"&lt;div data-leadflow-form=&quot;{form.key}&quot;&gt;&lt;/div&gt;" in html
    assert "http://testserver/static/js/embed.js" in html
    assert reverse("marketing:form_edit", args=[form.pk]) in html


def test_reps_cannot_open_or_change_forms(cast):
    form = FormFactory()
    client = login(cast.rep)

    assert client.get(reverse("marketing:form_edit", args=[form.pk])).status_code == 403
    assert edit(client, form, name="Hijacked").status_code == 403
    form.refresh_from_db()
    assert form.name != "Hijacked"


def test_editing_a_form_that_does_not_exist_is_404(cast):
    response = login(cast.marketer).get(reverse("marketing:form_edit", args=[999999]))

    assert response.status_code == 404
