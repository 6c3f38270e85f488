"""CSV import throughput: a million-row file through the real job, against a plain COPY.

Creates its own database, writes a Salesforce-style lead export (``--rows``, default
1,000,000; 10% of the rows repeat an earlier person's address, 1% are invalid), uploads it
with the import service and runs the job in a real Celery worker (its own queue,
``CELERY_QUEUE``) until it is done. Then it copies the same file, as it is, into an empty
table with one ``COPY … FROM STDIN (FORMAT csv)``: the floor any import of this file
stands on. The ratio is the import's rows per second over the COPY's.

Run from the project root:

    .venv/bin/python bench/import.py [--rows 1000000]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support as support

DB_NAME = "leadflow_bench_import"
QUEUE = "bench-import"

HEADERS = [
    "Lead ID",
    "First Name",
    "Last Name",
    "Title",
    "Company",
    "Email",
    "Phone",
    "No. of Employees",
    "Country",
    "Lead Source",
    "Lead Status",
    "City",
]
FIRST_NAMES = ["Anna", "Boris", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Jo"]
LAST_NAMES = ["Ivanova", "Smith", "Müller", "Novak", "Garcia", "Kowalski", "Tanaka", "Olsen"]
TITLES = ["VP Marketing", "Head of Sales", "CTO", "Engineer", "Office Manager", "Founder", ""]
SIZES = ["5", "40", "250", "1,200", "8000", "51-200", "10,001+", "", ""]
SOURCES = ["Web", "Trade Show", "Partner", "Purchased List", "Webinar", ""]
STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Not Converted"]
CITIES = ["Berlin", "London", "San Francisco", "Moscow", "Paris", "Amsterdam", ""]
# (country cell, phone spelling): international numbers mostly, national ones as typed
# in the country's own way (German and British numbers with the trunk 0).
PLACES = [
    ("US", "+1 {a}-{b}-{c}"),
    ("United States", "({a}) {b}-{c}"),
    ("DE", "+49 30 {b}{c}"),
    ("Germany", "030 {b}{c}"),
    ("GB", "+44 20 {b} {c}"),
    ("United Kingdom", "020 {b} {c}"),
    ("FR", "+33 1 {b2} {c}"),
    ("NL", "+31 20 {b} {c}"),
    ("RU", "+7 (495) {b}-{c}"),
    ("", "+1 ({a}) {b}-{c}"),
]
INVALID = [
    ("email", "not-an-address"),
    ("email", ""),
    ("phone", "ask reception"),
    ("size", "lots"),
    ("country", "Atlantis"),
]


@dataclass
class Expected:
    rows: int = 0
    unique: int = 0
    duplicates: int = 0
    invalid: int = 0


def generate(path: Path, rows: int, *, seed: int = 42) -> Expected:
    """Write the export; returns what a correct import of it must report."""
    rng = random.Random(seed)
    expected = Expected(rows=rows)
    emails: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for index in range(rows):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            country, pattern = rng.choice(PLACES)
            phone = ""
            if rng.random() < 0.6:
                phone = pattern.format(
                    a=rng.randint(201, 989),
                    b=f"{rng.randint(200, 999)}",
                    b2=f"{rng.randint(10, 99)} {rng.randint(10, 99)}",
                    c=f"{rng.randint(0, 9999):04d}",
                )
            email = f"{first.lower()}.{last.lower()}.{index}@company{index % 5000}.example.com"
            size = rng.choice(SIZES)
            roll = rng.random()
            if roll < 0.01:
                expected.invalid += 1
                what, bad = INVALID[index % len(INVALID)]
                if what == "email":
                    email = bad
                elif what == "phone":
                    phone = bad
                elif what == "size":
                    size = bad
                else:
                    country = bad
            elif roll < 0.11 and emails:
                expected.duplicates += 1
                # The same person again, as another system spelt the address.
                email = rng.choice(emails)
                email = f" {email.upper()}" if rng.random() < 0.5 else email
            else:
                expected.unique += 1
                emails.append(email)
            writer.writerow(
                [
                    f"00Q{index:012d}",
                    first,
                    last,
                    rng.choice(TITLES),
                    f"Company {index % 5000}",
                    email,
                    phone,
                    size,
                    country,
                    rng.choice(SOURCES),
                    rng.choice(STATUSES),
                    rng.choice(CITIES),
                ]
            )
    return expected


def plain_copy(database_url: str, path: Path, columns: int) -> float:
    """Seconds for COPY of the file, as it is, into an empty table of text columns."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(
            sql.SQL("CREATE TABLE bench_copy ({})").format(
                sql.SQL(", ").join(
                    sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(columns)
                )
            )
        )
        began = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY bench_copy FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        seconds = time.perf_counter() - began
        conn.execute("DROP TABLE bench_copy")
    return seconds


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    worker = subprocess.Popen(
        [
            str(support.BIN / "celery"),
            "-A",
            "leadflow",
            "worker",
            "-Q",
            QUEUE,
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=support.ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while b"ready." not in log_path.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return worker


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the job")
    args = parser.parse_args()

    redis_url = support.redis_url()
    broker = redis.Redis.from_url(redis_url)
    with (
        tempfile.TemporaryDirectory(prefix="bench-import-") as scratch,
        support.bench_database(DB_NAME) as database_url,
    ):
        media_root = Path(scratch) / "media"
        csv_path = Path(scratch) / "leads.csv"
        began = time.perf_counter()
        expected = generate(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows ({size_mb:.0f} MB) in "
            f"{time.perf_counter() - began:.1f} s: {expected.unique:,} people, "
            f"{expected.duplicates:,} repeats, {expected.invalid:,} invalid"
        )

        env = {
            **support.production_env(),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_QUEUE": QUEUE,
            "MEDIA_ROOT": str(media_root),
            "DJANGO_SETTINGS_MODULE": "leadflow.settings",
        }
        os.environ.update({k: v for k, v in env.items() if k != "DATABASE_URL"})
        support.django_setup(database_url)
        from django.core.files import File
        from django.utils import timezone

        from leadflow.models import Role, User
        from marketing import imports
        from marketing.models import Campaign, ImportJob, Lead, Touchpoint

        marketer = User.objects.create_user(username="bench-marketer", role=Role.MARKETER)
        campaign = Campaign.objects.create(
            name="Bench trade show", channel="event", owner=marketer, utm_source="expo"
        )
        with csv_path.open("rb") as handle:
            job = imports.import_create(
                created_by=marketer, upload=File(handle, name="salesforce-leads.csv")
            )
        print(f"detected mapping: {json.dumps(job.mapping, ensure_ascii=False)}")

        copy_seconds = plain_copy(database_url, csv_path, len(HEADERS))
        print(f"plain COPY: {args.rows:,} rows in {copy_seconds:.2f} s")

        broker.delete(QUEUE)
        worker = start_worker(env, Path(scratch) / "worker.log")
        try:
            machine_before = support.machine_cpu()
            with (
                support.postgres_backends(database_url) as backend_pids,
                support.CpuMeter(backend_pids) as postgres,
                support.CpuMeter(lambda: [worker.pid]) as worker_cpu,
            ):
                began = time.perf_counter()
                queued_at = timezone.now()
                imports.import_start(
                    job_id=job.pk, mapping=job.mapping, mode=job.mode, campaign=campaign
                )
                first_batch = last_batch = None
                while True:
                    job.refresh_from_db()
                    now = time.perf_counter() - began
                    if first_batch is None and job.created_count:
                        first_batch = now
                    if (
                        last_batch is None
                        and job.total_rows
                        and (job.processed_rows == job.total_rows)
                    ):
                        last_batch = now
                    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
                        break
                    if now > args.timeout:
                        sys.exit(f"the import did not finish within {args.timeout:.0f} s")
                    time.sleep(0.05)
                seconds = time.perf_counter() - began
            busy = support.machine_cpu() - machine_before
            log_tail = (Path(scratch) / "worker.log").read_text()[-3000:]
        finally:
            stop_worker(worker)
            broker.delete(QUEUE, f"_kombu.binding.{QUEUE}", f"_kombu.binding_permanent.{QUEUE}")

        if job.status != ImportJob.Status.DONE:
            print(f"worker log (tail):\n{log_tail}", file=sys.stderr)
            sys.exit(f"the import failed: {job.error_message}")
        leads, touches = Lead.objects.count(), Touchpoint.objects.count()
        assert job.started_at
        assert job.finished_at
        print(
            f"job: picked up {(job.started_at - queued_at).total_seconds():.2f} s after it was "
            f"queued, ran {(job.finished_at - job.started_at).total_seconds():.2f} s"
        )
        print(
            f"  first batch written after {first_batch or 0:.1f} s, the last after "
            f"{last_batch or 0:.1f} s; the report and the commit took the rest"
        )
        print(
            f"import: {seconds:.2f} s; created {job.created_count:,}, rejected "
            f"{job.error_count:,}; database: {leads:,} leads, {touches:,} touchpoints"
        )
        print(
            f"  CPU: worker {worker_cpu.seconds:.1f} s, postgres {postgres.seconds:.1f} s; "
            f"machine busy {busy / seconds:.2f} of {os.cpu_count()} CPUs, of which others "
            f"{max(0.0, busy - worker_cpu.seconds - postgres.seconds) / seconds:.2f}"
        )

    problems = []
    if job.created_count != expected.unique or leads != expected.unique:
        problems.append(f"expected {expected.unique:,} leads, got {job.created_count:,}/{leads:,}")
    if job.error_count != expected.duplicates + expected.invalid:
        problems.append(
            f"expected {expected.duplicates + expected.invalid:,} rejected rows, "
            f"got {job.error_count:,}"
        )
    for problem in problems:
        print(f"WARNING: {problem}", file=sys.stderr)

    rows_per_s = args.rows / seconds
    copy_rows_per_s = args.rows / copy_seconds
    print(
        json.dumps(
            {
                "rows": args.rows,
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows_per_s),
                "copy_rows_per_s": round(copy_rows_per_s),
                "ratio": round(rows_per_s / copy_rows_per_s, 3),
            }
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
