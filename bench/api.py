"""API lead upsert throughput: 100,000 leads in batches of 1,000 through the running API.

Creates its own database, starts gunicorn (2 workers, ``DEBUG=false``) against it, makes
an integration token, warms every worker up (its first lead loads the phone and country
tables), and sends ``POST /api/v1/leads/batch/`` from a few concurrent
clients: half of each run's leads are new, the other half repeat earlier ones (updates).
Run from the project root:

    .venv/bin/python bench/api.py [--leads 100000] [--batch 1000] [--concurrency 4]

The last line printed is one JSON object: ``{"leads", "seconds", "leads_per_s"}``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support as support

DB_NAME = "leadflow_bench_api"
COUNTRIES = ("DE", "FR", "US", "GB", "NL")


def batches(total: int, size: int) -> list[bytes]:
    """Request bodies: every other batch repeats the previous one's people with changes."""
    bodies = []
    for start in range(0, total, size):
        base = (start // (2 * size)) * size
        update = (start // size) % 2 == 1
        items = [
            {
                "email": f"person{base + n}@company{(base + n) % 997}.example.com",
                "external_id": f"crm-{base + n}",
                "first_name": "Ana",
                "last_name": f"Person {base + n}",
                "company": f"Company {(base + n) % 997}",
                "job_title": "Head of Marketing" if update else "Marketing Manager",
                "company_size": 50 + (base + n) % 900,
                "country": COUNTRIES[(base + n) % len(COUNTRIES)],
            }
            for n in range(min(size, total - start))
        ]
        bodies.append(json.dumps({"items": items}).encode())
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with support.bench_database(DB_NAME) as database_url:
        support.django_setup(database_url)
        from leadflow.api.tokens import token_create
        from leadflow.models import Role, User

        admin = User.objects.create(username="bench-admin", role=Role.ADMIN, is_superuser=True)
        token = token_create(
            created_by=admin,
            user=admin,
            name="bench",
            scopes=["leads:write"],
            rate_per_minute=1_000_000,
        ).raw
        env = {
            **support.production_env(),
            "DATABASE_URL": database_url,
            "REDIS_URL": support.redis_url(),
            "CELERY_QUEUE": "bench-api",
        }
        support.collectstatic(env)
        bodies = batches(args.leads, args.batch)
        with support.start_gunicorn(env, workers=args.workers) as server:
            pending = list(enumerate(bodies))
            lock = threading.Lock()
            failures: list[str] = []
            done = [0]

            def client() -> None:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                while True:
                    with lock:
                        if not pending:
                            break
                        _index, body = pending.pop(0)
                    conn.request("POST", "/api/v1/leads/batch/", body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    if response.status != 200:
                        failures.append(f"{response.status}: {payload[:300]!r}")
                        continue
                    result = json.loads(payload)
                    with lock:
                        done[0] += result["created"] + result["updated"]
                        if result["errors"]:
                            failures.append(f"{result['errors']} item errors")
                conn.close()

            # Each gunicorn worker loads the phone and country tables on its first lead
            # (about 2 s, once per process); warm them up before the clock starts.
            warmup = [
                json.dumps(
                    {"items": [{"email": f"warm{w}-{n}@warmup.example.org"} for n in range(5)]}
                ).encode()
                for w in range(4 * args.workers)
            ]
            saved, pending[:] = list(pending), list(enumerate(warmup))
            threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            pending[:] = saved
            done[0] = 0

            started = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
            if failures:
                print("\n".join(failures[:10]), file=sys.stderr)
                print(server.log_tail(), file=sys.stderr)
                raise SystemExit(1)
    print(
        json.dumps(
            {
                "leads": done[0],
                "seconds": round(seconds, 2),
                "leads_per_s": round(done[0] / seconds),
            }
        )
    )


if __name__ == "__main__":
    main()
