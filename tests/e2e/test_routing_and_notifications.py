"""In a browser: a lead arrives in the rep's queue and bell without a reload, the rep
rejects it in place, the campaign's owner hears about it and sees it among the rejections,
and the manager's team view sets a rep away."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from handoff.models import Handoff
from leadflow.models import Role, User
from tests.e2e.conftest import ARTIFACTS, wait_for
from tests.e2e.test_handoff_loop import log_in
from tests.factories import (
    CampaignFactory,
    FormFactory,
    QualificationRuleFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_lead_reaches_the_queue_and_the_bell_and_goes_back_to_marketing(
    browser, live_server, celery_worker
):
    team = TeamFactory(name="Sales East")
    UserFactory(username="anna", first_name="Anna", last_name="Rep", role=Role.REP, team=team)
    UserFactory(username="max", role=Role.MANAGER, team=team)
    mia = UserFactory(username="mia", role=Role.MARKETER)
    QualificationRuleFactory(
        name="Hot: demo requests", fast_track_only=True, sla_tier="hot", team=team
    )
    form = FormFactory(campaign=CampaignFactory(name="Spring webinar", owner=mia), fast_track=True)
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)

    rep = log_in(browser, base, "anna")
    expect(rep.locator("#queue")).to_contain_text("Nothing assigned to you")
    expect(rep.locator("#bell .bell-count")).to_have_count(0)

    visitor = browser.new_context(base_url=base).new_page()
    visitor.goto(f"/f/{form.key}/")
    visitor.fill("#id_email", "vera@northwind.example")
    visitor.fill("#id_first_name", "Vera")
    visitor.fill("#id_last_name", "Petrova")
    visitor.fill("#id_company", "Northwind")
    visitor.click("button[type=submit]")

    handoff = wait_for(lambda: Handoff.objects.filter(assigned_to__username="anna").first())
    row = rep.locator(f"#handoff-{handoff.pk}")
    # No reload: the queue polls, and so does the bell.
    expect(row).to_contain_text("Vera Petrova")
    expect(row.locator(".deadlines time")).to_have_count(2)
    expect(rep.locator("#bell .bell-count")).to_have_text("1", timeout=20_000)
    rep.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

    # Reject in place: the inline form needs a reason.
    row.locator("summary", has_text="Reject").click()
    row.locator("select[name=reason]").select_option("bad_timing")
    row.locator("input[name=note]").fill("Budget opens in Q3")
    row.get_by_role("button", name="Reject").click()
    expect(rep.locator("#queue .messages")).to_contain_text("went back to marketing")
    expect(rep.locator(f"#handoff-{handoff.pk}")).to_have_count(0)

    # The campaign's owner: a notification, and the rejection by reason and campaign.
    marketer = log_in(browser, base, "mia")
    expect(marketer.locator("#bell .bell-count")).to_have_text("1")
    marketer.click("#bell")
    expect(marketer.locator(".inbox")).to_contain_text("Sales rejected Vera Petrova: Bad timing")
    marketer.screenshot(path=str(ARTIFACTS / "notifications.png"), full_page=True)
    marketer.locator(".inbox-item").first.click()
    expect(marketer.locator("h1")).to_have_text("Rejected by sales")
    expect(marketer.locator(".grid-3")).to_contain_text("Bad timing")
    expect(marketer.locator(".grid-3")).to_contain_text("Spring webinar")
    expect(marketer.locator("table").last).to_contain_text("Budget opens in Q3")
    expect(marketer.locator("#bell .bell-count")).to_have_count(0)
    marketer.screenshot(path=str(ARTIFACTS / "rejections.png"), full_page=True)

    # The manager marks Anna away from the team view, in place.
    manager = log_in(browser, base, "max")
    manager.goto("/team/")
    anna_row = manager.locator("#team tr", has_text="Anna Rep")
    expect(anna_row).to_contain_text("available")
    anna_row.get_by_role("button", name="Mark away").click()
    expect(manager.locator("#team tr", has_text="Anna Rep")).to_contain_text("away")
    manager.screenshot(path=str(ARTIFACTS / "team.png"), full_page=True)
    assert User.objects.get(username="anna").is_away

    # The team's settings: add a holiday.
    manager.get_by_role("link", name="Team settings").click()
    manager.fill("#holiday-form #id_date", "2030-12-25")
    manager.fill("#holiday-form #id_name", "Christmas")
    manager.click("#holiday-form button[type=submit]")
    expect(manager.locator(".messages")).to_contain_text("Saved")
    expect(manager.locator("main")).to_contain_text("Christmas")
    manager.screenshot(path=str(ARTIFACTS / "team_settings.png"), full_page=True)


def test_the_queue_counts_down_in_minutes_then_hours_then_days(browser, live_server):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import HandoffFactory, LeadFactory

    team = TeamFactory(name="Sales East")
    rep = UserFactory(username="anna", role=Role.REP, team=team)
    now = timezone.now()
    fresh = HandoffFactory(
        team=team,
        lead=LeadFactory(stage="sql"),
        assigned_to=rep,
        accept_due_at=now + timedelta(minutes=10, seconds=20),
        touch_due_at=now + timedelta(hours=5, minutes=10),
    )
    old = HandoffFactory(
        team=team,
        lead=LeadFactory(stage="sql"),
        assigned_to=rep,
        status="accepted",
        accepted_at=now - timedelta(days=4),
        touch_due_at=now - timedelta(days=3, hours=1),
    )

    page = log_in(browser, live_server.url, "anna")
    times = page.locator(f"#handoff-{fresh.pk} .deadlines time")
    expect(times.nth(0)).to_have_text("10 min left")
    expect(times.nth(1)).to_have_text("5 h left")
    late = page.locator(f"#handoff-{old.pk} .deadlines time")
    expect(late).to_have_text("overdue by 3 d")
    expect(late).to_have_class("overdue")
