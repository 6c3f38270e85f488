"""The embed in a browser: a marketer builds a form, a partner site embeds it, a visitor
submits from that other origin, and the marketer sees the lead with its UTM data."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from django.conf import settings
from playwright.sync_api import Page, expect

from leadflow.models import Role
from marketing.models import Form, Lead
from tests.e2e.conftest import ARTIFACTS
from tests.factories import PASSWORD, CampaignFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return tmp_path


def _serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def partner_site(site_dir: Path) -> Iterator[str]:
    """A static website on another port: another origin than the live server's."""
    yield from _serve(site_dir)


@pytest.fixture
def stranger_site(site_dir: Path) -> Iterator[str]:
    """The same page on a third origin, which the form does not allow."""
    yield from _serve(site_dir)


@pytest.fixture
def scoring_queue() -> Iterator[None]:
    """Nobody scores here: drop the messages the captures queued."""
    yield
    redis.Redis.from_url(settings.REDIS_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def log_in(browser, base: str, username: str) -> Page:
    page = browser.new_context(base_url=base).new_page()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_a_form_embedded_on_another_origin_captures_a_lead_with_its_utm_data(
    browser, live_server, site_dir, partner_site, stranger_site, scoring_queue
):
    marketer_user = UserFactory(username="mia", role=Role.MARKETER)
    campaign = CampaignFactory(name="Partner launch", owner=marketer_user)

    # The marketer builds the form and allows the partner's site.
    marketer = log_in(browser, live_server.url, "mia")
    marketer.goto(f"/campaigns/{campaign.pk}/")
    builder = marketer.locator("#form-builder")
    builder.locator("#id_name").fill("Partner newsletter")
    builder.locator("#id_ask_job_title").uncheck()
    builder.locator("#id_required_company").check()
    builder.locator("#id_thank_you_message").fill("Thanks, see you in the newsletter!")
    builder.locator("#id_allowed_origins").fill(partner_site)
    builder.locator("button[type=submit]").click()
    expect(marketer.locator(".messages")).to_contain_text("Form created")
    form = Form.objects.get()
    snippet = marketer.locator(f"#snippet-{form.pk}").inner_text()
    assert f'data-leadflow-form="{form.key}"' in snippet
    marketer.screenshot(path=str(ARTIFACTS / "embed-campaign.png"), full_page=True)

    # The partner pastes the snippet into a page of theirs.
    (site_dir / "page.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Partner</title></head>"
        f"<body><h1>Partner site</h1>{snippet}</body></html>"
    )

    # A visitor arrives from a campaign link and submits; a required field left empty
    # first gets its error next to it.
    visitor = browser.new_context().new_page()
    visitor.goto(
        f"{partner_site}/page.html?utm_source=partner&utm_medium=referral"
        "&utm_campaign=launch&gclid=G-123"
    )
    embedded = visitor.locator(".leadflow-form")
    expect(embedded).to_be_visible()
    embedded.get_by_label("Work email").fill("Olga.Berg@Fjord.example")
    embedded.get_by_label("First name").fill("Olga")
    embedded.locator("button[type=submit]").click()
    expect(embedded.locator(f"#leadflow-{form.key}-company-error")).to_contain_text("required")
    embedded.get_by_label("Company").fill("Fjord AS")
    embedded.locator("button[type=submit]").click()
    expect(visitor.locator(".leadflow-thanks")).to_have_text("Thanks, see you in the newsletter!")
    visitor.screenshot(path=str(ARTIFACTS / "embed-thanks.png"))
    assert not visitor.context.cookies(live_server.url)

    lead = Lead.objects.get()
    touch = lead.touchpoints.get()
    assert (touch.utm_source, touch.utm_campaign, touch.gclid) == ("partner", "launch", "G-123")
    assert touch.landing_page.startswith(f"{partner_site}/page.html?utm_source=partner")

    # The marketer finds the lead and sees where it came from.
    marketer.goto(f"/leads/{lead.pk}/")
    expect(marketer.locator("h1")).to_contain_text("Olga")
    expect(marketer.locator("body")).to_contain_text("partner")
    expect(marketer.locator("body")).to_contain_text("launch")
    marketer.screenshot(path=str(ARTIFACTS / "embed-lead.png"), full_page=True)

    # The same page on a site that is not allowed gets no form, and says so.
    other = browser.new_context().new_page()
    other.goto(f"{stranger_site}/page.html?utm_source=elsewhere")
    expect(other.locator("[data-leadflow-form] .leadflow-error")).to_have_text(
        re.compile("could not be loaded")
    )
    expect(other.locator(".leadflow-form")).to_have_count(0)
    assert Lead.objects.count() == 1
