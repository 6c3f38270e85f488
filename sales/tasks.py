import time

from celery import shared_task
from django.db import OperationalError

from sales import services

# Less than beat's interval, so two runs seldom overlap (SKIP LOCKED makes that harmless).
DRAIN_SECONDS = 50


@shared_task(
    name="sales.send_task_reminders",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def send_task_reminders() -> int:
    """Beat, every minute: notify the owners of tasks whose reminder time has come, batch
    after batch (each its own transaction) until none is due or the minute is nearly up;
    a bigger backlog drains over the following runs."""
    began = time.monotonic()
    sent = 0
    while time.monotonic() - began < DRAIN_SECONDS:
        batch = services.task_reminders_send()
        sent += batch
        if batch < services.REMINDER_BATCH:
            break
    return sent
