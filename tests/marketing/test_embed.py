"""What the embed loader reads: the form definition endpoint, and the loader itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from marketing import services
from tests.factories import FormFactory

pytestmark = pytest.mark.django_db

SITE = "https://www.example.org"
LOADER = Path(settings.BASE_DIR) / "static" / "js" / "embed.js"


def definition(form, **extra):
    return Client().get(reverse("marketing:public_form_definition", args=[form.key]), **extra)


def consented_form(**kwargs):
    form = FormFactory(**kwargs)
    return services.form_update(
        form_id=form.pk,
        name=form.name,
        title="Get the guide",
        thank_you_message="Check your inbox.",
        consent_text="I agree to receive the guide.",
        fields=[{"name": "email", "required": True}, {"name": "company_size", "required": True}],
        redirect_url="",
        allowed_origins=SITE,
        fast_track=False,
        is_active=True,
    )


def test_the_definition_lists_the_fields_consent_thanks_and_where_to_post():
    form = consented_form()

    response = definition(form, HTTP_ORIGIN=SITE)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SITE
    body = response.json()
    assert body["title"] == "Get the guide"
    assert body["action"] == f"http://testserver/f/{form.key}/"
    assert [(f["name"], f["type"], f["required"]) for f in body["fields"]] == [
        ("email", "email", True),
        ("company_size", "number", True),
    ]
    assert body["consent"] == {"version": 1, "text": "I agree to receive the guide."}
    assert body["thank_you_message"] == "Check your inbox."
    assert body["texts"]["submit"] == "Send"


def test_the_definition_speaks_the_visitors_language():
    body = definition(consented_form(), HTTP_ACCEPT_LANGUAGE="ru").json()

    assert body["fields"][0]["label"] == "Рабочий email"
    assert body["texts"]["submit"] == "Отправить"


def test_the_definition_is_refused_to_an_unlisted_origin():
    response = definition(consented_form(), HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response


def test_the_definition_of_an_unknown_form_is_a_json_404():
    response = Client().get(reverse("marketing:public_form_definition", args=["nope"]))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_loader_is_small_dependency_free_and_carries_the_attribution():
    source = LOADER.read_text()

    assert len(source.encode()) < 16_000
    assert "import " not in source
    assert "require(" not in source
    for carried in ("utm_source", "utm_term", "gclid", "fbclid", "referrer", "landing_page"):
        assert carried in source
    assert "Idempotency-Key" in source
    assert 'credentials: "omit"' in source  # never a cookie
