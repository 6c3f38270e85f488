"""The marketer's lead list at scale: page times with a million leads.

Creates its own database, fills it set-wise (one ``INSERT … SELECT generate_series``) with
leads spread over campaigns, stages, grades, owners and a year of creation dates, runs
``VACUUM ANALYZE`` as autovacuum would have, then times whole requests in this process
(Django's test client logged in as a marketer, ``DEBUG`` off: view, queries, template)
for each case: the first page, filters, searches, both sort orders, page 50 reached by
cursors, and the campaign pages. The database is dropped at the end. Run from the project
root:

    .venv/bin/python bench/lead_list.py [--leads 1000000] [--repeat 30]

Prints p50/p95 per case; the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support as support

DB_NAME = "leadflow_bench_leadlist"
CAMPAIGNS = 40
REPS = 20
# A company that only a handful of leads (the oldest) work for: the worst case of a
# substring search, which finds its few matches only after reading every row.
RARE_COMPANY = "Zephyrine Quantum Dynamics"

FIRST_NAMES = [
    "Anna", "Boris", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Julia",
    "Karl", "Lena", "Marco", "Nina", "Oskar", "Petra", "Quinn", "Rosa", "Sven", "Tara",
]  # fmt: skip
LAST_NAMES = [
    "Ivanova", "Smith", "Müller", "Novak", "Garcia", "Kowalski", "Tanaka", "Olsen", "Brown",
    "Rossi", "Dubois", "Jensen", "Silva", "Horvat", "Nagy", "Berg", "Costa", "Keller",
    "Lund", "Moreau", "Petrov", "Quist", "Reyes", "Sato", "Torres", "Vogel", "Weber", "Young",
]  # fmt: skip
COMPANY_WORDS = [
    "Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adatum", "Proseware",
    "Wingtip", "Lucerne", "Margie", "Trey", "Woodgrove", "Alpine", "Coho", "Datum",
    "Fourth", "Humongous", "Relecloud", "Southridge", "Wide World",
]  # fmt: skip
COMPANY_KINDS = ["Labs", "Systems", "Logistics", "Health", "Bank", "Retail", "Energy", "Media"]
TITLES = ["VP Marketing", "Head of Sales", "CTO", "Engineer", "Office Manager", "Founder"]
SOURCES = ["google", "linkedin", "newsletter", "webinar", "partner", "blog", "event", "bing"]
CHANNELS = ["paid_search", "paid_social", "email", "webinar", "referral", "content", "event"]

# One row per lead, all values drawn in SQL. Creation times run a year back, ten leads to a
# timestamp (as a batch import writes them), ids rising with time as in production.
_LEADS_SQL = """
WITH drawn AS (
    SELECT i,
           random() AS r_stage,
           1 + floor(random() * 10)::int AS fit_band,
           floor(random() * 121)::int AS engagement,
           1 + floor(random() * cardinality(%(campaigns)s::int[]))::int AS c,
           1 + floor(random() * cardinality(%(reps)s::int[]))::int AS o,
           1 + floor(random() * cardinality(%(first)s::text[]))::int AS f,
           1 + floor(random() * cardinality(%(last)s::text[]))::int AS l,
           1 + floor(random() * cardinality(%(words)s::text[]))::int AS w,
           1 + floor(random() * cardinality(%(kinds)s::text[]))::int AS k,
           1 + floor(random() * cardinality(%(titles)s::text[]))::int AS t,
           now() - ((%(n)s - i) / 10) * interval '5 minutes' - interval '1 hour' AS at
    FROM generate_series(1, %(n)s) AS i
), staged AS (
    SELECT d.*,
           CASE WHEN r_stage < 0.70 THEN 'lead'
                WHEN r_stage < 0.82 THEN 'mql'
                WHEN r_stage < 0.88 THEN 'sql'
                WHEN r_stage < 0.91 THEN 'opportunity'
                WHEN r_stage < 0.925 THEN 'customer'
                WHEN r_stage < 0.975 THEN 'recycled'
                ELSE 'disqualified' END AS stage,
           (ARRAY[-10, 0, 5, 10, 15, 20, 25, 30, 35, 45])[fit_band] AS fit
    FROM drawn d
)
INSERT INTO marketing_lead (
    email, phone, first_name, last_name, company, job_title, company_size, country,
    stage, owner_id, campaign_id, source, fit_score, engagement_score, grade,
    scored_at, fast_tracked, created_at, updated_at, mql_at, sql_at
)
SELECT lower((%(first)s::text[])[f] || '.' || (%(last)s::text[])[l]) || '.' || i
           || '@' || lower(replace((%(words)s::text[])[w], ' ', '')) || '.example.com',
       '', (%(first)s::text[])[f], (%(last)s::text[])[l],
       (%(words)s::text[])[w] || ' ' || (%(kinds)s::text[])[k],
       (%(titles)s::text[])[t], (ARRAY[5, 40, 250, 1200, 8000])[1 + i %% 5],
       (ARRAY['US', 'DE', 'GB', 'FR', 'NL', 'SE', 'PL'])[1 + i %% 7],
       stage,
       CASE WHEN stage IN ('sql', 'opportunity', 'customer') THEN (%(reps)s::int[])[o] END,
       (%(campaigns)s::int[])[c], (%(sources)s::text[])[c],
       fit, engagement,
       CASE WHEN fit >= 35 THEN 'A' WHEN fit >= 20 THEN 'B' WHEN fit >= 5 THEN 'C' ELSE 'D' END,
       at, false, at, at,
       CASE WHEN stage NOT IN ('lead', 'disqualified') THEN at + interval '1 day' END,
       CASE WHEN stage IN ('sql', 'opportunity', 'customer') OR (stage = 'recycled' AND i %% 2 = 0)
            THEN at + interval '2 days' END
