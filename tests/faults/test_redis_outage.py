"""Redis is gone for 60 s while leads arrive through the public form and the API.

Every lead acknowledged to its sender is stored exactly once, no request waits longer than
the broker's timeout plus half a second, and once Redis is back the beat sweeper gets
every lead scored (and the qualifying ones handed off and routed) within two minutes.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db.models import Count

from bench._support import start_gunicorn
from handoff.models import Handoff
from leadflow.api.tokens import token_create
from marketing.models import Lead, Touchpoint
from tests.factories import FormFactory
from tests.faults.conftest import app_env, record, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

OUTAGE_SECONDS = 60
# A request may wait for one failed connection to the broker, and no longer.
LATENCY_BOUND = settings.CELERY_BROKER_CONNECTION_TIMEOUT + 0.5
RECOVERY_SECONDS = 120


@dataclass
class Sent:
    kind: str  # "form" or "api"
    email: str
    status: int
    seconds: float
    during_outage: bool


class Traffic:
    """Threads sending leads, one at a time each, until stopped."""

    def __init__(self, port: int, form_key: str, token: str) -> None:
        self.port = port
        self.form_key = form_key
        self.token = token
        self.sent: list[Sent] = []
        self.outage = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(kind,), daemon=True)
            for kind in ("form", "form", "api")
        ]

    def _request(self, kind: str, email: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            if kind == "form":
                body = urlencode({"email": email, "first_name": "Ada", "company": "Acme"})
                conn.request(
                    "POST",
                    f"/f/{self.form_key}/",
                    body=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
            else:
                body = json.dumps({"email": email, "first_name": "Bea", "company": "Acme"})
                conn.request(
                    "POST",
                    "/api/v1/leads/",
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {self.token}",
                    },
                )
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def _run(self, kind: str) -> None:
        while not self._stop.is_set():
            email = f"{kind}-{uuid.uuid4().hex[:12]}@example.com"
            outage = self.outage
            began = time.perf_counter()
            try:
                status = self._request(kind, email)
            except OSError:
                status = 0
            seconds = time.perf_counter() - began
            with self._lock:
                self.sent.append(Sent(kind, email, status, seconds, outage or self.outage))
            self._stop.wait(0.4)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def test_leads_survive_a_redis_outage_and_are_scored_and_routed_after_it(
    cast, rules, own_redis, processes, static_files
):
    form = FormFactory(fast_track=True)
    token = token_create(
        created_by=cast.admin, user=cast.marketer, name="site", scopes=["leads:write"]
    ).raw
    env = app_env(redis_url=own_redis.url)
    group = processes(env)
    group.worker()
    group.beat()
    with start_gunicorn(env, workers=2, threads=4) as web:
        traffic = Traffic(web.port, form.key, token)
        traffic.start()
        time.sleep(8)
        traffic.outage = True
        own_redis.stop()
        time.sleep(OUTAGE_SECONDS)
        own_redis.start()
        back = time.monotonic()
        traffic.outage = False
        time.sleep(5)
        traffic.stop()
        log = web.log_tail()

    sent = traffic.sent
    during = [s for s in sent if s.during_outage]
    assert len(during) > 100, f"too little traffic during the outage: {len(during)}"
    assert {s.kind for s in during} == {"form", "api"}
    # Every request was answered and acknowledged, during the outage too.
    refused = [s for s in sent if s.status not in (200, 201)]
    assert not refused, f"{len(refused)} not acknowledged, e.g. {refused[:3]}\n{log}"
    slow = [s for s in sent if s.seconds > LATENCY_BOUND]
    assert not slow, f"{len(slow)} requests over {LATENCY_BOUND} s: {slow[:5]}"

    # Stored exactly once: one lead per acknowledged address, one touchpoint per form post.
    emails = [s.email for s in sent]
    assert Lead.objects.filter(email__in=emails).count() == len(sent)
    assert Lead.objects.count() == len(sent)
    form_emails = [s.email for s in sent if s.kind == "form"]
    touches = (
        Touchpoint.objects.filter(lead__email__in=form_emails, form__key=form.key)
        .values("lead_id")
        .annotate(n=Count("id"))
    )
    assert len(touches) == len(form_emails)
    assert {row["n"] for row in touches} == {1}

    # After Redis returns: everything scored, and the fast-track leads handed off and routed.
    def caught_up() -> bool:
        scored = not Lead.objects.filter(scored_at=None).exists()
        routed = Handoff.objects.filter(lead__email__in=form_emails).exclude(
            routing_reason=""
        ).count() == len(form_emails)
        return scored and routed

    try:
        wait_until(caught_up, timeout=RECOVERY_SECONDS - (time.monotonic() - back), interval=1)
    except AssertionError:
        unscored = Lead.objects.filter(scored_at=None).count()
        handoffs = Handoff.objects.exclude(routing_reason="").count()
        raise AssertionError(
            f"{RECOVERY_SECONDS} s after Redis returned: {unscored} of {len(sent)} leads "
            f"unscored, {handoffs} of {len(form_emails)} fast-track leads routed"
        ) from None
    assert Handoff.objects.count() == len(form_emails)  # one baton per lead, none twice
    took = time.monotonic() - back
    record(
        "redis_outage",
        leads=len(sent),
        during_outage=len(during),
        slowest_request_s=round(max(s.seconds for s in sent), 2),
        caught_up_after_s=round(took),
    )


FROZEN_SECONDS = 20


def test_a_hung_redis_delays_no_request_past_the_broker_timeout(
    cast, rules, own_redis, processes, static_files
):
    """Redis still accepts connections but answers nothing: every wait is a timeout."""
    form = FormFactory(fast_track=True)
    token = token_create(
        created_by=cast.admin, user=cast.marketer, name="site", scopes=["leads:write"]
    ).raw
    env = app_env(redis_url=own_redis.url)
    with start_gunicorn(env, workers=2, threads=4) as web:
        traffic = Traffic(web.port, form.key, token)
        traffic.start()
        time.sleep(3)
        traffic.outage = True
        own_redis.freeze()
        time.sleep(FROZEN_SECONDS)
        own_redis.thaw()
        traffic.outage = False
        time.sleep(3)
        traffic.stop()
        log = web.log_tail()

    sent = traffic.sent
    during = [s for s in sent if s.during_outage]
    assert {s.kind for s in during} == {"form", "api"}
    refused = [s for s in sent if s.status not in (200, 201)]
    assert not refused, f"{len(refused)} not acknowledged, e.g. {refused[:3]}\n{log}"
    slow = sorted((s for s in sent if s.seconds > LATENCY_BOUND), key=lambda s: -s.seconds)
    assert not slow, f"{len(slow)} requests over {LATENCY_BOUND} s: {slow[:5]}"
    assert Lead.objects.filter(email__in=[s.email for s in sent]).count() == len(sent)
    record(
        "redis_hung",
        leads=len(sent),
        during_outage=len(during),
        slowest_request_s=round(max(s.seconds for s in sent), 2),
    )
