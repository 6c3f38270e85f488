"""Re-scoring at scale: a rule change over a million leads and five million activities.

Creates its own database, fills it set-wise (``INSERT … SELECT generate_series``) with
leads of varied fit (the recycled ones with an engagement reset) and activities of every
kind over half a year, builds their ledger with the engine itself (every rule reconciled,
timed as "initial"), runs ``VACUUM ANALYZE`` as autovacuum would have, then changes one
engagement rule through the service a marketer's save calls and runs the re-score job in
this process, timed. The database is dropped at the end. Run from the project root:

    .venv/bin/python bench/rescore.py [--leads 1000000] [--activities 5000000]

The last line is one JSON object: {"leads", "activities", "seconds", ...}.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support as support

DB_NAME = "leadflow_bench_rescore"
QUEUE = "leadflow-bench-rescore"

_LEADS_SQL = """
INSERT INTO marketing_lead (
    email, phone, first_name, last_name, company, job_title, company_size, country, stage,
    source, fit_score, engagement_score, grade, fast_tracked, scored_at, created_at, updated_at
)
SELECT 'person' || i || '@' || (ARRAY['gmail.com', 'acme' || (i %% 5000) || '.com',
        'corp' || (i %% 9000) || '.io', 'yandex.ru'])[1 + floor(random() * 4)::int],
    '', 'First' || i, 'Last' || i, 'Company ' || (i %% 50000),
    (ARRAY['VP Marketing', 'Head of Sales', 'Engineer', 'Office Manager', 'Director IT',
        'Analyst', ''])[1 + floor(random() * 7)::int],
    (ARRAY[NULL, 5, 40, 150, 250, 1200, 8000])[1 + floor(random() * 7)::int],
    (ARRAY['US', 'DE', 'GB', 'FR', 'BR', 'IN', ''])[1 + floor(random() * 7)::int],
    (ARRAY['lead', 'lead', 'lead', 'lead', 'recycled', 'sql', 'customer'])
        [1 + floor(random() * 7)::int],
    'bench', 0, 0, 'D', false, now(), now() - interval '200 days', now()
FROM generate_series(1, %(n)s) AS i
"""

# Activities spread over the leads (ids first..last) and over 180 days.
_ACTIVITIES_SQL = """
INSERT INTO marketing_touchpoint (
    lead_id, kind, utm_source, utm_medium, utm_campaign, utm_term, utm_content, gclid,
    fbclid, referrer, landing_page, event_name, created_at
)
SELECT %(first)s + floor(random() * (%(last)s - %(first)s + 1))::bigint,
    k.kind, '', '', '', '', '', '', '', '',
    CASE WHEN k.kind = 'page_view' THEN
        (ARRAY['https://x.io/pricing', 'https://x.io/blog/a', 'https://x.io/docs'])
            [1 + floor(random() * 3)::int] ELSE '' END,
    CASE WHEN k.kind = 'custom' THEN 'trial_started' ELSE '' END,
    now() - random() * interval '180 days'
