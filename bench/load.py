"""Mixed load: 50 concurrent users for 60 s against the running app, no 5xx allowed.

Creates its own database with the demo data set, starts gunicorn (``DEBUG=false``, 2
workers of 4 threads) against it and runs closed-loop users, each waiting a random
0.5-1.5 s between its requests, as people and integrations do:

- visitors posting the public form (``POST /f/<key>/``),
- reps whose queue refreshes itself (``GET /queue/`` with ``HX-Request``, the partial),
- managers opening the dashboard (``GET /dashboard/``),
- integrations sending batches of 50 leads (``POST /api/v1/leads/batch/``).

No worker runs: the benchmark measures the web tier (the captures' scoring messages wait
in the benchmark's own queue, emptied at the end). All requests come from 127.0.0.1 to
one form, so the public form's per-address and per-form limits are off for the run.
Run from the project root:

    .venv/bin/python bench/load.py [--users 50] [--seconds 60] [--workers 2] [--threads 4]

Per-endpoint figures are printed first; the last line is one JSON object:
``{"requests", "errors_5xx", "p95_ms": {endpoint: p95, ...}}``. The exit status is 1 when
any request failed with a 5xx or got no answer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support as support

DB_NAME = "leadflow_bench_load"
QUEUE = "bench-load"
# Of every 10 users: 4 visitors, 3 reps, 2 managers, 1 integration.
MIX = (("capture", 4), ("queue", 3), ("dashboard", 2), ("api_batch", 1))
BATCH = 50


@dataclass(frozen=True)
class Credentials:
    form_key: str
    token: str
    rep_sessions: list[str]
    manager_sessions: list[str]


def _session_for(user: object) -> str:
    """A signed-in session for ``user``, as the login page would make it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)  # type: ignore[attr-defined]
    session[BACKEND_SESSION_KEY] = "leadflow.auth.LockoutModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()  # type: ignore[attr-defined]
    session.create()
    return str(session.session_key)


def prepare(leads: int) -> Credentials:
    from handoff.demo import seed_demo
    from leadflow.api.tokens import token_create
    from leadflow.models import Role, User
    from marketing.models import Form

    seed_demo(leads=leads)
    admin = User.objects.get(username="admin")
    form = Form.objects.filter(is_active=True).order_by("pk").first()
    assert form is not None, "the demo data has no active form"
    token = token_create(
        created_by=admin,
        user=admin,
        name="load",
        scopes=["leads:write"],
        rate_per_minute=1_000_000,
    ).raw
    reps = User.objects.filter(role=Role.REP, is_active=True, team__isnull=False)
    managers = User.objects.filter(role=Role.MANAGER, is_active=True)
    return Credentials(
        form_key=form.key,
        token=token,
        rep_sessions=[_session_for(user) for user in reps],
        manager_sessions=[_session_for(user) for user in managers],
    )


