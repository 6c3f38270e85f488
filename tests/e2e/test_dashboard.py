"""The manager's dashboard in a browser: the filters redraw the figures and charts in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from handoff.demo import PASSWORD, seed_demo
from leadflow.models import Team
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def chart_data(page: Page, name: str) -> list[float]:
    """What Chart.js drew on the chart's canvas (its first dataset)."""
    return page.evaluate(
        """(name) => {
            const canvas = document.querySelector(`canvas[data-chart="${name}"]`);
            const chart = canvas && window.Chart.getChart(canvas);
            return chart ? chart.data.datasets[0].data : null;
        }""",
        name,
    )


# True once the waterfall chart draws SQL count n (its third bar).
WATERFALL_SHOWS = """(n) => {
    const chart = window.Chart.getChart(document.querySelector('canvas[data-chart=waterfall]'));
    return chart && chart.data.datasets[0].data[2] === n;
}"""


def test_a_manager_changes_the_period_and_the_team_and_the_charts_follow(browser, live_server):
    seed_demo(leads=600)  # and builds the rollups
    page = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 900}
    ).new_page()
    page.goto("/login/")
    page.fill("#id_username", "manager1")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/dashboard/")
    expect(page.locator("canvas[data-chart=waterfall]")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_function("() => document.body.dataset.chartsDrawn")

    def sqls() -> str:
        return page.locator("[data-kpi=sqls] .value").inner_text().strip()

    # The demo data gives every chart something to draw.
    for name in ("waterfall", "speed", "rejections", "attribution", "balance", "velocity"):
        assert any(chart_data(page, name) or []), name
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    everything = int(sqls())
    drawn = chart_data(page, "waterfall")
    assert drawn[2] == everything  # leads, MQL, SQL, ...
    assert everything > 0

    # A shorter period: fewer SQLs, in the figure and in the chart, without a reload.
    page.evaluate("() => { window.notReloaded = true; }")
    page.select_option("#period", "30")
    expect(page.locator("[data-kpi=sqls] .value")).not_to_have_text(str(everything))
    month = int(sqls())
    assert 0 < month < everything
    page.wait_for_function(WATERFALL_SHOWS, arg=month)
    assert page.evaluate("() => window.notReloaded") is True
    assert "period=30" in page.url

    # One team: fewer again; the balance chart shows that team only.
    west = Team.objects.get(name="Sales West")
    page.select_option("#team", str(west.pk))
    expect(page.locator("[data-kpi=sqls] .value")).not_to_have_text(str(month))
    team_month = int(sqls())
    assert team_month < month
    page.wait_for_function(WATERFALL_SHOWS, arg=team_month)
    balance = page.evaluate(
        "() => window.Chart.getChart(document.querySelector('canvas[data-chart=balance]'))"
        ".data.labels"
    )
    assert balance == ["Sales West"]
    assert page.evaluate("() => window.notReloaded") is True
    assert f"team={west.pk}" in page.url

    page.screenshot(path=str(ARTIFACTS / "dashboard-filtered.png"), full_page=True)

    # A figure clicks through to as many records.
    page.locator("[data-kpi=sqls]").click()
    expect(page.locator("#records-count")).to_have_attribute("data-total", str(team_month))
