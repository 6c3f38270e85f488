"""A rep's sales journey in a browser: convert a handoff (confirming the matched account),
drag the deal across the board to Won with a reason, find it on Today and in the closed list.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from leadflow.models import Event, Role
from sales.models import Account, Deal
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_handoff_loop import log_in
from tests.factories import TeamFactory, UserFactory
from tests.sales.conftest import accepted_handoff

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def column(page: Page, name: str) -> Locator:
    return page.locator("section.column").filter(has=page.locator("h2", has_text=name))


def drag(page: Page, card: Locator, target: Locator) -> None:
    """Drag with real mouse moves (SortableJS listens to pointer events), once the board
    (re-rendered by htmx after a move) has its lists made sortable again.

    SortableJS, in its pointer-event mode, reads where the pointer is every 50 ms, not at
    each move; so the button is let go only once the card shows in the target column, as
    a person lets go once they see it there. Letting go at once drops the card wherever
    the last reading found it, on a slow machine a column short of the target.
    """
    expect(target.locator(".cards")).to_have_attribute("data-sortable", "1")
    expect(card.locator("xpath=..")).to_have_attribute("data-sortable", "1")
    card_id = card.get_attribute("id")
    start = card.locator(".amount").bounding_box()
    end = target.locator(".cards").bounding_box()
    assert start is not None
    assert end is not None
    page.mouse.move(start["x"] + 20, start["y"] + 15)
    page.mouse.down()
    steps = [(0.1, 0.1), (0.3, 0.3), (0.6, 0.6), (1.0, 1.0)]
    for fx, fy in steps:
        x = start["x"] + 20 + (end["x"] + end["width"] / 2 - start["x"] - 20) * fx
        y = start["y"] + 15 + (end["y"] + 30 - start["y"] - 15) * fy
        page.mouse.move(x, y, steps=5)
    expect(target.locator(f".cards > #{card_id}:not(.sortable-fallback)")).to_have_count(1)
    page.mouse.up()


def test_a_rep_converts_drags_to_won_and_finds_the_deal_on_today(browser, live_server):
    team = TeamFactory(name="Sales East")
    anna = UserFactory(username="anna", role=Role.REP, team=team, first_name="Anna")
    boss = UserFactory(username="olga", role=Role.REP, team=team)
    acme = Account.objects.create(name="Acme Inc.", domain="acme.com", owner=boss)
    handoff = accepted_handoff(
        anna, email="jane@acme.com", first_name="Jane", last_name="Roe", company="ACME"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page = log_in(browser, live_server.url, "anna")

    # Convert: the existing Acme account is offered (matched by the email domain).
    page.goto(f"/handoffs/{handoff.pk}/")
    page.click("#convert-link")
    expect(page.locator("#convert-form")).to_contain_text("Acme Inc.")
    expect(page.locator("#convert-form")).to_contain_text("acme.com")
    expect(page.locator(f"input[name=account][value='{acme.pk}']")).to_be_checked()
    page.fill("#id_deal_name", "Acme rollout")
    page.fill("#id_amount", "36000")
    page.screenshot(path=str(ARTIFACTS / "sales-convert.png"), full_page=True)
    page.click("#convert-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/sales/board/"))
    deal = Deal.objects.get(name="Acme rollout")
    assert deal.account == acme

    # Drag it one column on: the board re-renders in place and the move is an event.
    card = page.locator(f"#deal-{deal.pk}")
    expect(column(page, "Discovery").locator(f"#deal-{deal.pk}")).to_be_visible()
    drag(page, card, column(page, "Qualified"))
    expect(column(page, "Qualified").locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(page.locator("#board .messages")).to_contain_text("moved to Qualified")
    assert Event.objects.filter(
        subject_type="sales.deal", subject_id=deal.pk, kind="stage", new_value="Qualified"
    ).exists()

    # Drop it on Won: a reason is asked for first.
    drag(page, page.locator(f"#deal-{deal.pk}"), column(page, "Won"))
    dialog = page.locator("#close-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#close-reason-won").select_option("Relationship and trust")
    dialog.get_by_role("button", name="Close the deal").click()
    won = column(page, "Won")
    expect(won.locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(won.locator("[data-total]")).to_contain_text("36,000")
    page.screenshot(path=str(ARTIFACTS / "sales-board.png"), full_page=True)
    deal.refresh_from_db()
    assert (deal.stage.name, deal.close_reason) == ("Won", "Relationship and trust")

    # Today lists it among the deals closed this week.
    page.get_by_role("link", name="Today").click()
    expect(page.locator("#today-closed")).to_contain_text("Acme rollout")
    page.screenshot(path=str(ARTIFACTS / "sales-today.png"), full_page=True)

    # And so does the closed list.
    page.goto("/sales/board/")
    page.get_by_role("link", name="Closed deals").click()
    expect(page.locator("#deal-list")).to_contain_text("Acme rollout")
    expect(page.locator(f"#row-deal-{deal.pk}")).to_contain_text("Relationship and trust")
    page.screenshot(path=str(ARTIFACTS / "sales-closed.png"), full_page=True)

    # The deal page tells the story back to the handoff.
    page.get_by_role("link", name="Acme rollout").click()
    expect(page.locator(".story")).to_contain_text("Handoff")
    page.screenshot(path=str(ARTIFACTS / "sales-deal.png"), full_page=True)
