"""The shared KPI dashboard at scale: server time of the whole page, warm.

Creates its own database and fills it set-wise (``INSERT … SELECT generate_series``):
1,000,000 leads over a year in 40 campaigns, 5,000,000 touchpoints, 200,000 handoffs in
every status across two teams of ten reps, and 50,000 deals in every stage. Then it
builds the rollups once (as beat does every two minutes; the time is printed), runs
``VACUUM ANALYZE`` as autovacuum would, and times whole requests of the dashboard in this
process (Django's test client logged in as a manager, ``DEBUG`` off: view, every KPI
query, template), cycling through filters: the default 90 days, one team, one campaign,
one source, 30 days and a year. "Warm" is the page as users get it between two refreshes:
each filter's panels were computed once and are served from the cache until the rollups
change; "uncached" computes every panel on every request (the first view of a filter
after a refresh). Each panel's selector is timed on its own too (uncached, the default
90 days). The database is dropped at the end. Run from the project root:

    .venv/bin/python bench/dashboard.py [--leads 1000000] [--repeat 20]

The last line is one JSON object: {"leads", "p50_ms", "p95_ms", "panels", ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support as support

DB_NAME = "leadflow_bench_dashboard"
CAMPAIGNS = 40
REPS_PER_TEAM = 10
SOURCES = ["google", "linkedin", "newsletter", "webinar", "partner", "blog", "event", "bing"]
CHANNELS = ["paid_search", "paid_social", "email", "webinar", "referral", "content", "event"]
REASONS = ["not_a_fit", "bad_contact", "no_budget", "bad_timing", "duplicate", "spam"]

# A year of leads, ids rising with time; a quarter become MQLs a few hours to days later.
_LEADS = """
INSERT INTO marketing_lead (
    email, phone, first_name, last_name, company, job_title, country, stage, source,
    fit_score, engagement_score, grade, fast_tracked, created_at, updated_at, mql_at,
    campaign_id
)
SELECT 'p' || i || '@bench' || (i %% 5000) || '.example.com', '', 'Pat', 'Doe' || i,
       'Company ' || (i %% 5000), 'Buyer', 'US', 'lead', (%(sources)s::text[])[1 + c %% 8],
       10, 10, 'B', false, at, at,
       CASE WHEN i %% 4 = 0 THEN at + random() * interval '5 days' END,
       (%(campaigns)s::bigint[])[1 + c]
FROM (
    SELECT i, (i::bigint * 7919) %% %(ncampaigns)s AS c,
           now() - interval '365 days' + (i::float8 / %(n)s) * interval '365 days' AS at
    FROM generate_series(1, %(n)s) AS i
) AS drawn
"""

# Five touchpoints a lead, spread over the days after it arrived; most in its campaign.
_TOUCHPOINTS = """
INSERT INTO marketing_touchpoint (
    lead_id, kind, campaign_id, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
    gclid, fbclid, referrer, landing_page, created_at
)
SELECT l.id, 'page_view',
       CASE WHEN random() < 0.7 THEN l.campaign_id
            ELSE (%(campaigns)s::bigint[])[1 + floor(random() * %(ncampaigns)s)::int] END,
       '', '', '', '', '', '', '', '', '',
       l.created_at + (k - 1) * random() * interval '2 days'
FROM marketing_lead l CROSS JOIN generate_series(1, %(per_lead)s) AS k
"""

# The MQLs handed to sales, in order: pending (recent), accepted, converted, rejected,
# expired; each with its deadlines and answer times.
_HANDOFFS = """
INSERT INTO handoff_handoff (
    lead_id, rule_name, score_snapshot, sla_tier, routing_reason, status, reject_reason,
    reject_note, handed_off_at, accept_due_at, touch_due_at, assigned_at, accepted_at,
    rejected_at, first_touch_at, team_id, assigned_to_id
)
SELECT id, 'Bench rule', '{}'::jsonb, tier, 'round-robin', status,
       CASE WHEN status = 'rejected' THEN (%(reasons)s::text[])[1 + id %% 6] ELSE '' END, '',
       at, at + due, at + due * 4, at,
       CASE WHEN status IN ('accepted', 'converted') THEN at + due * (0.3 + random()) END,
       CASE WHEN status = 'rejected' THEN at + due * (0.3 + random()) END,
       CASE WHEN status IN ('accepted', 'converted') AND random() < 0.85
            THEN at + due * (1 + 4 * random()) END,
       team, (%(reps)s::bigint[])[1 + (id / 2) %% %(nreps)s + (id %% 2) * %(nreps)s]