FROM generate_series(1, %(n)s) AS i
CROSS JOIN LATERAL (
    SELECT (ARRAY['form_submit', 'page_view', 'page_view', 'email_open', 'email_click',
        'webinar', 'custom', 'pricing_view'])[1 + floor(random() * 8)::int + (i * 0)] AS kind
) AS k
"""


def seed(*, leads: int, activities: int) -> dict[str, float]:
    from django.db import connection, transaction

    from marketing import scoring
    from marketing.models import ScoringRule

    # Rules of every shape: page views by URL with a daily cap, custom events by name.
    ScoringRule.objects.create(
        name="Pricing page (URL)", axis="engagement", operator="kind", value="page_view",
        pattern="/pricing", points=8, period_cap=16, period_days=1,
    )  # fmt: skip
    ScoringRule.objects.create(
        name="Trial started", axis="engagement", operator="kind", value="custom",
        pattern="^trial_started$", points=20, cap=20,
    )  # fmt: skip
    ScoringRule.objects.create(
        name="Email opened", axis="engagement", operator="kind", value="email_open", points=2
    )
    timings = {}
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(_LEADS_SQL, {"n": leads})
        # Sales sent the recycled ones back at some point: their earlier activity is void.
        cursor.execute(
            "UPDATE marketing_lead SET engagement_reset_at = now() - random() * "
            "interval '180 days' WHERE stage = 'recycled'"
        )
        cursor.execute("SELECT MIN(id), MAX(id) FROM marketing_lead")
        first, last = cursor.fetchone()
        cursor.execute(_ACTIVITIES_SQL, {"n": activities, "first": first, "last": last})
    timings["generate_s"] = time.perf_counter() - began
    began = time.perf_counter()
    rules, cfg = scoring.active_rules(), scoring.config()
    with transaction.atomic():
        scoring.roomy_memory()
        scoring.ledger_reconcile(lo=first, hi=last, rules=rules, rule_ids=None, version=0)
    for lo in range(first, last + 1, scoring.RESCORE_BATCH):
        with transaction.atomic():
            scoring.roomy_memory()
            scoring.ledger_run(
                lo=lo,
                hi=min(lo + scoring.RESCORE_BATCH - 1, last),
                rules=rules,
                cfg=cfg,
                reconcile_rule_ids=[],
                score_events=False,
            )
    timings["initial_ledger_s"] = time.perf_counter() - began
    return timings


def vacuum_analyze(database_url: str) -> None:
    import psycopg
    from django.db import connection

    connection.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in ("marketing_lead", "marketing_touchpoint", "marketing_scoreentry"):
            conn.execute(f"VACUUM ANALYZE {table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=5_000_000)
    args = parser.parse_args()
    # New MQLs are handed to the worker as tasks; this run's go to a queue of its own.
    os.environ["CELERY_QUEUE"] = QUEUE
    with support.bench_database(DB_NAME) as url:
        support.django_setup(url)
        import redis
        from django.conf import settings
        from django.db import connection

        from leadflow.models import Role, User
        from marketing import scoring
        from marketing.models import ScoreEntry, ScoringRule

        setup = seed(leads=args.leads, activities=args.activities)
        vacuum_analyze(url)
        entries_before = ScoreEntry.objects.count()
        print(
            f"seeded {args.leads:,} leads and {args.activities:,} activities in "
            f"{setup['generate_s']:.1f} s; initial ledger of {entries_before:,} rows in "
            f"{setup['initial_ledger_s']:.1f} s"
        )
        marketer = User.objects.create_user(username="bench-marketer", role=Role.MARKETER)
        # The job logs its two phases (ledger corrections, then the leads).
        logging.getLogger("marketing.scoring").setLevel(logging.INFO)
        rule = ScoringRule.objects.get(name="Form submitted")

        began = time.perf_counter()
        job = scoring.rule_save(
            actor=marketer, rule_id=rule.pk, data={"name": rule.name, "points": 15}
        )
        done = scoring.rescore_run(job_id=job.pk)
        seconds = time.perf_counter() - began
        assert done is not None
        written = ScoreEntry.objects.count() - entries_before
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM marketing_lead")
            (lead_count,) = cursor.fetchone()
            cursor.execute("SELECT COUNT(*) FROM marketing_touchpoint")
            (activity_count,) = cursor.fetchone()
        redis.Redis.from_url(settings.REDIS_URL).delete(QUEUE)
        print(
            f"rule change re-scored {lead_count:,} leads in {seconds:.1f} s: "
            f"{written:,} ledger corrections, {done.changed:,} scores changed, "
            f"{done.new_mqls:,} new MQLs"
        )
        print(
            json.dumps(
                {
                    "leads": lead_count,
                    "activities": activity_count,
                    "seconds": round(seconds, 1),
                    "ledger_corrections": written,
                    "scores_changed": done.changed,
                    "new_mqls": done.new_mqls,
                    "initial_ledger_seconds": round(setup["initial_ledger_s"], 1),
                    "ledger_rows": entries_before + written,
                }
            )
        )


if __name__ == "__main__":
    main()
