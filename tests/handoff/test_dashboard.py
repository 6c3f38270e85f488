"""The dashboard pages: roles and visibility, filters in place, click-through, CSV exports
equal to the page, staleness, targets and the weekly review (page and digest)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from handoff import kpis, review, rollups, routing, selectors, services
from handoff.models import Handoff, KpiRefresh, KpiTarget
from leadflow.models import Notification
from marketing.models import Stage
from sales import services as sales_services
from sales.models import PipelineStage
from tests.conftest import login
from tests.factories import CampaignFactory, HandoffFactory, LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_pipeline")]

TABLES = (
    "waterfall",
    "sla",
    "breaches",
    "rejections",
    "campaigns",
    "attribution",
    "balance",
    "velocity",
    "targets",
)


def worked(
    cast, team, *, accept: bool = True, convert: bool = False, win: bool = False, campaign=None
):
    """A handoff of ``team`` taken as far as asked."""
    rep = cast.rep if team == cast.team else cast.other_rep
    lead = LeadFactory.create(stage=Stage.SQL, mql_at=timezone.now(), campaign=campaign)
    handoff = HandoffFactory.create(team=team, lead=lead)
    routing.assign(handoff=handoff, rep=rep, reason="test", actor=None)
    if accept:
        services.handoff_accept(handoff_id=handoff.pk, user=rep)
    if convert:
        deal = services.handoff_convert(
            handoff_id=handoff.pk, user=rep, deal_name="d", amount=Decimal("1000")
        )
        if win:
            won = PipelineStage.objects.get(pipeline=deal.pipeline, outcome="won")
            sales_services.deal_move(
                deal_id=deal.pk, stage_id=won.pk, actor=rep, reason="Price and terms"
            )
    return handoff


def test_the_funnel_counts_each_stage_and_the_median_acceptance_time(cast):
    LeadFactory.create()  # a plain lead
    worked(cast, cast.team, accept=False)
    worked(cast, cast.team, convert=True, win=True)
    worked(cast, cast.other_team, convert=True)
    # The two accepted handoffs took 10 and 30 minutes: the median is 20.
    times = iter([10, 30])
    for handoff in Handoff.objects.filter(accepted_at__isnull=False).order_by("pk"):
        Handoff.objects.filter(pk=handoff.pk).update(
            handed_off_at=handoff.accepted_at - timedelta(minutes=next(times))
        )
    rollups.rollups_refresh()
    now = timezone.now()

    funnel = selectors.dashboard_funnel(start=now - timedelta(days=1), end=now)

    assert (funnel.leads, funnel.mqls, funnel.sqls) == (4, 3, 3)
    assert (funnel.accepted, funnel.opportunities, funnel.won) == (2, 2, 1)
    assert funnel.won_value == 1000.0
    assert funnel.median_accept_minutes == pytest.approx(20, abs=0.1)
    assert funnel.conversion["won"] == 50.0


def test_the_numbers_wait_for_the_rollups_and_say_how_old_they_are(cast):
    worked(cast, cast.team, convert=True)
    client = login(cast.manager)

    before = client.get(reverse("handoff:dashboard"))
    assert "computed for the first time" in before.content.decode()
    assert before.context["waterfall"].count("sqls") == 0

    rollups.rollups_refresh()
    KpiRefresh.objects.update(refreshed_at=timezone.now() - timedelta(minutes=7))
    after = client.get(reverse("handoff:dashboard"))
    page = after.content.decode()
    assert after.context["waterfall"].count("sqls") == 1
    assert "7 minutes ago" in page
    assert "older than five minutes" in page


def test_the_dashboard_renders_for_each_role_and_htmx_gets_the_panels(cast):
    worked(cast, cast.team, convert=True)
    rollups.rollups_refresh()
    for user in (cast.manager, cast.marketer, cast.rep, cast.admin):
        response = login(user).get(reverse("handoff:dashboard"))
        assert response.status_code == 200
    partial = login(cast.manager).get(
        reverse("handoff:dashboard"),
        {"period": "30", "team": cast.team.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="panels",
    )
    assert b'id="panels"' in partial.content
    assert b"<html" not in partial.content
    assert partial.context["waterfall"].count("opportunities") == 1


def test_every_filter_changes_every_panel(cast):
    east_campaign = CampaignFactory.create(name="East campaign")
    worked(cast, cast.team, convert=True, win=True, campaign=east_campaign)
    worked(cast, cast.other_team, convert=True)
    rollups.rollups_refresh()
    client = login(cast.manager)

    def panels(**query):
        return client.get(reverse("handoff:dashboard"), query).context

    everything = panels(period="30")
    east = panels(period="30", team=cast.team.pk)
    campaign = panels(period="30", campaign=east_campaign.pk)
    for narrowed in (east, campaign):
        assert narrowed["waterfall"].count("sqls") == 1
        assert narrowed["waterfall"].pipeline == Decimal(1000)
        assert sum(c.sqls for c in narrowed["campaigns"]) == 1
        assert sum(b.count for b in narrowed["rejections"].by_reason) == 0
        assert sum(a.accept_met + a.accept_missed for a in narrowed["speed"].by("team")) <= 1
    assert everything["waterfall"].count("sqls") == 2
    assert everything["waterfall"].pipeline == Decimal(2000)
    assert [b.team for b in east["balance"]] == [cast.team.name]
    assert len(everything["balance"]) == 2
    # The campaign filter narrows the lead side too; the team filter does not.
    assert campaign["waterfall"].count("leads") == 1
    assert east["waterfall"].count("leads") == 2
    # A period before anything happened: every figure is empty.
    old = panels(period="custom", start="2020-01-01", end="2020-01-31")
    assert [s.count for s in old["waterfall"].stages] == [0] * 6
    assert old["speed"].accept_median is None
    assert (
        "Nothing happened in this period"
        in client.get(
            reverse("handoff:dashboard"),
            {"period": "custom", "start": "2020-01-01", "end": "2020-01-31"},
        ).content.decode()
    )


def test_bad_filters_are_reported_and_the_default_period_used(cast):
    rollups.rollups_refresh()
    response = login(cast.manager).get(
        reverse("handoff:dashboard"),
        {"period": "custom", "start": "2026-05-01", "end": "2026-01-01"},
    )
    assert response.status_code == 200
    assert "The period starts after it ends." in response.content.decode()
    assert response.context["kpi"].days == 90
    response = login(cast.manager).get(reverse("handoff:dashboard"), {"team": "abc"})
    assert response.status_code == 200
    assert response.context["kpi"].team_id is None


def test_a_rep_sees_only_their_own_numbers(cast):
    worked(cast, cast.team, convert=True)  # cast.rep's
    worked(cast, cast.other_team, convert=True)
    rollups.rollups_refresh()
    response = login(cast.rep).get(reverse("handoff:dashboard"), {"team": cast.other_team.pk})
    assert response.context["kpi"].team_id == cast.team.pk
    assert response.context["kpi"].rep_id == cast.rep.pk
    assert response.context["waterfall"].count("opportunities") == 1
    assert response.context["waterfall"].count("leads") is None
    assert "My numbers" in response.content.decode()
    # Nor the records behind another rep's figures.
    records = login(cast.rep2).get(reverse("handoff:dashboard_records"), {"figure": "sqls"})
    assert records.context["total"] == 0


def test_a_marketer_sees_the_numbers_of_their_own_campaigns(cast):
    mine = CampaignFactory.create(owner=cast.marketer)
    other = CampaignFactory.create()
    worked(cast, cast.team, convert=True, campaign=mine)
    worked(cast, cast.team, convert=True, campaign=other)
    rollups.rollups_refresh()
    # Another's campaign is not on their list: refused, and their own numbers shown.
    response = login(cast.marketer).get(reverse("handoff:dashboard"), {"campaign": other.pk})
    assert response.context["form"].errors
    assert response.context["waterfall"].count("sqls") == 1
    response = login(cast.marketer).get(reverse("handoff:dashboard"))
    assert response.context["waterfall"].count("sqls") == 1
    assert [c.campaign_id for c in response.context["campaigns"] if c.sqls] == [mine.pk]


def _page_table(page: str, key: str) -> list[list[str]]:
    found = re.search(rf'<table data-table="{key}">(.*?)</table>', page, re.S)
    assert found, key
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def test_each_csv_equals_the_table_on_the_page(cast):
    campaign = CampaignFactory.create(cost=Decimal("1200"))
    worked(cast, cast.team, convert=True, win=True, campaign=campaign)
    waiting = worked(cast, cast.other_team, accept=False, campaign=campaign)
    Handoff.objects.filter(pk=waiting.pk).update(accept_due_at=timezone.now() - timedelta(hours=1))
    rejected = worked(cast, cast.team, accept=False)
    services.handoff_reject(handoff_id=rejected.pk, user=cast.rep, reason="no_budget", note="")
    Handoff.objects.filter(pk=rejected.pk).update(accept_due_at=timezone.now() - timedelta(hours=1))
    KpiTarget.objects.create(month=timezone.now().date().replace(day=1), metric="sqls", value=10)
    rollups.rollups_refresh()
    client = login(cast.manager)
    query = {"period": "30"}
    page = client.get(reverse("handoff:dashboard"), query).content.decode()

    for key in TABLES:
        response = client.get(reverse("handoff:dashboard_export", args=[key]), query)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows == _page_table(page, key), key
        assert len(rows) > 1, key  # the data lights up every table
    assert client.get(reverse("handoff:dashboard_export", args=["nonsense"])).status_code == 404


def test_every_number_links_to_as_many_records(cast):
    campaign = CampaignFactory.create()
    worked(cast, cast.team, convert=True, win=True, campaign=campaign)
    worked(cast, cast.other_team, accept=False, campaign=campaign)
    # One left in the team pool: its records row names no rep, and must still render.
    HandoffFactory.create(
        team=cast.team, lead=LeadFactory.create(stage=Stage.SQL, campaign=campaign)
    )
    rollups.rollups_refresh()
    client = login(cast.manager)
    page = client.get(reverse("handoff:dashboard"), {"period": "30"}).content.decode()
    links = re.findall(r'<a href="(/dashboard/records/\?[^"]+)">(\d+)</a>', page)
    assert len(links) > 10
    for url, figure in links:
        response = client.get(unescape(url))
        assert response.status_code == 200, url
        assert response.context["total"] == int(figure), url
    cards = re.findall(
        r'class="kpi" data-kpi="(\w+)" href="([^"]+)"><div class="label">[^<]*</div>'
        r'<div class="value">([\d,]+)<',
        page,
    )
    assert {c[0] for c in cards} >= {"leads", "mqls", "sqls", "accepted", "opportunities", "won"}
    for key, url, figure in cards:
        if key == "pipeline":
            continue  # money, not records: they link to the deals behind them
        assert client.get(unescape(url)).context["total"] == int(figure.replace(",", ""))
    pool = client.get(reverse("handoff:dashboard_records"), {"figure": "sqls", "period": "30"})
    assert "Team pool" in pool.content.decode()
    bad = client.get(reverse("handoff:dashboard_records"), {"figure": "nonsense"})
    assert bad.status_code == 400


def test_only_managers_set_targets_and_the_dashboard_shows_progress(cast):
    month = timezone.now().date().replace(day=1)
    data = {"month": month.strftime("%Y-%m"), "team": cast.team.pk, "metric": "sqls", "value": "40"}
    assert login(cast.rep).post(reverse("handoff:dashboard_targets"), data).status_code == 403
    assert login(cast.marketer).get(reverse("handoff:dashboard_targets")).status_code == 403
    client = login(cast.manager)

    assert client.post(reverse("handoff:dashboard_targets"), data).status_code == 302
    assert (
        client.post(reverse("handoff:dashboard_targets"), data | {"value": "50"}).status_code == 302
    )
    target = KpiTarget.objects.get()
    assert (target.value, target.set_by) == (50, cast.manager)
    refused = client.post(reverse("handoff:dashboard_targets"), data | {"value": "0"})
    assert refused.status_code == 400
    # Another team's targets, or everybody's, are not a team manager's to set.
    for team in (cast.other_team.pk, ""):
        refused = client.post(reverse("handoff:dashboard_targets"), data | {"team": team})
        assert refused.status_code == 400
        assert "your own team only" in refused.content.decode()
    assert KpiTarget.objects.count() == 1

    worked(cast, cast.team)
    rollups.rollups_refresh()
    progress = client.get(reverse("handoff:dashboard"), {"team": cast.team.pk}).context["targets"]
    assert [(p.metric, p.actual, p.target) for p in progress] == [("sqls", 1, 50)]
    client.post(reverse("handoff:dashboard_target_delete", args=[target.pk]))
    assert not KpiTarget.objects.exists()


def test_the_weekly_review_page_tells_what_moved_and_where_it_leaked(cast):
    campaign = CampaignFactory.create(name="Only leads")
    LeadFactory.create(campaign=campaign)
    worked(cast, cast.team, convert=True)
    Handoff.objects.update(accept_due_at=timezone.now() - timedelta(days=1))  # accepted late
    last_monday = review.week_of(timezone.now().date())
    moved = last_monday + timedelta(days=2)
    at = dt.datetime.combine(moved, dt.time(10), tzinfo=dt.UTC)
    from marketing.models import Lead

    Lead.objects.update(created_at=at)
    Handoff.objects.update(handed_off_at=at)
    rollups.rollups_refresh()

    response = login(cast.manager).get(reverse("handoff:review"))
    page = response.content.decode()
    assert response.status_code == 200
    r = response.context["review"]
    assert r.week_start == last_monday
    assert {m.label: (m.before, m.after) for m in r.moves}["SQL"] == (0, 1)
    assert [c.name for c in r.lead_only_campaigns] == ["Only leads"]
    assert [a.label for a in r.breaches_by_rep] == [cast.rep.get_full_name() or cast.rep.username]
    assert "Campaigns that only produce leads" in page
    assert login(cast.rep).get(reverse("handoff:review")).status_code == 403
    assert login(cast.manager).get(reverse("handoff:review"), {"week": "soon"}).status_code == 400


def test_the_digest_goes_to_the_team_managers_once_on_monday_morning_their_time(cast, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cast.team.timezone = "Europe/Berlin"
    cast.team.save(update_fields=["timezone"])
    worked(cast, cast.team)
    rollups.rollups_refresh()
    sunday_night = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.UTC)  # Monday 00:30 in Berlin
    monday_morning = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)  # 8:00 in Berlin

    assert review.weekly_reviews_send(now=sunday_night) == 0
    assert review.weekly_reviews_send(now=monday_morning) == 1
    assert review.weekly_reviews_send(now=monday_morning + timedelta(hours=1)) == 0  # once
    note = Notification.objects.get(user=cast.manager)
    assert note.kind == review.DIGEST_KIND
    assert "week of 2026-11-16" in note.subject
    assert "What moved" in note.body
    assert note.url.startswith(reverse("handoff:review"))
    tuesday = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
    assert review.weekly_reviews_send(now=tuesday) == 0


def test_the_api_funnel_reads_the_same_kpis(cast):
    worked(cast, cast.team, convert=True)
    rollups.rollups_refresh()
    now = timezone.now()
    funnel = selectors.dashboard_funnel(
        start=now - timedelta(days=1), end=now, team_id=cast.team.pk
    )
    waterfall = kpis.kpi_waterfall(
        kpis.KpiFilter(start=(now - timedelta(days=1)).date(), end=now.date(), team_id=cast.team.pk)
    )
    assert (funnel.sqls, funnel.opportunities) == (
        waterfall.count("sqls"),
        waterfall.count("opportunities"),
    )
    assert mail.outbox == []


def test_the_page_changes_when_the_rollups_do_and_only_then(cast):
    worked(cast, cast.team)
    rollups.rollups_refresh()
    client = login(cast.manager)
    assert client.get(reverse("handoff:dashboard")).context["waterfall"].count("sqls") == 1

    worked(cast, cast.team)  # not in the rollups yet: the page still says 1
    assert client.get(reverse("handoff:dashboard")).context["waterfall"].count("sqls") == 1

    rollups.rollups_refresh()
    assert client.get(reverse("handoff:dashboard")).context["waterfall"].count("sqls") == 2


def test_the_refresh_warms_the_default_view_for_every_team(cast):
    from handoff.dashboard_views import dashboard_cache_warm
    from handoff.models import KpiHandoffFact

    worked(cast, cast.team)
    rollups.rollups_refresh()
    assert dashboard_cache_warm() == 3 * 2  # all teams, East, West; English, Russian
    KpiHandoffFact.objects.all().delete()  # what the warm view holds is what was computed
    client = login(cast.manager)

    for query in ({}, {"team": cast.team.pk}):
        assert (
            client.get(reverse("handoff:dashboard"), query).context["waterfall"].count("sqls") == 1
        )
    # Another period was not warmed: computed now, from what the rollups hold.
    assert (
        client.get(reverse("handoff:dashboard"), {"period": "30"})
        .context["waterfall"]
        .count("sqls")
        == 0
    )
