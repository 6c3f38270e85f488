"""Sales pages at scale: the board, the deal list, Today and the account pages, with many
deals; and how fast due task reminders go out.

Creates its own database, fills it set-wise (``INSERT … SELECT generate_series``) with
accounts, deals spread over the default pipeline's stages, reps of two teams (one sharing
its deals, one private), currencies, close months and a year of activity, and open tasks;
runs ``VACUUM ANALYZE``, then times whole requests in this process (Django's test client,
``DEBUG`` off: view, queries, template) for each case, as a rep of each team and as a
manager. Then it makes ``--reminders`` tasks due and times ``task_reminders_send`` until
all are sent. The database is dropped at the end. Run from the project root:

    .venv/bin/python bench/sales.py [--deals 200000] [--repeat 20]

Prints p50/p95 per case; the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support as support
from bench.lead_list import QueryMeter

DB_NAME = "leadflow_bench_sales"
REPS_PER_TEAM = 10

_ACCOUNTS_SQL = """
INSERT INTO sales_account (name, domain, owner_id, team_id, created_at)
SELECT 'Company ' || i, 'company' || i || '.example.com',
       (%(reps)s::int[])[1 + i %% cardinality(%(reps)s::int[])],
       (%(teams)s::int[])[1 + (i %% cardinality(%(reps)s::int[])) / %(per_team)s],
       now() - interval '1 year'
FROM generate_series(1, %(n)s) AS i
"""

# Deals: the owner decides the team; stages drawn with more deals early in the pipeline;
# a third closed (won or lost, with a reason); amounts log-spread; two currencies.
_DEALS_SQL = """
WITH drawn AS (
    SELECT i,
           1 + floor(random() * cardinality(%(reps)s::int[]))::int AS o,
           floor(power(random(), 1.6) * cardinality(%(stages)s::int[]))::int + 1 AS s,
           now() - random() * interval '365 days' AS at
    FROM generate_series(1, %(n)s) AS i
)
INSERT INTO sales_deal (
    name, account_id, pipeline_id, stage_id, amount, currency, expected_close, owner_id,
    team_id, source, campaign_name, close_reason, close_note, created_at, closed_at,
    stage_changed_at, last_activity_at
)
SELECT 'Deal ' || i,
       (SELECT min(id) FROM sales_account) + i %% %(accounts)s,
       %(pipeline)s,
       (%(stages)s::int[])[s],
       round((500 + random() * 99500)::numeric, -2),
       CASE WHEN i %% 5 = 0 THEN 'EUR' ELSE 'USD' END,
       (at + random() * interval '120 days')::date,
       (%(reps)s::int[])[o],
       (%(teams)s::int[])[1 + (o - 1) / %(per_team)s],
       'google', '',
       CASE WHEN (%(outcomes)s::text[])[s] = 'won' THEN 'Price and terms'
            WHEN (%(outcomes)s::text[])[s] = 'lost' THEN 'Chose a competitor' ELSE '' END,
       '',
       at,
       CASE WHEN (%(outcomes)s::text[])[s] <> 'open' THEN at + interval '20 days' END,
       at, at + random() * interval '30 days'
FROM drawn
"""

_TASKS_SQL = """
INSERT INTO sales_task (title, due_at, remind_at, owner_id, created_by_id, deal_id, created_at,
                        reminded_at)
SELECT 'Follow up ' || i, now() + (i %% 240 - 120) * interval '1 hour',
       now() + (i %% 240 - 120) * interval '1 hour', d.owner_id, d.owner_id, d.id, now(), now()
