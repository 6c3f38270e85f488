"""Routing latency and pool-claim throughput, with the real web server and Celery worker.

1. Latency: a fast-track form is posted 200 times to gunicorn (``DEBUG=false``); a real
   ``celery worker`` scores each lead, which qualifies it, creates its handoff, routes it
   and notifies the rep. Per lead, the time from the submit to the later of "handoff
   assigned" and "the rep's notification exists" (the rows' timestamps against the
   client's clock: one machine, one clock).
2. Claims: two pools of 20,000 handoffs in one table (two teams), vacuumed and analysed
   alike. 8 claimer processes drain the first through the real ``handoff_claim_next``
   service (one statement that also writes the owner events, the lead's owner and the
   clocks' holder); then 8 drain the second with a raw ``UPDATE … FOR UPDATE SKIP LOCKED``
   loop that only assigns the row. Timing starts when every process is connected. Double
   claims are counted from what each claimer was told it got.

Run from the project root:

    .venv/bin/python bench/route.py [--leads 200] [--pool 20000] [--claimers 8]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support as support
from bench.capture import expect_html_thanks, lead_fields

DB_NAME = "leadflow_bench_route"
QUEUE = "bench-route"
GAP_S = 0.25

RAW_CLAIM = """
UPDATE handoff_handoff h SET assigned_to_id = %(user)s, assigned_at = now()
FROM (
    SELECT id FROM handoff_handoff
    WHERE team_id = %(team)s AND status = 'pending' AND assigned_to_id IS NULL
    ORDER BY sla_tier, handed_off_at, id
    LIMIT 1 FOR UPDATE SKIP LOCKED
) AS next
WHERE h.id = next.id
RETURNING h.id
"""


def make_fixtures() -> tuple[str, int, int, list[int]]:
    """A routing team of 4 reps with a hot fast-track rule and a form; a pool team of reps
    and a second pool team for the raw loop. Returns the form key, the two pool teams' ids
    and the claimers' ids."""
    from handoff.models import QualificationRule, TeamRouting
    from leadflow.models import Role, Team, User
    from marketing.models import Campaign, Form

    team = Team.objects.create(name="Bench routing", timezone="UTC")
    TeamRouting.objects.create(team=team, max_open_per_rep=None)
    for i in range(4):
        User.objects.create_user(
            username=f"bench-rep{i}", email=f"rep{i}@bench.invalid", role=Role.REP, team=team
        )
    QualificationRule.objects.create(
        name="Bench: demo requests", fast_track_only=True, sla_tier="hot", team=team
    )
    marketer = User.objects.create_user(
        username="bench-marketer", email="marketer@bench.invalid", role=Role.MARKETER
    )
    campaign = Campaign.objects.create(name="Bench", channel="paid_search", owner=marketer)
    key = Form.objects.create(
        campaign=campaign, name="Bench demo", created_by=marketer, fast_track=True
    ).key

    pool = Team.objects.create(name="Bench pool", timezone="UTC")
    TeamRouting.objects.create(team=pool, max_open_per_rep=None)
    claimers = [
        User.objects.create_user(username=f"bench-claimer{i}", role=Role.REP, team=pool).pk
        for i in range(16)
    ]
    raw_pool = Team.objects.create(name="Bench raw pool", timezone="UTC")
    return key, pool.pk, raw_pool.pk, claimers


def fill_pool(team_id: int, n: int) -> None:
    """``n`` pending, unassigned handoffs (one scored SQL lead each) in the team's pool."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH leads AS (
                INSERT INTO marketing_lead (email, phone, first_name, last_name, company,
                    job_title, country, stage, source, fit_score, engagement_score, grade,
                    fast_tracked, scored_at, created_at, updated_at)
                SELECT 'pool' || %(team)s || '.' || g || '@bench.invalid', '', 'Pool', 'Person',
                    'Co ' || g, '',
                    '', 'sql', '', 0, 0, 'D', false, now(), now(), now()
                FROM generate_series(1, %(n)s) AS g
                RETURNING id
            )
            INSERT INTO handoff_handoff (lead_id, rule_name, score_snapshot, sla_tier, team_id,
                routing_reason, status, reject_reason, reject_note, handed_off_at)
            SELECT id, 'bench', '{}', CASE WHEN id %% 5 = 0 THEN 'hot' ELSE 'standard' END,
                %(team)s, '', 'pending', '', '', now() - (id || ' seconds')::interval
            FROM leads
            """,
            {"n": n, "team": team_id},
        )


