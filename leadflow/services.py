"""Kernel writes: the event log and the enqueue-after-commit helpers."""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from typing import Any

from celery import Task
from django.db import transaction
from django.utils.translation import gettext as _

from leadflow import breaker
from leadflow.errors import ApplicationError, NotAllowedError
from leadflow.models import AuditEntry, Event, Role, Team, User

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


def audit_record(
    *,
    actor: User | None,
    action: str,
    subject_type: str = "",
    subject_id: int | None = None,
    detail: dict[str, Any] | None = None,
    ip: str = "",
) -> AuditEntry:
    """One security-relevant action, for good: the table refuses UPDATE and DELETE."""
    return AuditEntry.objects.create(
        actor=actor,
        action=action[:40],
        subject_type=subject_type[:40],
        subject_id=subject_id,
        detail=detail or {},
        ip=ip or None,
    )


# What decides what a person may see and do.
ACCESS_FIELDS = ("role", "team_id", "is_active", "is_staff", "is_superuser")


def user_access_snapshot(user: User) -> dict[str, Any]:
    return {name: getattr(user, name) for name in ACCESS_FIELDS}


def user_access_record(
    *, actor: User, user: User, before: dict[str, Any] | None, ip: str = ""
) -> AuditEntry | None:
    """Audit a new account, or a change of role, team or admin rights (``before`` is the
    snapshot taken before the change; None for a new account). Nothing if none changed."""
    after = user_access_snapshot(user)
    if before is None:
        return audit_record(
            actor=actor,
            action="user.create",
            subject_type="leadflow.user",
            subject_id=user.pk,
            detail={"username": user.username, **after},
            ip=ip,
        )
    changed = {
        name: {"from": before[name], "to": after[name]}
        for name in ACCESS_FIELDS
        if before[name] != after[name]
    }
    if not changed:
        return None
    return audit_record(
        actor=actor,
        action="user.access_change",
        subject_type="leadflow.user",
        subject_id=user.pk,
        detail={"username": user.username, **changed},
        ip=ip,
    )


def enqueue_now(task: Task, *args: Any) -> bool:
    """Send ``task`` now, unless Redis failed a moment ago; never raise. False when the
    message was not sent: the work's row is in the database and a sweeper will find it."""
    if breaker.redis_unavailable():
        logger.warning("not enqueued %s%r: redis is unavailable", task.name, args[:1])
        return False
    try:
        task.apply_async(args=args)
    except Exception as exc:  # the broker is down or stalled; the sweeper will catch up
        breaker.redis_failed(exc)
        logger.warning("could not enqueue %s%r; the sweeper will retry", task.name, args[:1])
        return False
    return True


def enqueue_on_commit(task: Task, *args: Any) -> None:
    """Send ``task`` after the transaction commits; never fail the caller if Redis is down.

    The database row that the task works on is already committed, and a beat sweeper
    re-enqueues work that never ran, so a lost message is delayed work, not lost work.
    """
    transaction.on_commit(lambda: enqueue_now(task, *args))


class _Batcher:
    """Calls a task with lists of items, sent by one thread of this process.

    A message to the broker costs far more CPU than the item in it (half a millisecond,
    the price of a whole capture's SQL): the thread waits ``linger`` seconds after an item
    for others to join it, so at a high rate one message carries many items, and an item
    is never delayed by more than ``linger`` plus one send.
    """

    def __init__(self, task: Task, *, max_items: int = 500, linger: float = 0.02) -> None:
        self.task = task
        self.max_items = max_items
        self.linger = linger
        self._pid = 0
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def add(self, item: Any) -> None:
        if self._pid != os.getpid():  # first use, or a forked child: its own thread
            with self._lock:
                if self._pid != os.getpid():
                    self._queue = queue.SimpleQueue()
                    threading.Thread(
                        target=self._run, name=f"batch {self.task.name}", daemon=True
                    ).start()
                    self._pid = os.getpid()
        self._queue.put(item)

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            deadline = time.monotonic() + self.linger
            while len(items) < self.max_items and (left := deadline - time.monotonic()) > 0:
                try:
                    items.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            self._send(items)

    def _drain(self, items: list[Any]) -> None:
        while len(items) < self.max_items:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _send(self, items: list[Any]) -> None:
        enqueue_now(self.task, items)

    def flush(self) -> None:
        """Send what is still queued (at exit; the thread dies with the process)."""
        if self._pid != os.getpid():
            return
        items: list[Any] = []
        self._drain(items)
        while items:
            self._send(items)
            items = []
            self._drain(items)


_batchers: dict[str, _Batcher] = {}


def enqueue_batched_on_commit(task: Task, item: Any) -> None:
    """After the commit, hand ``item`` to ``task``, which takes a list of items.

    For work done once per request at a high rate (scoring each captured lead): the
    message costs the request nothing, and the broker gets one message per batch. Items
    still queued when the process dies are lost like a message to a dead broker: the work
    they stand for must be found again by a beat sweeper.
    """
    batcher = _batchers.get(task.name)
    if batcher is None:
        batcher = _batchers.setdefault(task.name, _Batcher(task))
    transaction.on_commit(lambda: batcher.add(item))


@atexit.register
def _flush_batches() -> None:
    for batcher in list(_batchers.values()):
        batcher.flush()


@transaction.atomic
def team_set_deal_visibility(*, team_id: int, visibility: str, actor: User) -> Team:
    """Private (reps see their own deals) or shared (the team's); the team's manager or an
    admin decides. Audited: it changes who sees which deals."""
    if not (actor.is_admin_role or (actor.role == Role.MANAGER and actor.team_id == team_id)):
        raise NotAllowedError(_("Only the team's manager or an admin can change this."))
    if visibility not in Team.Visibility.values:
        raise ApplicationError(_("Choose private or shared."), field="visibility")
    team = Team.objects.select_for_update().get(pk=team_id)
    old = team.visibility
    team.visibility = visibility
    team.save(update_fields=["visibility"])
    AuditEntry.objects.create(
        actor=actor,
        action="team.visibility",
        subject_type="leadflow.team",
        subject_id=team.pk,
        detail={"from": old, "to": visibility},
    )
    return team
