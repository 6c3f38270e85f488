"""The marketer's scoring journey in a browser: preview a rule change, save it, watch the
re-score finish (a real worker), and read the lead's explained score."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from leadflow.models import Role
from marketing import scoring
from marketing.models import Lead, RescoreJob, ScoringRule, Touchpoint
from tests.e2e.conftest import wait_for
from tests.factories import PASSWORD, LeadFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def log_in(browser, base: str, username: str) -> Page:
    page = browser.new_context(base_url=base).new_page()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_a_marketer_previews_saves_and_watches_a_rescore(browser, live_server, celery_worker):
    UserFactory(username="mia", role=Role.MARKETER)
    lead = LeadFactory(company_size=500, job_title="VP Sales", country="US")
    for _ in range(2):
        Touchpoint.objects.create(lead=lead, kind="webinar")
    scoring.lead_score(lead_id=lead.pk)
    lead.refresh_from_db()
    assert (lead.grade, lead.engagement_score, lead.stage) == ("A", 40, "lead")
    webinar = ScoringRule.objects.get(name="Webinar attended")

    page = log_in(browser, live_server.url, "mia")
    page.goto("/scoring/")
    page.locator(f"a[href='/scoring/rules/{webinar.pk}/']").click()
    page.fill("#id_points", "30")
    page.click("button[value=preview]")
    expect(page.locator("#preview")).to_contain_text("0 of 1 leads change grade, 1 become MQL")
    assert ScoringRule.objects.get(pk=webinar.pk).points == 20  # a preview changes nothing

    page.click("button[value=save]")
    expect(page).to_have_url(re.compile(r"/scoring/$"))
    expect(page.locator("#rescore-job")).to_contain_text("Done", timeout=30_000)
    wait_for(lambda: RescoreJob.objects.filter(status="done").exists())
    expect(page.locator("table").last).to_contain_text("points 20 → 30")

    lead.refresh_from_db()
    assert (lead.engagement_score, lead.stage) == (60, "mql")
    page.goto(f"/leads/{lead.pk}/")
    expect(page.locator("#score")).to_contain_text("Fit 45 makes grade A")
    expect(page.locator("#score")).to_contain_text("Fit and engagement pass the MQL thresholds.")
    expect(page.locator("#score-history-chart")).to_be_visible()
    assert Lead.objects.get(pk=lead.pk).score == 105
