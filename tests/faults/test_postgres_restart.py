"""Postgres restarted while leads arrive through the public form.

The web (production settings, persistent connections) answers 503 with Retry-After at
once while the database is away, serves again within 10 s of its return, and leaves no
partial capture behind: a lead is there with its touchpoint and its event, or not at all.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import psycopg
import pytest
from django.conf import settings

from bench._support import start_gunicorn
from tests.conftest import database_url
from tests.factories import FormFactory
from tests.faults.conftest import app_env, record

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DOWN_SECONDS = 10
RECOVER_WITHIN = 10
QUICK = 1.0  # seconds: a 503 must not wait on the missing database


@dataclass
class Answer:
    email: str
    sent_at: float
    seconds: float
    status: int
    retry_after: str | None


def _post(port: int, key: str, email: str) -> tuple[int, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            f"/f/{key}/",
            body=urlencode({"email": email, "first_name": "Pat", "company": "Acme"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After")
    finally:
        conn.close()


def test_a_postgres_restart_gives_quick_503s_then_recovery_and_no_partial_rows(
    own_postgres, static_files
):
    form = FormFactory()
    own_postgres.load_from(database_url())
    env = app_env(redis_url=settings.REDIS_URL, db_url=own_postgres.url)
    answers: list[Answer] = []
    lock = threading.Lock()
    stop = threading.Event()

    def send(port: int) -> None:
        while not stop.is_set():
            email = f"pg-{uuid.uuid4().hex[:12]}@example.com"
            began = time.monotonic()
            try:
                status, retry_after = _post(port, form.key, email)
            except OSError:
                status, retry_after = 0, None
            with lock:
                answers.append(Answer(email, began, time.monotonic() - began, status, retry_after))
            stop.wait(0.05)

    with start_gunicorn(env, workers=2, threads=2) as web:
        threads = [threading.Thread(target=send, args=(web.port,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(4)
        own_postgres.stop()
        down = time.monotonic()
        time.sleep(DOWN_SECONDS)
        own_postgres.start()
        back = time.monotonic()
        time.sleep(RECOVER_WITHIN + 5)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        log = web.log_tail()

    odd = [a for a in answers if a.status not in (200, 503)]
    assert not odd, f"{len(odd)} answers neither 200 nor 503: {odd[:3]}\n{log}"
    unavailable = [a for a in answers if a.status == 503]
    assert len([a for a in unavailable if down <= a.sent_at < back]) > 10
    assert all(a.retry_after for a in unavailable)
    slow = [a for a in unavailable if a.seconds > QUICK]
    assert not slow, f"{len(slow)} 503s slower than {QUICK} s: {slow[:3]}"
    # Served again within 10 s of Postgres' return, and from then on without a miss.
    late = [a for a in answers if a.sent_at >= back + RECOVER_WITHIN]
    assert late
    assert all(a.status == 200 for a in late), [a for a in late if a.status != 200][:3]
    first_ok = min(a.sent_at + a.seconds for a in answers if a.status == 200 and a.sent_at > back)
    recovered_in = first_ok - back
    assert recovered_in < RECOVER_WITHIN

    # Nothing partial: each lead is whole (touchpoint, event), each acknowledged one is there.
    with psycopg.connect(own_postgres.url) as conn:
        stored = {
            email: (touches, events)
            for email, touches, events in conn.execute(
                "SELECT l.email, "
                "(SELECT count(*) FROM marketing_touchpoint t WHERE t.lead_id = l.id), "
                "(SELECT count(*) FROM leadflow_event e "
                " WHERE e.subject_type = 'marketing.lead' AND e.subject_id = l.id "
                " AND e.kind = 'created') "
                "FROM marketing_lead l"
            ).fetchall()
        }
    assert all(counts == (1, 1) for counts in stored.values()), stored
    acknowledged = {a.email for a in answers if a.status == 200}
    assert acknowledged <= set(stored)
    record(
        "postgres_restart",
        submissions=len(answers),
        answered_503=len(unavailable),
        slowest_503_s=round(max(a.seconds for a in unavailable), 3),
        served_again_after_s=round(recovered_in, 2),
    )