def settle() -> None:
    """Both contenders start from the same state: no dead rows, fresh statistics."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("handoff_handoff", "marketing_lead", "leadflow_event"):
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- Latency --------------------------------------------------------------------------


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "leadflow",
            "worker",
            "-Q",
            QUEUE,
            "--concurrency=2",  # prefork, one process per core of this machine
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ],
        cwd=support.ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def measure_latency(server: support.Gunicorn, key: str, leads: int) -> list[float]:
    """Post the leads one after another; then read when each was assigned and notified."""
    import http.client

    from handoff.models import Handoff
    from leadflow.models import Notification

    sent: dict[str, datetime] = {}
    run = str(int(time.time()))
    started = time.perf_counter()
    for i in range(leads):
        fields = lead_fields(i, run, "route.bench.example.com")
        request = support.form_post(f"/f/{key}/", fields)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        sent[fields["email"]] = datetime.now().astimezone()
        conn.request(request.method, request.path, request.body, dict(request.headers))
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if not expect_html_thanks(response.status, body):
            raise RuntimeError(f"capture failed: {response.status} {body[:200]!r}")
        # A steady 4 leads a second (14,400 an hour): this measures the latency of one
        # lead, not how deep a backlog gets when the worker is saturated.
        time.sleep(max(0.0, started + (i + 1) * GAP_S - time.perf_counter()))
    deadline = time.monotonic() + 120
    latencies: dict[str, float] = {}
    while len(latencies) < leads and time.monotonic() < deadline:
        rows = Handoff.objects.filter(
            lead__email__in=[e for e in sent if e not in latencies], assigned_at__isnull=False
        ).values_list("pk", "lead__email", "assigned_at", "assigned_to_id")
        for pk, email, assigned_at, rep_id in rows:
            note = (
                Notification.objects.filter(
                    user_id=rep_id, dedupe_key__startswith=f"handoff.assigned:{pk}:"
                )
                .values_list("created_at", flat=True)
                .first()
            )
            if note is not None and assigned_at is not None and email is not None:
                done = max(assigned_at, note)
                latencies[email] = (done - sent[email]).total_seconds() * 1000
        time.sleep(0.5)
    if len(latencies) < leads:
        raise RuntimeError(f"only {len(latencies)} of {leads} leads were routed in time")
    return list(latencies.values())


# --- Claims ---------------------------------------------------------------------------


def _service_claimer(database_url: str, rep_id: int, ready, go, out) -> None:  # type: ignore[no-untyped-def]
    # Django configured as the app runs in production: with DEBUG on, every claim would
    # also be formatted into the query log, client work the raw loop does not do.
    os.environ.update(support.production_env())
    support.django_setup(database_url)
    from handoff.services import handoff_claim_next
    from leadflow.models import User

    rep = User.objects.get(pk=rep_id)
    ready.put(True)
    go.wait()  # start-up (Django, the first connection) is not part of the figure
    got = []
    while (handoff_id := handoff_claim_next(user=rep)) is not None:
        got.append(handoff_id)
    out.put(got)


def _raw_claimer(database_url: str, rep_id: int, team_id: int, ready, go, out) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    got = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        ready.put(True)
        go.wait()
        while row := conn.execute(RAW_CLAIM, {"user": rep_id, "team": team_id}).fetchone():
            got.append(row[0])
    out.put(got)


def run_claimers(target, args_for: list[tuple]) -> tuple[float, list[int]]:  # type: ignore[no-untyped-def,type-arg]
    """Start one process per claimer, wait until all are connected, then time the drain."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, ready, go, out)) for args in args_for]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    results = [out.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    return elapsed, [pk for got in results for pk in got]


def doubles(ids: list[int]) -> int:
    return sum(n - 1 for n in Counter(ids).values() if n > 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--pool", type=int, default=20000)
    parser.add_argument("--claimers", type=int, default=8)
    args = parser.parse_args()
    redis_url = support.redis_url()
    with support.bench_database(DB_NAME) as database_url:
        support.django_setup(database_url)
        key, pool_team, raw_team, claimer_ids = make_fixtures()
        env = {
            **support.production_env(),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_QUEUE": QUEUE,
            # One client posts every lead: the per-address limit is not what is measured.
            **{f"LEADFLOW_CAPTURE_RATE_PER_{what}": "1000000" for what in ("IP", "FORM")},
        }
        support.collectstatic(env)
        worker = start_worker(env)
        try:
            with support.start_gunicorn(env, workers=2) as server:
                latencies = measure_latency(server, key, args.leads)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
            redis.Redis.from_url(redis_url).delete(QUEUE)

        from django.db import connections

        # Two equal pools on the same table: one for the service, one for the raw loop.
        fill_pool(pool_team, args.pool)
        fill_pool(raw_team, args.pool)
        settle()
        connections.close_all()
        reps = claimer_ids[: args.claimers]
        service_s, service_ids = run_claimers(
            _service_claimer, [(database_url, rep) for rep in reps]
        )
        settle()
        connections.close_all()
        raw_s, raw_ids = run_claimers(_raw_claimer, [(database_url, rep, raw_team) for rep in reps])
        if len(service_ids) != args.pool or len(raw_ids) != args.pool:
            raise RuntimeError(f"claimed {len(service_ids)} and {len(raw_ids)} of {args.pool}")
        connections.close_all()
    figures = {
        "leads": args.leads,
        "p50_ms": round(support.percentile(latencies, 50), 1),
        "p95_ms": round(support.percentile(latencies, 95), 1),
        "pool": args.pool,
        "claimers": args.claimers,
        "claims_per_s": round(len(service_ids) / service_s, 1),
        "raw_claims_per_s": round(len(raw_ids) / raw_s, 1),
        "double_claims": doubles(service_ids),
    }
    figures["ratio"] = round(figures["claims_per_s"] / figures["raw_claims_per_s"], 2)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