FROM generate_series(1, %(n)s) AS i
JOIN sales_deal d ON d.id = (SELECT min(id) FROM sales_deal) + i %% %(deals)s
"""


def seed(deals: int, tasks: int, database_url: str) -> dict[str, Any]:
    from django.db import connection

    from leadflow.models import Role, Team, User
    from sales.models import Deal, Pipeline

    shared = Team.objects.create(name="Bench shared", visibility=Team.Visibility.SHARED)
    private = Team.objects.create(name="Bench private")
    teams = [shared, private]
    reps = User.objects.bulk_create(
        User(
            username=f"bench-rep{n}",
            email=f"rep{n}@bench.invalid",
            role=Role.REP,
            team=teams[n // REPS_PER_TEAM],
        )
        for n in range(2 * REPS_PER_TEAM)
    )
    manager = User.objects.create_user(
        username="bench-manager", email="m@bench.invalid", role=Role.MANAGER, team=private
    )
    pipeline = Pipeline.objects.get(is_default=True, team=None)
    stages = list(pipeline.stages.order_by("position"))
    accounts = max(1, deals // 4)
    params = {
        "reps": [r.pk for r in reps],
        "teams": [t.pk for t in teams],
        "per_team": REPS_PER_TEAM,
        "stages": [s.pk for s in stages],
        "outcomes": [s.outcome for s in stages],
        "pipeline": pipeline.pk,
        "accounts": accounts,
    }
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(_ACCOUNTS_SQL, {**params, "n": accounts})
        cursor.execute(_DEALS_SQL, {**params, "n": deals})
        cursor.execute(_TASKS_SQL, {"n": tasks, "deals": deals})
    inserted = time.perf_counter() - began
    _vacuum_analyze(database_url)
    print(
        f"seeded {accounts:,} accounts, {deals:,} deals, {tasks:,} tasks in {inserted:.1f} s"
        f" (+ VACUUM ANALYZE {time.perf_counter() - began - inserted:.1f} s)"
    )
    sample = Deal.objects.filter(owner=reps[12]).order_by("-id").first()
    assert sample is not None
    return {
        "shared_rep": reps[3],
        "private_rep": reps[12],
        "manager": manager,
        "deal_id": sample.pk,
        "account_id": sample.account_id,
    }


def _vacuum_analyze(database_url: str) -> None:
    import psycopg
    from django.db import connection

    connection.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE sales_account, sales_deal, sales_task")


def measure(facts: dict[str, Any], repeat: int, warmup: int) -> dict[str, dict[str, float]]:
    from django.db import connection
    from django.test import Client, override_settings

    from bench._support import percentile

    deal, account = facts["deal_id"], facts["account_id"]
    owner = facts["private_rep"].pk
    cases: dict[str, tuple[str, str]] = {
        "board_rep_private": ("private_rep", "/sales/board/"),
        "board_rep_shared_team": ("shared_rep", "/sales/board/"),
        "board_manager": ("manager", "/sales/board/"),
        "board_manager_owner": ("manager", f"/sales/board/?owner={owner}"),
        "board_manager_month": ("manager", "/sales/board/?close_month=2026-10"),
        "list_manager": ("manager", "/sales/deals/"),
        "list_closed": ("manager", "/sales/deals/?status=closed"),
        "list_page_20": ("manager", "/sales/deals/?page=20"),
        "today_rep": ("private_rep", "/today/"),
        "deal_page": ("private_rep", f"/sales/deals/{deal}/"),
        "accounts_search": ("private_rep", "/sales/accounts/?q=Company+1"),
        "account_page": ("private_rep", f"/sales/accounts/{account}/"),
    }
    clients: dict[str, Client] = {}
    for who in ("private_rep", "shared_rep", "manager"):
        clients[who] = Client()
        clients[who].force_login(facts[who])
    results: dict[str, dict[str, float]] = {}
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"]):
        for name, (who, url) in cases.items():
            client = clients[who]
            for _ in range(warmup):
                assert client.get(url).status_code == 200, url
            times, db_times, queries = [], [], 0
            for _ in range(repeat):
                meter = QueryMeter()
                with connection.execute_wrapper(meter):
                    began = time.perf_counter()
                    response = client.get(url)
                    times.append(time.perf_counter() - began)
                assert response.status_code == 200, url
                db_times.append(meter.seconds)
                queries = meter.count
            results[name] = {
                "p50": round(percentile(times, 50) * 1000, 1),
                "p95": round(percentile(times, 95) * 1000, 1),
                "db_p50": round(percentile(db_times, 50) * 1000, 1),
                "queries": queries,
            }
            print(
                f"{name:22} p50 {results[name]['p50']:7.1f} ms  p95 {results[name]['p95']:7.1f} ms"
                f"  (SQL p50 {results[name]['db_p50']:6.1f} ms in {queries:2d} queries)"
            )
    return results


def reminders(count: int) -> dict[str, float]:
    """Make ``count`` reminders due and send them all, batch by batch, as beat would."""
    from django.utils import timezone

    from leadflow.models import Notification
    from sales import services
    from sales.models import Task

    ids = list(Task.objects.order_by("id").values_list("pk", flat=True)[:count])
    Task.objects.filter(pk__in=ids).update(
        remind_at=timezone.now() - timezone.timedelta(minutes=1), reminded_at=None
    )
    began = time.perf_counter()
    sent = 0
    while batch := services.task_reminders_send():
        sent += batch
    seconds = time.perf_counter() - began
    assert Notification.objects.filter(kind="task.reminder").count() == sent == len(ids)
    print(f"reminders: {sent:,} sent in {seconds:.2f} s ({sent / seconds:,.0f}/s)")
    return {"sent": sent, "seconds": round(seconds, 2), "per_second": round(sent / seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--reminders", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per case")
    args = parser.parse_args()
    with support.bench_database(DB_NAME) as url:
        support.django_setup(url)
        facts = seed(args.deals, args.tasks, url)
        results = measure(facts, args.repeat, args.warmup)
        sent = reminders(min(args.reminders, args.tasks))
    print(
        json.dumps(
            {
                "deals": args.deals,
                "p95_ms": {name: figures["p95"] for name, figures in results.items()},
                "p50_ms": {name: figures["p50"] for name, figures in results.items()},
                "queries": {name: figures["queries"] for name, figures in results.items()},
                "reminders": sent,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