FROM (
    SELECT id, mql_at + random() * interval '2 hours' AS at,
           (%(teams)s::bigint[])[1 + id %% 2] AS team,
           CASE WHEN id %% 3 = 0 THEN 'hot' ELSE 'standard' END AS tier,
           CASE WHEN id %% 3 = 0 THEN interval '15 minutes' ELSE interval '4 hours' END AS due,
           CASE WHEN mql_at > now() - interval '2 days' THEN 'pending'
                WHEN r < 0.27 THEN 'converted'
                WHEN r < 0.60 THEN 'accepted'
                WHEN r < 0.90 THEN 'rejected'
                ELSE 'expired' END AS status
    FROM (
        SELECT id, mql_at, random() AS r FROM marketing_lead
        WHERE mql_at IS NOT NULL ORDER BY id LIMIT %(handoffs)s
    ) AS mqls
) AS drawn
"""

_ACCOUNTS = """
INSERT INTO sales_account (name, domain, created_at, owner_id, team_id)
SELECT 'Company ' || i, 'bench' || i || '.example.com', now(), NULL, NULL
FROM generate_series(0, 4999) AS i
"""

# A deal for each converted handoff (up to the count asked), in every stage.
_DEALS = """
WITH converted AS (
    SELECT h.id AS handoff_id, h.lead_id, h.team_id, h.assigned_to_id,
           h.accepted_at + random() * interval '10 days' AS at, random() AS r
    FROM handoff_handoff h WHERE h.status = 'converted' ORDER BY h.id LIMIT %(deals)s
), inserted AS (
    INSERT INTO sales_deal (
        name, amount, currency, source, campaign_name, close_reason, close_note, created_at,
        closed_at, account_id, lead_id, owner_id, team_id, pipeline_id, stage_id,
        stage_changed_at, last_activity_at
    )
    SELECT 'Deal ' || c.handoff_id, (5 + floor(random() * 150)) * 500, 'USD', '', '', '', '',
           c.at,
           CASE WHEN c.r < 0.4 THEN c.at + random() * interval '60 days' END,
           (SELECT min(id) FROM sales_account) + c.lead_id %% 5000, c.lead_id,
           c.assigned_to_id, c.team_id, %(pipeline)s,
           (%(stages)s::bigint[])[CASE WHEN c.r < 0.2 THEN 5 WHEN c.r < 0.4 THEN 6
                                  ELSE 1 + floor(c.r * 10)::int %% 4 END],
           c.at, c.at
    FROM converted c
    RETURNING id, lead_id, created_at
)
UPDATE handoff_handoff h SET deal_id = i.id, converted_at = i.created_at
FROM inserted i
WHERE h.lead_id = i.lead_id AND h.status = 'converted'
"""


def seed(leads: int, touchpoints: int, handoffs: int, deals: int, url: str) -> dict[str, Any]:
    from django.db import connection

    from leadflow.models import Role, Team, User
    from marketing.models import Campaign
    from sales.models import Pipeline

    manager = User.objects.create_user(username="bench-manager", role=Role.MANAGER)
    marketer = User.objects.create_user(username="bench-marketer", role=Role.MARKETER)
    teams = [Team.objects.create(name=f"Bench team {n}") for n in (1, 2)]
    reps = [
        User.objects.create_user(username=f"bench-rep{t}-{n}", role=Role.REP, team=team)
        for t, team in enumerate(teams)
        for n in range(REPS_PER_TEAM)
    ]
    User.objects.filter(pk=manager.pk).update(team=teams[0])
    campaigns = Campaign.objects.bulk_create(
        Campaign(
            name=f"Campaign {n:02d}",
            channel=CHANNELS[n % len(CHANNELS)],
            utm_source=SOURCES[n % len(SOURCES)],
            cost=1000 + 250 * n,
            owner=marketer,
        )
        for n in range(CAMPAIGNS)
    )
    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.order_by("position").values_list("pk", flat=True))
    params: dict[str, Any] = {
        "n": leads,
        "campaigns": [c.pk for c in campaigns],
        "ncampaigns": len(campaigns),
        "sources": SOURCES,
        "per_lead": touchpoints // leads,
        "reasons": REASONS,
        "teams": [t.pk for t in teams],
        "reps": [r.pk for r in reps],
        "nreps": REPS_PER_TEAM,
        "handoffs": handoffs,
        "deals": deals,
        "pipeline": pipeline.pk,
        "stages": stages,
    }
    timings: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        for name, sql in (
            ("leads", _LEADS),
            ("touchpoints", _TOUCHPOINTS),
            ("handoffs", _HANDOFFS),
            ("accounts", _ACCOUNTS),
            ("deals", _DEALS),
        ):
            began = time.perf_counter()
            cursor.execute(sql, params)
            timings[name] = time.perf_counter() - began
            print(f"  {name}: {time.perf_counter() - began:.1f} s", flush=True)
        counts = {}
        for table in ("marketing_lead", "marketing_touchpoint", "handoff_handoff", "sales_deal"):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 -- constant names
            counts[table] = cursor.fetchone()[0]
    print(f"seeded {counts}", flush=True)
    _vacuum_analyze(url)
    return {"manager": manager, "team": teams[0].pk, "campaign": campaigns[7].pk, "counts": counts}


def _vacuum_analyze(url: str) -> None:
    import psycopg
    from django.db import connection

    connection.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def measure(facts: dict[str, Any], repeat: int, warmup: int) -> dict[str, Any]:
    import datetime as dt

    from django.test import Client, override_settings
    from django.utils import timezone

    from bench._support import percentile
    from handoff import kpis

    client = Client()
    client.force_login(facts["manager"])
    cases = {
        "default_90_days": {},
        "team": {"team": facts["team"]},
        "campaign": {"campaign": facts["campaign"]},
        "source": {"source": "linkedin"},
        "30_days": {"period": "30"},
        "year": {"period": "365"},
    }
    page: list[float] = []
    per_case: dict[str, list[float]] = {name: [] for name in cases}
    computed: list[float] = []

    def get(query: dict[str, Any]) -> float:
        began = time.perf_counter()
        response = client.get("/dashboard/", query)
        took = time.perf_counter() - began
        if response.status_code != 200:
            raise RuntimeError(f"/dashboard/ {query}: {response.status_code}")
        return took

    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"]):
        for _ in range(warmup):
            for query in cases.values():
                get(query)
        # Warm: the panels of each filter were computed once since the last refresh.
        for _ in range(repeat):
            for name, query in cases.items():
                took = get(query)
                page.append(took)
                per_case[name].append(took)
        # Computed on every request (no cache): what the first view after a refresh costs.
        dummy = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
        with override_settings(CACHES=dummy):
            for _ in range(max(1, repeat // 2)):
                computed.extend(get(query) for query in cases.values())

    today = timezone.now().date()
    f = kpis.KpiFilter(start=today - dt.timedelta(days=89), end=today)
    now = timezone.now()
    panels: dict[str, Callable[[], object]] = {
        "waterfall": lambda: kpis.kpi_waterfall(f),
        "speed_to_lead": lambda: kpis.kpi_speed_to_lead(f),
        "open_breaches": lambda: kpis.kpi_open_breaches(f, limit=20),
        "rejections": lambda: kpis.kpi_rejections(f),
        "campaign_return": lambda: kpis.kpi_campaign_return(f),
        "team_balance": lambda: kpis.kpi_team_balance(f, now=now),
        "lead_velocity": lambda: kpis.kpi_lead_velocity(f, today=today),
        "targets": lambda: kpis.kpi_targets(f, today=today),
    }
    panel_p95: dict[str, float] = {}
    for name, run in panels.items():
        for _ in range(warmup):
            run()
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            run()
            times.append(time.perf_counter() - began)
        panel_p95[name] = round(percentile(times, 95) * 1000, 1)
    return {
        "p50_ms": round(percentile(page, 50) * 1000, 1),
        "p95_ms": round(percentile(page, 95) * 1000, 1),
        "panels": panel_p95,
        "cases_p95_ms": {n: round(percentile(t, 95) * 1000, 1) for n, t in per_case.items()},
        "uncached_p50_ms": round(percentile(computed, 50) * 1000, 1),
        "uncached_p95_ms": round(percentile(computed, 95) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--touchpoints", type=int, default=5_000_000)
    parser.add_argument("--handoffs", type=int, default=200_000)
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    with support.bench_database(DB_NAME) as url:
        support.django_setup(url)
        began = time.perf_counter()
        facts = seed(args.leads, args.touchpoints, args.handoffs, args.deals, url)
        print(f"seeded in {time.perf_counter() - began:.0f} s", flush=True)
        from handoff import rollups
        from handoff.models import KpiRefresh

        rollups.rollups_refresh()
        rollups.rollups_vacuum()
        refresh_ms = KpiRefresh.objects.get().took_ms
        print(f"rollups rebuilt in {refresh_ms} ms", flush=True)
        _vacuum_analyze(url)
        figures = measure(facts, args.repeat, args.warmup)
        counts = facts["counts"]
        result = {
            "leads": counts["marketing_lead"],
            **figures,
            "touchpoints": counts["marketing_touchpoint"],
            "handoffs": counts["handoff_handoff"],
            "deals": counts["sales_deal"],
            "rollup_refresh_ms": refresh_ms,
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
