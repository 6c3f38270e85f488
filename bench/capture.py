"""Lead capture throughput: the public form endpoint against ``/health/`` on one server.

Creates its own database, starts gunicorn (2 sync workers, ``DEBUG=false``) against it,
posts distinct leads to ``POST /f/<key>/`` from a closed loop of concurrent clients, then
measures ``/health/`` (one ``SELECT 1``) on the same server: the ratio says how much of the
server's capacity a capture costs compared with the cheapest database-backed request.

Scoring messages go to their own Celery queue (``CELERY_QUEUE``), which nobody consumes
and which is deleted at the end. Run from the project root:

    .venv/bin/python bench/capture.py [--leads 5000] [--concurrency 8]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support as support

DB_NAME = "leadflow_bench_capture"
QUEUE = "bench-capture"
WORKERS = 2
WARMUP_DOMAIN = "warmup.bench.invalid"
LEAD_DOMAIN = "bench.example.com"

FIRST_NAMES = ["Anna", "Boris", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivan"]
LAST_NAMES = ["Ivanova", "Smith", "Müller", "Novak", "Garcia", "Kowalski", "Tanaka", "Olsen"]
TITLES = ["VP Marketing", "Head of Sales", "CTO", "Engineer", "Office Manager", "Founder"]
SIZES = ["5", "40", "250", "1200", "8000", ""]
COUNTRIES = ["US", "DE", "GB", "FR", "NL", "SE", "PL", ""]


def make_form() -> str:
    """The marketer, campaign and form the leads are posted to; returns the form's key."""
    from leadflow.models import Role, User
    from marketing.models import Campaign, Form

    marketer = User.objects.create_user(
        username="bench-marketer", email="marketer@bench.invalid", role=Role.MARKETER
    )
    campaign = Campaign.objects.create(
        name="Bench search campaign",
        channel="paid_search",
        owner=marketer,
        utm_source="google",
        utm_medium="cpc",
        utm_campaign="bench",
    )
    return Form.objects.create(campaign=campaign, name="Bench demo form", created_by=marketer).key


def lead_fields(index: int, run: str, domain: str) -> dict[str, str]:
    rng = random.Random(index)
    company = f"Company {index % 997}"
    fields = {
        # Unique per lead and per run, so every post creates a lead.
        "email": f"lead{index:05d}.{run}@{domain}",
        "first_name": rng.choice(FIRST_NAMES),
        "last_name": rng.choice(LAST_NAMES),
        "company": company,
        "job_title": rng.choice(TITLES),
        "company_size": rng.choice(SIZES),
        "country": rng.choice(COUNTRIES),
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "bench",
        "referrer": "https://www.google.com/",
        "landing_page": "https://example.com/demo?utm_source=google&utm_medium=cpc",
        "website": "",  # the honeypot: people leave it empty
    }
    if index % 2:  # half the people give a phone number, which is parsed and normalised
        fields["phone"] = f"+1 415 555 {index % 10000:04d}"
    return fields


