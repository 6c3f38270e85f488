"""Lead fields holding script are shown as text on every page that shows them.

A visitor controls what the public form stores: names, company, title. Each payload here
would run (an alert, a global set) if a page put it into the DOM as markup. Every page
that shows the lead, its handoff, its deal, account and contact, or the campaign, is
opened in Chromium by the role that sees it; the payload's text must be on the page, no
dialog may open, and no element or script of the payload may exist in the DOM.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Dialog, Page

from handoff import rollups, routing, services
from leadflow.models import Role
from leadflow.notifications import notification_send
from sales.models import Deal
from tests.e2e.test_handoff_loop import log_in
from tests.factories import CampaignFactory, HandoffFactory, LeadFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

FIRST = '<script>window.__xss="first";alert("XSS-1")</script>'
LAST = '<img src=x onerror=\'window.__xss="last";alert("XSS-2")\'>'
COMPANY = '"><svg onload=alert("XSS-3")>XSS-co'
TITLE = "</textarea><iframe srcdoc='<script>parent.alert(\"XSS-4\")</script>'>"
CAMPAIGN = '<b onmouseover=alert("XSS-5")>XSS-camp</b>'
NOTE = "<a href=\"javascript:alert('XSS-6')\">XSS-note</a>"

# Nothing of a payload may be live in the DOM: no handler attribute, no element it brings,
# no script holding its code.
INJECTED = """() => {
    const live = document.querySelectorAll(
        '[onerror], [onload], [onmouseover], iframe[srcdoc], a[href^="javascript:"]'
    );
    const scripts = [...document.scripts].filter(s => s.text.includes('XSS-'));
    return {live: live.length, scripts: scripts.length, flag: window.__xss || null};
}"""


def _check(page: Page, path: str, fired: list[str]) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, path
    page.wait_for_load_state("networkidle")
    found = page.evaluate(INJECTED)
    assert found == {"live": 0, "scripts": 0, "flag": None}, (path, found)
    assert "XSS-" in page.locator("body").inner_text(), f"{path} shows no payload: not a test"
    assert not fired, (path, fired)


def _open(browser, base: str, username: str, fired: list[str]) -> Page:
    page = log_in(browser, base, username)

    def on_dialog(dialog: Dialog) -> None:
        fired.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page


def test_script_in_lead_fields_stays_inert_on_every_page(browser, live_server):
    team = TeamFactory(name="East")
    rep = UserFactory(username="ruth", role=Role.REP, team=team)
    manager = UserFactory(username="mona", role=Role.MANAGER, team=team)
    UserFactory(username="mark", role=Role.MARKETER)
    UserFactory(username="ada", role=Role.ADMIN, is_staff=True, is_superuser=True)
    campaign = CampaignFactory(name=CAMPAIGN)

    def evil_lead(n: int):
        return LeadFactory(
            email=f"xss{n}@example.com",
            first_name=FIRST,
            last_name=LAST,
            company=COMPANY,
            job_title=TITLE,
            campaign=campaign,
            stage="sql",
            mql_at=timezone.now(),
        )

    open_one = HandoffFactory(team=team, lead=evil_lead(1))
    routing.assign(handoff=open_one, rep=rep, reason="test", actor=None)
    converted = HandoffFactory(team=team, lead=evil_lead(2))
    routing.assign(handoff=converted, rep=rep, reason="test", actor=None)
    services.handoff_accept(handoff_id=converted.pk, user=rep)
    deal = services.handoff_convert(
        handoff_id=converted.pk, user=rep, deal_name=CAMPAIGN, amount=Decimal("900")
    )
    rejected = HandoffFactory(team=team, lead=evil_lead(3))
    routing.assign(handoff=rejected, rep=rep, reason="test", actor=None)
    services.handoff_reject(handoff_id=rejected.pk, user=rep, reason="no_budget", note=NOTE)
    notification_send(user=rep, kind="test", subject=COMPANY, body=FIRST, dedupe_key="xss")
    rollups.rollups_refresh()  # the dashboard reads the rollups
    deal = Deal.objects.select_related("account", "contact").get(pk=deal.pk)
    lead = open_one.lead
    fired: list[str] = []
    base = live_server.url

    marketer = _open(browser, base, "mark", fired)
    for path in (
        "/leads/",
        f"/leads/{lead.pk}/",
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
    ):
        _check(marketer, path, fired)

    rep_page = _open(browser, base, "ruth", fired)
    for path in (
        "/queue/",
        f"/handoffs/{open_one.pk}/",
        "/notifications/",
        "/sales/board/",
        "/sales/deals/",
        f"/sales/deals/{deal.pk}/",
        "/sales/accounts/",
        f"/sales/accounts/{deal.account_id}/",
        f"/sales/contacts/{deal.contact_id}/",
    ):
        _check(rep_page, path, fired)

    manager_page = _open(browser, base, manager.username, fired)
    for path in ("/team/", "/rejections/", "/dashboard/", f"/handoffs/{rejected.pk}/"):
        _check(manager_page, path, fired)

    admin = _open(browser, base, "ada", fired)
    for path in ("/admin/marketing/lead/", f"/admin/marketing/lead/{lead.pk}/change/"):
        _check(admin, path, fired)
