"""Every KPI of the dashboard against its naive recomputation (tests/handoff/kpi_naive.py)
on the seeded demo data, under every filter; and the attribution models on hand-made
touch sequences."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db.models import Sum

from handoff import kpis, rollups
from handoff.demo import seed_demo
from handoff.models import KpiAttribution, KpiTarget
from leadflow.models import Team, User
from marketing.models import Campaign, Lead
from tests.factories import CampaignFactory, HandoffFactory, LeadFactory
from tests.handoff import kpi_naive as naive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_pipeline")]

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)  # a Friday
TODAY = NOW.date()
SMALL = 400


@pytest.fixture
def demo() -> None:
    seed_demo(leads=SMALL, now=NOW)  # refreshes the rollups at NOW


def _filters() -> list[kpis.KpiFilter]:
    """Every filter alone and some together, over several periods."""
    east = Team.objects.get(name="Sales East")
    campaign = Campaign.objects.order_by("pk").first()
    assert campaign is not None
    source = Lead.objects.exclude(source="").values_list("source", flat=True).first()
    rep = User.objects.get(username="rep1")
    marketer = User.objects.get(username="marketer1")
    whole = kpis.KpiFilter(start=TODAY - dt.timedelta(days=149), end=TODAY)
    month = kpis.KpiFilter(start=TODAY - dt.timedelta(days=29), end=TODAY)
    return [
        whole,
        month,
        kpis.KpiFilter(start=TODAY - dt.timedelta(days=89), end=TODAY - dt.timedelta(days=30)),
        kpis.KpiFilter(start=whole.start, end=whole.end, team_id=east.pk),
        kpis.KpiFilter(start=whole.start, end=whole.end, campaign_id=campaign.pk),
        kpis.KpiFilter(start=whole.start, end=whole.end, source=source or ""),
        kpis.filter_for(rep, start=whole.start, end=whole.end),
        kpis.filter_for(marketer, start=whole.start, end=whole.end),
        kpis.KpiFilter(start=month.start, end=month.end, team_id=east.pk, campaign_id=campaign.pk),
    ]


def approx(value: object, places: float = 1e-6) -> object:
    return None if value is None else pytest.approx(value, rel=places, abs=places)


def test_the_waterfall_matches_its_naive_recomputation_under_every_filter(demo):
    for f in _filters():
        got = kpis.kpi_waterfall(f)
        want = naive.waterfall(f)
        counts = {s.key: s.count for s in got.stages}
        assert counts == {k: want[k] for k in counts}, f
        assert got.pipeline == want["pipeline"], f
        assert got.won_value == want["won_value"], f
        medians = [s.median_days for s in got.stages[1:]]
        assert medians == [
            approx(want[k])
            for k in (
                "median_lead_mql",
                "median_mql_sql",
                "median_sql_accept",
                "median_accept_deal",
                "median_deal_won",
            )
        ], f
    # The demo lights up every stage.
    assert all(s.count for s in kpis.kpi_waterfall(_filters()[0]).stages)


def test_conversion_and_drop_off_are_shares_of_the_step_before(demo):
    stages = kpis.kpi_waterfall(_filters()[0]).stages
    for before, after in itertools.pairwise(stages):
        assert after.conversion == pytest.approx(100 * after.count / before.count)
        assert after.drop_off == pytest.approx(100 - after.conversion)
        assert after.count <= before.count


def test_speed_to_lead_and_sla_attainment_match_their_naive_recomputation(demo):
    for f in _filters():
        got = kpis.kpi_speed_to_lead(f)
        want = naive.speed(f, NOW)
        assert (got.accept_median, got.accept_p90) == tuple(approx(v) for v in want["accept"])
        assert (got.touch_median, got.touch_p90) == tuple(approx(v) for v in want["touch"])
        attainment = {
            (a.group, a.key): (a.accept_met, a.accept_missed, a.touch_met, a.touch_missed)
            for a in got.attainment
        }
        assert attainment == want["attainment"], f
    whole = kpis.kpi_speed_to_lead(_filters()[0])
    assert {a.group for a in whole.attainment} == {"rep", "team", "tier"}
    assert any(a.touch_missed for a in whole.attainment)
    assert any(a.accept_missed for a in whole.attainment)


def test_open_breaches_match_their_naive_recomputation(demo):
    for f in _filters():
        total, rows = kpis.kpi_open_breaches(f, limit=1000)
        want = naive.open_breaches(f, NOW)
        assert total == len(want)
        assert {b.handoff_id for b in rows} == want
    assert kpis.kpi_open_breaches(_filters()[0])[0] > 0


def test_rejections_match_their_naive_recomputation(demo):
    for f in _filters():
        got = kpis.kpi_rejections(f)
        want = naive.rejections(f)
        assert {b.key: b.count for b in got.by_reason} == dict(want["reason"])
        assert {b.key: b.count for b in got.by_campaign} == {
            "" if k is None else str(k): v for k, v in want["campaign"].items()
        }
        assert {b.key: b.count for b in got.by_source} == dict(want["source"])
        assert {b.key: b.count for b in got.by_rule} == dict(want["rule"])
        assert got.total == sum(want["reason"].values())


def test_campaign_return_matches_its_naive_recomputation(demo):
    for f in _filters():
        got = {c.campaign_id: c for c in kpis.kpi_campaign_return(f)}
        want = naive.campaign_counts(f)
        credit = naive.attribution(f)
        for campaign_id, counts in want.items():
            row = got[campaign_id]
            lead_side = (row.leads, row.mqls) if f.rep_id is None else (None, None)
            assert lead_side == (
                (counts["leads"], counts["mqls"]) if f.rep_id is None else (None, None)
            )
            assert (row.sqls, row.won) == (counts["sqls"], counts["won"]), (f, campaign_id)
        for campaign_id, row in got.items():
            for model in naive.MODELS:
                credited = sum(v[model] for (_d, c), v in credit.items() if c == campaign_id)
                assert row.pipeline[model] == pytest.approx(credited, abs=0.01), (f, model)


def test_cost_per_stage_divides_the_period_share_of_the_campaign_cost(demo):
    f = _filters()[0]
    rows = [c for c in kpis.kpi_campaign_return(f) if c.campaign_id and c.leads and c.won]
    assert rows
    for row in rows:
        campaign = Campaign.objects.get(pk=row.campaign_id)
        assert row.cost == kpis.campaign_cost_in(campaign, f.start, f.end)
        assert row.cost_per_lead == (row.cost / row.leads).quantize(Decimal("0.01"))
        assert row.cost_per_won == (row.cost / row.won).quantize(Decimal("0.01"))


def test_a_campaign_cost_is_spread_over_its_run():
    campaign = Campaign(cost=Decimal("3000"), starts_on=dt.date(2026, 1, 1))
    campaign.ends_on = dt.date(2026, 1, 30)  # 30 days: 100 a day
    assert kpis.campaign_cost_in(campaign, dt.date(2026, 1, 21), dt.date(2026, 3, 1)) == 1000
    assert kpis.campaign_cost_in(campaign, dt.date(2026, 2, 1), dt.date(2026, 3, 1)) == 0
    campaign.starts_on = None  # undated: all of it
    assert kpis.campaign_cost_in(campaign, dt.date(2026, 2, 1), dt.date(2026, 3, 1)) == 3000


def test_for_each_attribution_model_the_weights_of_a_deal_sum_to_its_value(demo):
    deals = KpiAttribution.objects.values("deal_id", "amount").annotate(
        **{model: Sum(model) for model in naive.MODELS}
    )
    assert len(deals) > 20
    for deal in deals:
        for model in naive.MODELS:
            assert deal[model] == pytest.approx(1.0), (deal, model)
    credit = naive.attribution(_filters()[0])
    rows = KpiAttribution.objects.all()
    assert len(rows) == len(credit)
    for row in rows:
        want = credit[(row.deal_id, row.campaign_id)]
        for model in naive.MODELS:
            assert float(row.amount) * getattr(row, model) == pytest.approx(want[model], abs=0.01)


@pytest.mark.parametrize(
    ("n", "mql_at", "expected"),
    [
        # one touch takes everything under every model
        (1, 0, {"u_shaped": [1.0], "w_shaped": [1.0], "linear": [1.0]}),
        # two: U splits 50/50; W gives first (also the MQL touch) 60 + 5, last 30 + 5
        (2, 0, {"u_shaped": [0.5, 0.5], "w_shaped": [0.65, 0.35]}),
        # four, MQL on the second: U 40/10/10/40; W 30/30/10/30
        (4, 1, {"u_shaped": [0.4, 0.1, 0.1, 0.4], "w_shaped": [0.3, 0.3, 0.1, 0.3]}),
        # five, MQL on the third: W 30 / 5 / 30 / 5 / 30
        (5, 2, {"w_shaped": [0.3, 0.05, 0.3, 0.05, 0.3], "linear": [0.2] * 5}),
    ],
)
def test_the_attribution_models_credit_the_key_touches(cast, n, mql_at, expected):
    from handoff import routing, services
    from marketing.models import Touchpoint

    campaigns = [CampaignFactory.create(name=f"c{i}") for i in range(n)]
    start = NOW - dt.timedelta(days=10)
    lead = LeadFactory.create(campaign=campaigns[0])
    for i, campaign in enumerate(campaigns):
        Touchpoint.objects.create(
            lead=lead, kind="page_view", campaign=campaign, created_at=start + dt.timedelta(hours=i)
        )
    Lead.objects.filter(pk=lead.pk).update(
        created_at=start, mql_at=start + dt.timedelta(hours=mql_at, minutes=30)
    )
    handoff = HandoffFactory.create(lead=lead, team=cast.team)
    routing.assign(handoff=handoff, rep=cast.rep, reason="test", actor=None)
    services.handoff_accept(handoff_id=handoff.pk, user=cast.rep)
    services.handoff_convert(
        handoff_id=handoff.pk, user=cast.rep, deal_name="d", amount=Decimal(1000)
    )
    rollups.rollups_refresh()

    credit = {row.campaign_id: row for row in KpiAttribution.objects.filter(deal_id__isnull=False)}
    for model, weights in expected.items():
        got = [getattr(credit[c.pk], model) for c in campaigns]
        assert got == pytest.approx(weights), model


def test_team_balance_matches_its_naive_recomputation_and_warns(demo):
    for f in _filters():
        want = naive.balance(f, NOW)
        got = kpis.kpi_team_balance(f, now=NOW)
        assert {b.team_id for b in got} == set(want)
        for b in got:
            w = want[b.team_id]
            assert b.inflow_per_day == pytest.approx(w["inflow"] / f.days)
            assert b.handled_per_day == pytest.approx(w["handled"] / f.days)
            assert (b.backlog, b.reps) == (w["backlog"], w["reps"])
            assert b.backlog_median_hours == approx(w["median_hours"])
            assert b.backlog_oldest_hours == approx(w["oldest_hours"])
    assert kpis._verdict(inflow_day=10, handled_day=5, backlog=30, reps=3)[0] == "outrun"
    assert kpis._verdict(inflow_day=1, handled_day=1, backlog=0, reps=3)[0] == "starving"
    assert kpis._verdict(inflow_day=6, handled_day=6, backlog=2, reps=3)[0] == "ok"


def test_lead_velocity_matches_its_naive_recomputation(demo):
    for f in _filters():
        want = naive.velocity(f)
        months = kpis.kpi_lead_velocity(f, today=TODAY)
        assert len(months) == kpis.VELOCITY_MONTHS
        for m in months:
            mqls, sqls = want.get(m.month, (0 if f.rep_id is None else None, 0))
            assert (m.mqls, m.sqls) == (mqls, sqls), (f, m.month)
        for before, after in itertools.pairwise(months):
            if before.sqls:
                assert after.sql_growth == pytest.approx(
                    100 * (after.sqls - before.sqls) / before.sqls
                )
    assert months[-1].partial
    assert not months[-2].partial


def test_targets_show_the_progress_of_the_month(demo):
    month = TODAY.replace(day=1)
    east = Team.objects.get(name="Sales East")
    KpiTarget.objects.all().delete()
    for metric, value in (("mqls", 100), ("sqls", 80), ("pipeline", 500000), ("won", 100000)):
        KpiTarget.objects.create(month=month, team=east, metric=metric, value=value)
    f = kpis.KpiFilter(start=TODAY - dt.timedelta(days=29), end=TODAY, team_id=east.pk)
    got_month, progress = kpis.kpi_targets(f, today=TODAY)
    want = naive.month_actuals(f, month)
    assert got_month == month
    assert {p.metric: p.actual for p in progress} == want
    sqls = next(p for p in progress if p.metric == "sqls")
    assert sqls.expected == (Decimal(80) * TODAY.day / 30).quantize(Decimal("0.01"))
    # Everybody's targets are not the team's.
    assert kpis.kpi_targets(kpis.KpiFilter(start=f.start, end=f.end), today=TODAY)[1] == []


def test_the_team_filter_splits_the_sales_side_into_parts_that_add_up(demo):
    whole = _filters()[0]
    parts = [
        kpis.KpiFilter(start=whole.start, end=whole.end, team_id=team.pk)
        for team in Team.objects.all()
    ]
    for key in ("sqls", "accepted", "opportunities", "won"):
        total = kpis.kpi_waterfall(whole).count(key)
        assert total == sum(kpis.kpi_waterfall(p).count(key) for p in parts)
    assert kpis.kpi_rejections(whole).total == sum(kpis.kpi_rejections(p).total for p in parts)
    # Leads belong to no team: the lead side does not change.
    assert kpis.kpi_waterfall(parts[0]).count("leads") == kpis.kpi_waterfall(whole).count("leads")


def test_the_records_behind_a_figure_are_as_many_as_the_figure(demo):
    f = _filters()[0]
    waterfall = kpis.kpi_waterfall(f)
    for key in ("sqls", "accepted", "opportunities", "won"):
        assert kpis.kpi_handoff_ids(f, figure=key)[0] == waterfall.count(key)
    for key in ("leads", "mqls"):
        assert kpis.kpi_lead_ids(f, figure=key)[0] == waterfall.count(key)
    for bucket in kpis.kpi_rejections(f).by_reason:
        assert kpis.kpi_handoff_ids(f, figure="rejected", by="reason", key=bucket.key)[0] == (
            bucket.count
        )
    for row in kpis.kpi_speed_to_lead(f).by("rep"):
        total, _ids = kpis.kpi_handoff_ids(f, figure="accept_missed", by="rep", key=row.key)
        assert total == row.accept_missed
    assert kpis.kpi_handoff_ids(f, figure="breaches")[0] == kpis.kpi_open_breaches(f)[0]
    with pytest.raises(KeyError):
        kpis.kpi_handoff_ids(f, figure="nonsense")


def test_the_rollups_refresh_stamps_the_time(demo):
    assert rollups.rollups_refreshed_at() == NOW
    assert rollups.rollups_refresh() is True
    assert rollups.rollups_refreshed_at() > NOW
