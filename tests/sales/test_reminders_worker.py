"""Task reminders through a real Celery worker, as beat would send them.

In a file of its own: a transactional test empties the database when it ends, so it must
run after the tests that read the migrations' data (pytest-django orders files of
transactional tests last); serialized_rollback puts that data back for the next one.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from leadflow.models import Notification
from sales import services, tasks
from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_beat_task_sends_reminders_through_a_real_worker(cast, celery_worker):
    services.task_create(
        actor=cast.rep,
        owner=cast.rep,
        title="Quote",
        due_at=timezone.now() - datetime.timedelta(hours=1),
    )
    tasks.send_task_reminders.delay()
    note = wait_for(
        lambda: Notification.objects.filter(user=cast.rep, kind="task.reminder").first(),
        timeout=90,
    )
    assert "Quote" in note.subject