def queued_leads(broker: redis.Redis) -> int:
    """How many lead ids wait on the scoring queue, over all its messages."""
    count = 0
    for raw in broker.lrange(QUEUE, 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        count += len(args[0]) if isinstance(args[0], list) else 1
    return count


def expect_html_thanks(status: int, body: bytes) -> bool:
    return status == 200 and b"<html" in body[:500].lower()


def expect_json_thanks(status: int, body: bytes) -> bool:
    return status == 201 and body.startswith(b"{")


@dataclass
class Run:
    """One measured load and the CPU seconds spent meanwhile, by whom."""

    result: support.LoadResult
    gunicorn: float
    postgres: float
    redis: float
    machine: float  # everything on the machine, ours included

    @property
    def others(self) -> float:
        ours = self.gunicorn + self.postgres + self.redis + self.result.client_cpu
        return max(0.0, self.machine - ours)

    def disturbed(self) -> bool:
        """Other work took more than a tenth of the machine: the figures are low, noisy."""
        return self.others > 0.1 * self.result.wall * (os.cpu_count() or 1)


def measure(
    server: support.Gunicorn,
    database_url: str,
    redis_url: str,
    requests: list[support.Request],
    *,
    concurrency: int,
    expect: Callable[[int, bytes], bool],
) -> Run:
    # Our own processes are metered one by one (the workers, the backends of the bench
    # database); other work on the machine, a test run say, is what is left of its total.
    redis_before, machine_before = support.redis_cpu(redis_url), support.machine_cpu()
    with (
        support.postgres_backends(database_url) as backend_pids,
        support.CpuMeter(backend_pids) as postgres,
        support.CpuMeter(lambda: support.process_children(server.process.pid)) as workers,
    ):
        result = support.run_load(server.port, requests, concurrency=concurrency, expect=expect)
    return Run(
        result=result,
        gunicorn=workers.seconds,
        postgres=postgres.seconds,
        redis=support.redis_cpu(redis_url) - redis_before,
        machine=support.machine_cpu() - machine_before,
    )


def report(label: str, run: Run, unit: str) -> None:
    result = run.result
    print(
        f"{label}: {result.count} {unit} in {result.wall:.2f} s -> {result.rate:.1f}/s, "
        f"p50 {result.percentile_ms(50):.1f} ms, p90 {result.percentile_ms(90):.1f} ms, "
        f"p99 {result.percentile_ms(99):.1f} ms, max {max(result.latencies) * 1000:.1f} ms"
    )
    per = 1000 / result.count
    print(
        f"  CPU per request: gunicorn {run.gunicorn * per:.2f} ms, postgres "
        f"{run.postgres * per:.2f} ms, redis {run.redis * per:.2f} ms, load client "
        f"{result.client_cpu * per:.2f} ms; busy {run.machine / result.wall:.2f} of "
        f"{os.cpu_count()} CPUs, of which other processes {run.others / result.wall:.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--health", type=int, default=5000, help="GET /health/ requests")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (gthread above 1)"
    )
    parser.add_argument("--warmup", type=int, default=200, help="posts before measuring")
    parser.add_argument(
        "--json",
        action="store_true",
        help="send Accept: application/json (201 + JSON) instead of the HTML thank-you page",
    )
    args = parser.parse_args()

    redis_url = support.redis_url()
    run_id = secrets.token_hex(3)
    headers = {"Accept": "application/json"} if args.json else {}
    expect_thanks = expect_json_thanks if args.json else expect_html_thanks
    broker = redis.Redis.from_url(redis_url)
    with (
        support.bench_database(DB_NAME) as database_url,
        # Production needs a media folder; capture stores no files, so an empty one will do.
        tempfile.TemporaryDirectory(prefix="bench-media-") as media_root,
    ):
        support.django_setup(database_url)
        from marketing.models import Lead, Touchpoint

        path = f"/f/{make_form()}/"
        env = {
            **support.production_env(),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_QUEUE": QUEUE,
            "MEDIA_ROOT": media_root,
            **{f"LEADFLOW_CAPTURE_RATE_PER_{what}": "1000000" for what in ("IP", "FORM")},
        }
        support.collectstatic(env)
        broker.delete(QUEUE)
        try:
            with support.start_gunicorn(env, workers=WORKERS, threads=args.threads) as server:
                # Every worker opens its database and Redis connections and compiles its
                # templates on real submissions, deleted before the measured run.
                warmup = support.run_load(
                    server.port,
                    [
                        support.form_post(path, lead_fields(i, run_id, WARMUP_DOMAIN), headers)
                        for i in range(args.warmup)
                    ]
                    + [support.Request("GET", "/health/")] * args.warmup,
                    concurrency=args.concurrency,
                    expect=lambda status, body: status == 200 or expect_thanks(status, body),
                )
                if warmup.failures:
                    print(f"gunicorn log (tail):\n{server.log_tail()}", file=sys.stderr)
                    sys.exit(f"warm-up failed: {warmup.failures[0]}")
                Lead.objects.filter(email__endswith=f"@{WARMUP_DOMAIN}").delete()
                queued_before = queued_leads(broker)

                posts = [
                    support.form_post(path, lead_fields(i, run_id, LEAD_DOMAIN), headers)
                    for i in range(args.leads)
                ]
                capture = measure(
                    server,
                    database_url,
                    redis_url,
                    posts,
                    concurrency=args.concurrency,
                    expect=expect_thanks,
                )
                health = measure(
                    server,
                    database_url,
                    redis_url,
                    [support.Request("GET", "/health/")] * args.health,
                    concurrency=args.concurrency,
                    expect=lambda status, _body: status == 200,
                )
                log_tail = server.log_tail()
            leads = Lead.objects.count()
            touchpoints = Touchpoint.objects.count()
            # Every lead reaches the scoring queue, batched: the web sends many per message.
            time.sleep(0.5)
            queued = queued_leads(broker) - queued_before
        finally:
            # The queue's list, and the binding that kombu keeps for the exchange of the same
            # name (spelt differently by different kombu versions).
            broker.delete(QUEUE, f"_kombu.binding.{QUEUE}", f"_kombu.binding_permanent.{QUEUE}")

    report(f"capture POST /f/<key>/ (concurrency {args.concurrency})", capture, "leads")
    report(f"health  GET /health/   (concurrency {args.concurrency})", health, "requests")
    print(f"database: {leads} leads, {touchpoints} touchpoints; {queued} leads queued for scoring")

    problems = [
        f"{label}: {len(run.result.failures)} failed requests, e.g. {run.result.failures[0]}"
        for label, run in (("capture", capture), ("health", health))
        if run.result.failures
    ]
    for what, found in (("leads", leads), ("touchpoints", touchpoints), ("queued leads", queued)):
        if found != args.leads:
            problems.append(f"expected {args.leads} {what}, found {found}")
    for problem in problems:
        print(f"WARNING: {problem}", file=sys.stderr)
    if problems and log_tail:
        print(f"gunicorn log (tail):\n{log_tail}", file=sys.stderr)
    if capture.disturbed() or health.disturbed():
        print(
            "WARNING: other processes kept the CPUs busy during the run; the figures are "
            "low and noisy",
            file=sys.stderr,
        )

    leads_per_s, health_rps = capture.result.rate, health.result.rate
    print(
        json.dumps(
            {
                "leads_per_s": round(leads_per_s, 1),
                "p50_ms": round(capture.result.percentile_ms(50), 2),
                "p99_ms": round(capture.result.percentile_ms(99), 2),
                "health_rps": round(health_rps, 1),
                "ratio": round(leads_per_s / health_rps, 3) if health_rps else None,
            }
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
