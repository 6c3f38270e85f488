from celery import shared_task
from django.db import OperationalError

from sales import services


@shared_task(
    name="sales.send_task_reminders",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def send_task_reminders() -> int:
    """Beat, every minute: notify the owners of tasks whose reminder time has come.
    Each run handles a batch; a large backlog drains over the following runs."""
    return services.task_reminders_send()
