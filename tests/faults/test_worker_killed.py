"""A Celery worker killed with SIGKILL in the middle of scoring a lead.

The task is held mid-way by a row lock that the test keeps on the lead, so the kill lands
while the worker's transaction is open. Killing the pool child: the parent gives the
message back (acks late, reject on worker lost) and a new child runs it. Killing the whole
worker: the message stays unacknowledged in Redis, and the sweeper re-enqueues the lead
from the database. Either way the work is done once: one score, one handoff, one
notification per person, one webhook to the receiver.
"""

from __future__ import annotations

import os
import signal
import time

import psycopg
import pytest
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from bench._support import process_children
from handoff.models import Handoff
from leadflow.api import webhooks
from leadflow.models import Event, Notification
from marketing.models import Lead, ScoreEntry
from marketing.tasks import sweep_unscored_leads
from tests.api.test_webhooks import Receiver
from tests.conftest import database_url
from tests.factories import FormFactory
from tests.faults.conftest import app_env, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def _capture(form) -> Lead:
    response = Client().post(
        reverse("marketing:public_form", args=[form.key]),
        {"email": "kill@example.com", "first_name": "Kim", "company": "Acme"},
    )
    assert response.status_code == 200
    return Lead.objects.get(email="kill@example.com")


def _waiting_on_a_lock(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    ).fetchone()
    return int(row[0]) if row else 0


def _done_once(lead: Lead, receiver: Receiver) -> None:
    """The side effects of scoring this lead, each exactly once."""
    wait_until(
        lambda: (
            Lead.objects.filter(pk=lead.pk, scored_at__isnull=False).exists()
            and Handoff.objects.filter(lead=lead).exists()
        ),
        timeout=60,
        what="the lead scored and handed off",
    )
    wait_until(lambda: len(receiver.requests) >= 1, timeout=60, what="the webhook")
    wait_until(
        lambda: not Notification.objects.filter(email_state="pending").exists(),
        timeout=60,
        what="the notification emails",
    )
    time.sleep(3)  # a second delivery, if there were one, would arrive meanwhile

    lead.refresh_from_db()
    assert lead.stage == "sql"
    assert Handoff.objects.filter(lead=lead).count() == 1
    became_mql = Event.objects.filter(
        subject_type="marketing.lead", subject_id=lead.pk, new_value="mql"
    )
    assert became_mql.count() == 1
    # The ledger holds each rule's points for each activity once.
    entries = ScoreEntry.objects.filter(lead=lead).values("rule_id", "touchpoint_id", "axis")
    assert entries.exists()
    assert entries.annotate(n=Count("id")).filter(n__gt=1).count() == 0
    per_person = Notification.objects.values("user_id", "kind").annotate(n=Count("id"))
    assert per_person
    assert all(row["n"] == 1 for row in per_person)
    mql_hooks = [body for _headers, body in receiver.requests if b'"lead.mql"' in body]
    assert len(mql_hooks) == 1


@pytest.mark.parametrize("victim", ["pool child", "whole worker"])
def test_a_worker_killed_mid_task_redoes_the_work_once(
    victim, cast, rules, receiver, processes, settings
):
    webhooks.endpoint_create(created_by=cast.admin, url=receiver.url, event_types=["lead.mql"])
    lead = _capture(FormFactory(fast_track=True))  # its scoring is queued at commit
    group = processes(app_env(redis_url=settings.REDIS_URL))

    with (
        psycopg.connect(database_url()) as blocker,
        psycopg.connect(database_url(), autocommit=True) as watcher,
    ):
        blocker.execute("SELECT id FROM marketing_lead WHERE id = %s FOR UPDATE", [lead.pk])
        worker = group.worker(pool="prefork")
        wait_until(lambda: _waiting_on_a_lock(watcher) >= 1, timeout=60, what="the task")

        if victim == "pool child":
            children = process_children(worker.pid)
            assert len(children) == 1
            os.kill(children[0], signal.SIGKILL)
            # The parent starts a new child, which takes the message again.
            wait_until(
                lambda: process_children(worker.pid) not in ([], children),
                timeout=30,
                what="a new pool child",
            )
        else:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            group.worker(pool="prefork")
            # The message is stuck, unacknowledged, with the dead worker: the database
            # still says the lead is unscored, and the sweeper sends it again.
            settings.LEADFLOW_SWEEP_AFTER_SECONDS = 0
            assert sweep_unscored_leads() == 1
        assert not Lead.objects.filter(pk=lead.pk, scored_at__isnull=False).exists()
        blocker.rollback()  # the dead task's transaction, blocked until now, goes nowhere

    _done_once(lead, receiver)
