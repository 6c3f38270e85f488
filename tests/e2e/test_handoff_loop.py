"""The whole loop in a browser: campaign → form → visitor → worker → rep → deal → dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from handoff import rollups
from handoff.models import Handoff
from leadflow.models import Role
from marketing.models import Lead
from tests.e2e.conftest import ARTIFACTS, wait_for
from tests.factories import PASSWORD, QualificationRuleFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def log_in(browser, base: str, username: str) -> Page:
    page = browser.new_context(base_url=base).new_page()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def kpi(page: Page, name: str) -> str:
    return page.locator(f"[data-kpi={name}] .value").inner_text().strip()


def test_the_whole_handoff_loop_in_a_browser(browser, live_server, celery_worker):
    team = TeamFactory(name="Sales East")
    UserFactory(username="anna", role=Role.REP, team=team)
    UserFactory(username="boris", role=Role.REP, team=team, is_away=True)
    UserFactory(username="mia", role=Role.MARKETER)
    UserFactory(username="max", role=Role.MANAGER, team=team)
    QualificationRuleFactory(
        name="Hot: demo requests", fast_track_only=True, sla_tier="hot", team=team
    )
    base = live_server.url

    # The manager's dashboard is open before anything happens.
    manager = log_in(browser, base, "max")
    manager.goto("/dashboard/")
    assert kpi(manager, "leads") == "0"

    # The marketer creates a campaign and a fast-track form.
    marketer = log_in(browser, base, "mia")
    expect(marketer).to_have_url(re.compile(r"/campaigns/$"))
    marketer.fill("#id_name", "Spring webinar")
    marketer.select_option("#id_channel", "webinar")
    marketer.fill("#id_utm_source", "linkedin")
    marketer.click("#campaign-form button[type=submit]")
    expect(marketer.locator("h1")).to_contain_text("Spring webinar")
    builder = marketer.locator("#form-builder")
    builder.locator("#id_name").fill("Request a demo")
    builder.locator("#id_ask_company_size").check()
    builder.locator("#id_ask_country").check()
    builder.locator("#id_fast_track").check()
    builder.locator("button[type=submit]").click()
    form_url = marketer.locator("a.form-link").first.get_attribute("href")
    assert form_url
    assert form_url.startswith("/f/")

    # The rep's queue is open and empty.
    rep = log_in(browser, base, "anna")
    expect(rep).to_have_url(re.compile(r"/queue/$"))
    expect(rep.locator("#queue")).to_contain_text("Nothing assigned to you")

    # An anonymous visitor submits the form.
    visitor = browser.new_context(base_url=base).new_page()
    visitor.goto(f"{form_url}?utm_source=linkedin&utm_medium=social&utm_campaign=spring")
    visitor.fill("#id_email", "Vera.Petrova@Northwind.example")
    visitor.fill("#id_first_name", "Vera")
    visitor.fill("#id_last_name", "Petrova")
    visitor.fill("#id_company", "Northwind")
    visitor.fill("#id_job_title", "VP Operations")
    visitor.fill("#id_company_size", "900")
    visitor.fill("#id_country", "DE")
    visitor.click("button[type=submit]")
    expect(visitor.locator("h1")).to_contain_text("Thank you")
    assert not visitor.context.cookies()

    # The worker scores it, it qualifies, routing hands it to Anna; her queue shows it
    # without a reload (htmx polling).
    handoff = wait_for(lambda: Handoff.objects.filter(assigned_to__username="anna").first())
    assert handoff.sla_tier == "hot"
    lead = Lead.objects.get(pk=handoff.lead_id)
    assert lead.email == "vera.petrova@northwind.example"
    assert lead.grade == "A"
    row = rep.locator(f"#handoff-{handoff.pk}")
    expect(row).to_contain_text("Vera Petrova", timeout=15_000)

    # She accepts in place, logs a call, converts.
    row.get_by_role("button", name="Accept").click()
    expect(rep.locator(f"#handoff-{handoff.pk}")).to_contain_text("Accepted")
    rep.locator(f"#handoff-{handoff.pk} a").first.click()
    rep.select_option("#touch-form #id_kind", "call")
    rep.fill("#touch-form #id_outcome", "Booked a demo")
    rep.click("#touch-form button[type=submit]")
    expect(rep.locator(".messages")).to_contain_text("Touch logged")
    rep.click("#convert-link")
    rep.fill("#convert-form #id_deal_name", "Northwind platform")
    rep.fill("#convert-form #id_amount", "24000")
    rep.click("#convert-form button[type=submit]")

    # The deal is on the board; she moves it to Won.
    expect(rep).to_have_url(re.compile(r"/sales/board/"))
    deal = rep.locator("article.deal", has_text="Northwind platform")
    expect(deal).to_be_visible()
    deal.locator("a").first.click()
    rep.select_option("#move-stage", label="Won (100%)")
    rep.select_option("#move-reason", "Best fit for their needs")
    rep.click("#move-form button[type=submit]")
    expect(rep.locator(".messages")).to_contain_text("moved to Won")
    rep.goto("/sales/board/")
    won_column = rep.locator("section.column").filter(has=rep.locator("h2", has_text="Won"))
    expect(won_column.locator("article.deal", has_text="Northwind platform")).to_be_visible()
    assert Lead.objects.get(pk=lead.pk).stage == "customer"

    # The dashboard reads rollups that beat rebuilds every two minutes: build them now.
    rollups.rollups_refresh()
    # The manager sees the counts change (the panels refresh in place with the filters).
    manager.select_option("#period", "30")
    expect(manager.locator("[data-kpi=leads] .value")).to_have_text("1")
    for name in ("mqls", "sqls", "accepted", "opportunities", "won"):
        expect(manager.locator(f"[data-kpi={name}] .value")).to_have_text("1")
    expect(manager.locator("[data-kpi=median-accept] .value")).not_to_have_text("—")
    ARTIFACTS.mkdir(exist_ok=True)
    manager.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    rep.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)
