from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadflow.models import Event
from marketing.models import Lead, Touchpoint
from tests.factories import FormFactory, LeadFactory

pytestmark = pytest.mark.django_db

PERSON = {
    "email": "  Jane.Doe@Example.COM ",
    "first_name": "Jane",
    "last_name": "Doe",
    "company": "Example Inc",
    "job_title": "VP Marketing",
    "company_size": "500",
    "country": "de",
    "phone": "030 1234567",
}


def post(form, data, **extra):
    return Client().post(reverse("marketing:public_form", args=[form.key]), data, **extra)


def test_a_submission_stores_the_lead_at_once_with_its_attribution():
    form = FormFactory()
    response = post(form, {**PERSON, "utm_source": "newsletter", "utm_campaign": "spring"})

    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.email == "jane.doe@example.com"
    assert lead.phone == "+49301234567"
    assert lead.country == "DE"
    assert lead.campaign == form.campaign
    assert lead.scored_at is None  # the worker scores it
    touch = Touchpoint.objects.get()
    assert (touch.utm_source, touch.utm_campaign, touch.form) == ("newsletter", "spring", form)
    assert Event.objects.filter(subject_type="marketing.lead", kind="created").count() == 1


def test_the_same_person_twice_is_one_lead_with_two_touchpoints_and_only_empty_fields_filled():
    form = FormFactory()
    existing = LeadFactory(email="jane.doe@example.com", company="Original Co", job_title="")

    post(form, PERSON)

    assert Lead.objects.count() == 1
    existing.refresh_from_db()
    assert existing.company == "Original Co"  # kept
    assert existing.job_title == "VP Marketing"  # filled
    assert existing.touchpoints.count() == 1
    assert not Event.objects.filter(kind="created").exists()


def test_a_honeypot_submission_stores_nothing():
    response = post(FormFactory(), {**PERSON, "website": "http://spam.example"})

    assert response.status_code == 200
    assert not Lead.objects.exists()
    assert not Touchpoint.objects.exists()


def test_an_invalid_submission_says_what_is_wrong_and_stores_nothing():
    response = post(FormFactory(), {**PERSON, "email": "not-an-email", "phone": "12"})

    assert response.status_code == 400
    assert b"Enter a valid email address" in response.content
    assert not Lead.objects.exists()


def test_an_impossible_phone_number_is_a_field_error_not_a_crash():
    response = post(FormFactory(), {**PERSON, "phone": "+1 2"}, HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert "phone" in response.json()["error"]["fields"]
    assert not Lead.objects.exists()


def test_json_clients_get_201_and_the_public_endpoint_sets_no_cookie():
    response = post(FormFactory(), PERSON, HTTP_ACCEPT="application/json")

    assert response.status_code == 201
    assert not response.cookies


def test_an_unknown_or_inactive_form_is_404():
    inactive = FormFactory(is_active=False)
    assert post(inactive, PERSON).status_code == 404
    assert Client().get("/f/nope/").status_code == 404


def test_capture_takes_a_fixed_small_number_of_statements():
    form = FormFactory()
    post(form, {**PERSON, "email": "warm@example.com"})  # warm caches
    with CaptureQueriesContext(connection) as first:
        post(form, {**PERSON, "email": "new@example.com"})
    with CaptureQueriesContext(connection) as again:
        post(form, {**PERSON, "email": "new@example.com"})

    statements = [q for q in first.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) <= 5, [q["sql"][:80] for q in statements]
    assert len([q for q in again.captured_queries if "SAVEPOINT" not in q["sql"]]) <= 5
