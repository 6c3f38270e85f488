"""Kernel writes: the event log and the enqueue-after-commit helper."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction

from leadflow.models import Event, User

logger = logging.getLogger(__name__)


def event_record(
    *,
    subject_type: str,
    subject_id: int,
    kind: str,
    actor: User | None = None,
    rule: str = "",
    reason: str = "",
    old_value: object = "",
    new_value: object = "",
) -> Event:
    return Event.objects.create(
        subject_type=subject_type,
        subject_id=subject_id,
        kind=kind,
        actor=actor,
        rule=rule[:200],
        reason=reason[:500],
        old_value=str(old_value if old_value is not None else "")[:100],
        new_value=str(new_value if new_value is not None else "")[:100],
    )


def enqueue_on_commit(task: Task, *args: Any) -> None:
    """Send ``task`` after the transaction commits; never fail the caller if Redis is down.

    The database row that the task works on is already committed, and a beat sweeper
    re-enqueues work that never ran, so a lost message is delayed work, not lost work.
    """

    def send() -> None:
        try:
            task.apply_async(args=args)
        except Exception:  # the broker is down or stalled; the sweeper will catch up
            logger.warning("could not enqueue %s%r; the sweeper will retry", task.name, args)

    transaction.on_commit(send)