class Users:
    """Closed-loop users of one kind each, until the clock runs out."""

    def __init__(self, port: int, creds: Credentials, *, seconds: float, think: float) -> None:
        self.port = port
        self.creds = creds
        self.until = 0.0
        self.seconds = seconds
        self.think = think
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)
        self.failures: list[str] = []

    def _request(self, kind: str, rng: random.Random) -> tuple[str, str, bytes | None, dict]:
        if kind == "capture":
            email = f"visitor-{uuid.uuid4().hex[:16]}@example.net"
            fields = {"email": email, "first_name": "Vera", "company": "Load Test", "consent": "on"}
            body = urlencode(fields)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            return "POST", f"/f/{self.creds.form_key}/", body.encode(), headers
        if kind == "queue":
            cookie = f"sessionid={rng.choice(self.creds.rep_sessions)}"
            return "GET", "/queue/", None, {"Cookie": cookie, "HX-Request": "true"}
        if kind == "dashboard":
            cookie = f"sessionid={rng.choice(self.creds.manager_sessions)}"
            return "GET", "/dashboard/", None, {"Cookie": cookie}
        items = [
            {
                "email": f"api-{uuid.uuid4().hex[:16]}@example.org",
                "first_name": "Ian",
                "company": f"Company {rng.randrange(500)}",
                "company_size": rng.randrange(5, 5000),
                "country": rng.choice(("DE", "FR", "US")),
            }
            for _ in range(BATCH)
        ]
        headers = {
            "Authorization": f"Bearer {self.creds.token}",
            "Content-Type": "application/json",
        }
        return "POST", "/api/v1/leads/batch/", json.dumps({"items": items}).encode(), headers

    def user(self, kind: str, seed: int) -> None:
        """One user. Each request opens its own connection: after a pause of a second a
        kept-alive one may be closed by gunicorn (2 s keep-alive) just as it is reused."""
        rng = random.Random(seed)
        time.sleep(rng.uniform(0, self.think))  # users do not all start in the same instant
        while time.monotonic() < self.until:
            method, path, body, headers = self._request(kind, rng)
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            began = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.failures.append(f"{kind}: {exc!r}")
                    self.statuses[kind][0] += 1
                continue
            finally:
                conn.close()
            took = time.perf_counter() - began
            with self.lock:
                self.latencies[kind].append(took)
                self.statuses[kind][response.status] += 1
                if response.status >= 400:
                    self.failures.append(f"{kind}: {response.status} {payload[:200]!r}")
            time.sleep(rng.uniform(0.5 * self.think, 1.5 * self.think))

    def run(self, count: int) -> None:
        total = sum(weight for _kind, weight in MIX)
        kinds = [kind for kind, weight in MIX for _ in range(weight)]
        plan = [kinds[n % total] for n in range(count)]
        threads = [
            threading.Thread(target=self.user, args=(kind, n), daemon=True)
            for n, kind in enumerate(plan)
        ]
        self.until = time.monotonic() + self.seconds
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause, seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--leads", type=int, default=5000, help="demo leads to start with")
    args = parser.parse_args()

    production = support.production_env()
    # The sessions made here must be signed with the key the web processes use.
    os.environ["SECRET_KEY"] = production["SECRET_KEY"]
    with support.bench_database(DB_NAME) as database_url:
        support.django_setup(database_url)
        creds = prepare(args.leads)
        env = {
            **production,
            "DATABASE_URL": database_url,
            "REDIS_URL": support.redis_url(),
            "CELERY_QUEUE": QUEUE,
            "LEADFLOW_CAPTURE_RATE_PER_IP": "0",
            "LEADFLOW_CAPTURE_RATE_PER_FORM": "0",
        }
        support.collectstatic(env)
        try:
            with support.start_gunicorn(env, workers=args.workers, threads=args.threads) as web:
                users = Users(web.port, creds, seconds=args.seconds, think=args.think)
                users.run(args.users)
                log = web.log_tail()
        finally:
            import redis

            redis.Redis.from_url(support.redis_url()).delete(QUEUE)

    requests = sum(sum(counts.values()) for counts in users.statuses.values())
    errors_5xx = sum(
        n for counts in users.statuses.values() for status, n in counts.items() if status >= 500
    )
    unanswered = sum(counts[0] for counts in users.statuses.values())
    p95 = {
        kind: round(support.percentile(values, 95) * 1000, 1)
        for kind, values in sorted(users.latencies.items())
    }
    for kind, _weight in MIX:
        values = users.latencies[kind]
        print(
            f"{kind:<10} {len(values):>6} requests  "
            f"p50 {support.percentile(values, 50) * 1000:7.1f} ms  "
            f"p95 {support.percentile(values, 95) * 1000:7.1f} ms  "
            f"max {max(values, default=0) * 1000:7.1f} ms  "
            f"statuses {dict(users.statuses[kind])}"
        )
    if users.failures:
        print("\n".join(users.failures[:10]), file=sys.stderr)
        print(log, file=sys.stderr)
    print(json.dumps({"requests": requests, "errors_5xx": errors_5xx, "p95_ms": p95}))
    if errors_5xx or unanswered:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
