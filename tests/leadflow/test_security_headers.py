"""Security headers on every page: CSP, framing, referrer, HSTS over HTTPS."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tests.conftest import login
from tests.factories import FormFactory


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.parametrize("path", ["/login/", "/queue/", "/campaigns/"])
def test_pages_allow_only_their_own_scripts_and_no_framing(cast, path):
    client = login(cast.manager) if path != "/login/" else Client()

    response = client.get(path, follow=True)

    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_hosted_form_may_be_framed_by_its_allowed_origins_only(cast):
    form = FormFactory(
        campaign__owner=cast.marketer,
        created_by=cast.marketer,
        allowed_origins="https://www.example.com\nhttps://shop.example.com",
        redirect_url="https://www.example.com/thanks",
    )

    page = Client().get(f"/f/{form.key}/")
    posted = Client().post(f"/f/{form.key}/", {"email": "not-an-address"})

    for response in (page, posted):
        policy = _policy(response)
        assert policy["frame-ancestors"] == [
            "'self'",
            "https://shop.example.com",
            "https://www.example.com",
        ]
        # The redirect after a post is a form action too.
        assert policy["form-action"] == ["'self'", "https://www.example.com"]
        assert policy["script-src"] == ["'self'"]
        assert "X-Frame-Options" not in response


def test_https_responses_carry_hsts_in_production(cast):
    with override_settings(
        SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_HSTS_PRELOAD=True
    ):
        response = Client().get("/login/", secure=True)

    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
