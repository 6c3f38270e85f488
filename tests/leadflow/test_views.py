from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_health_answers_with_a_database_round_trip():
    response = Client().get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_pages_need_a_login():
    response = Client().get(reverse("handoff:queue"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("who", "lands_on"),
    [
        ("marketer", "/campaigns/"),
        ("rep", "/queue/"),
        ("manager", "/dashboard/"),
        ("admin", "/dashboard/"),
    ],
)
def test_each_role_lands_where_its_work_is(cast, who, lands_on):
    response = login(getattr(cast, who)).get("/")
    assert response["Location"] == lands_on


def test_navigation_shows_each_role_its_pages(cast):
    marketer = login(cast.marketer).get(reverse("marketing:campaigns")).content.decode()
    rep = login(cast.rep).get(reverse("handoff:queue")).content.decode()
    assert "/leads/" in marketer
    assert "/queue/" not in marketer
    assert "/queue/" in rep
    assert "/campaigns/" not in rep


def test_the_page_speaks_russian_after_switching_language(cast):
    client = login(cast.rep)
    response = client.post(reverse("set_language"), {"language": "ru", "next": "/queue/"})
    assert response.status_code == 302
    page = client.get(reverse("handoff:queue")).content.decode()
    assert "Моя очередь" in page
    assert 'lang="ru"' in page


def test_htmx_requests_carry_the_csrf_token(cast):
    page = login(cast.rep).get(reverse("handoff:queue")).content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


def test_the_russian_catalog_translates_every_message():
    po = (Path(__file__).resolve().parents[2] / "locale/ru/LC_MESSAGES/django.po").read_text()
    entries = po.split("\n\n")[1:]  # the first block is the header
    assert len(entries) > 250
    untranslated = [e for e in entries if 'msgstr ""' in e and 'msgstr ""\n"' not in e]
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    assert untranslated == []
    assert fuzzy == []


def test_domain_errors_reach_the_user_in_their_language(cast):
    from handoff.models import Handoff
    from tests.factories import HandoffFactory

    handoff = HandoffFactory.create(team=cast.team)
    Handoff.objects.filter(pk=handoff.pk).update(assigned_to=cast.rep)
    client = login(cast.rep)
    client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    response = client.post(
        reverse("handoff:convert", args=[handoff.pk]), {"deal_name": "X", "amount": "1"}
    )
    assert "Сначала примите передачу" in response.content.decode()