FROM staged
"""


def seed(count: int, database_url: str) -> dict[str, Any]:
    """The people, campaigns and ``count`` leads; returns what the cases need to know."""
    from django.db import connection

    from leadflow.models import Role, User
    from marketing.models import Campaign, Lead

    marketer = User.objects.create_user(
        username="bench-marketer", email="marketer@bench.invalid", role=Role.MARKETER
    )
    reps = User.objects.bulk_create(
        User(username=f"bench-rep{n}", email=f"rep{n}@bench.invalid", role=Role.REP)
        for n in range(REPS)
    )
    campaigns = Campaign.objects.bulk_create(
        Campaign(
            name=f"Campaign {n:02d}",
            channel=CHANNELS[n % len(CHANNELS)],
            utm_source=SOURCES[n % len(SOURCES)],
            utm_medium="cpc",
            utm_campaign=f"bench-{n}",
            budget=10_000,
            cost=1_000 + 250 * n,
            owner=marketer,
        )
        for n in range(CAMPAIGNS)
    )
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            _LEADS_SQL,
            {
                "n": count,
                "campaigns": [c.pk for c in campaigns],
                "sources": [c.utm_source for c in campaigns],
                "reps": [r.pk for r in reps],
                "first": FIRST_NAMES,
                "last": LAST_NAMES,
                "words": COMPANY_WORDS,
                "kinds": COMPANY_KINDS,
                "titles": TITLES,
            },
        )
    # The rare company: the five oldest leads, so a newest-first search meets them last.
    oldest = list(Lead.objects.order_by("created_at", "id").values_list("pk", flat=True)[:5])
    Lead.objects.filter(pk__in=oldest).update(company=RARE_COMPANY)
    inserted = time.perf_counter() - began
    _vacuum_analyze(database_url)
    sample = Lead.objects.order_by("-id").values("email").first()
    print(
        f"seeded {count:,} leads in {inserted:.1f} s "
        f"(+ VACUUM ANALYZE {time.perf_counter() - began - inserted:.1f} s)"
    )
    return {
        "marketer": marketer,
        "campaign_id": campaigns[7].pk,
        "rep_id": reps[3].pk,
        "email": sample["email"] if sample else "",
    }


def _vacuum_analyze(database_url: str) -> None:
    """What autovacuum does to a table that settled: statistics for the planner and the
    visibility map for index-only scans. VACUUM cannot run inside a transaction."""
    import psycopg
    from django.db import connection

    connection.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE marketing_lead")


def page_link(body: str, rel: str) -> str:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', body)
    return unescape(found.group(1)) if found else ""


def count_text(body: str) -> str:
    found = re.search(r'<strong class="lead-count">(.*?)</strong>', body, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else ""


def follow(get: Callable[[str], str], url: str, pages: int) -> str:
    """The URL of page ``pages``, reached by following the "next" links from ``url`` (the
    last page, if the list is shorter: small ``--leads`` runs)."""
    for page in range(1, pages):
        link = page_link(get(url), "next")
        if not link:
            print(f"note: {url.split('&cursor')[0]} ends at page {page}")
            break
        url = "/leads/" + link
    return url


class QueryMeter:
    """Counts the SQL statements of a request and the time spent in them (an
    ``execute_wrapper``: the time includes the round trip and reading the rows)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - began


def measure(facts: dict[str, Any], repeat: int, warmup: int) -> dict[str, dict[str, float]]:
    from django.db import connection
    from django.test import Client, override_settings

    from bench._support import percentile

    client = Client()
    client.force_login(facts["marketer"])

    def get(url: str) -> str:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code}")
        return response.content.decode()

    campaign, rep = facts["campaign_id"], facts["rep_id"]
    results: dict[str, dict[str, float]] = {}
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"]):
        cases = {
            "unfiltered": "/leads/",
            "stage_campaign": f"/leads/?stage=mql&campaign={campaign}",
            "owner_grade_dates": (
                f"/leads/?owner={rep}&grade=B&created_from=2000-01-01&created_to=2100-01-01"
            ),
            "source": "/leads/?source=linkedin",
            "search_name": "/leads/?q=smith",
            "search_two_words": "/leads/?q=anna+northwind",
            "search_email": f"/leads/?q={facts['email']}",
            "search_rare": "/leads/?q=zephyrine",
            "sort_score": "/leads/?sort=score",
            "page_50": follow(get, "/leads/", 50),
            "score_page_50": follow(get, "/leads/?sort=score", 50),
            "stage_campaign_page_50": follow(
                get, f"/leads/?stage=lead&campaign={campaign}&sort=score", 50
            ),
            "campaign_list": "/campaigns/",
            "campaign_detail": f"/campaigns/{campaign}/",
        }
        for name, url in cases.items():
            body = ""
            for _ in range(warmup):
                body = get(url)
            times, db_times, queries = [], [], 0
            for _ in range(repeat):
                meter = QueryMeter()
                with connection.execute_wrapper(meter):
                    began = time.perf_counter()
                    get(url)
                    times.append(time.perf_counter() - began)
                db_times.append(meter.seconds)
                queries = meter.count
            results[name] = {
                "p50": round(percentile(times, 50) * 1000, 1),
                "p95": round(percentile(times, 95) * 1000, 1),
                "db_p50": round(percentile(db_times, 50) * 1000, 1),
            }
            print(
                f"{name:24} p50 {results[name]['p50']:7.1f} ms  p95 {results[name]['p95']:7.1f} ms"
                f"  (SQL p50 {results[name]['db_p50']:6.1f} ms in {queries:2d} queries)"
                f"  {count_text(body)}"
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per case")
    args = parser.parse_args()
    with support.bench_database(DB_NAME) as url:
        support.django_setup(url)
        facts = seed(args.leads, url)
        results = measure(facts, args.repeat, args.warmup)
    print(
        json.dumps(
            {
                "leads": args.leads,
                "p95_ms": {name: figures["p95"] for name, figures in results.items()},
                "p50_ms": {name: figures["p50"] for name, figures in results.items()},
                "sql_p50_ms": {name: figures["db_p50"] for name, figures in results.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
