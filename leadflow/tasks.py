from datetime import timedelta

from celery import shared_task
from django.core.management import call_command

from leadflow import notifications


@shared_task(name="leadflow.purge_expired_sessions")
def purge_expired_sessions() -> None:
    call_command("clearsessions")


@shared_task(name="leadflow.notification_email")
def notification_email(notification_id: int) -> None:
    # Idempotent: the service sends only while the row is pending, under a row lock.
    notifications.notification_email_deliver(notification_id=notification_id)


@shared_task(name="leadflow.sweep_notification_emails")
def sweep_notification_emails() -> None:
    """Re-enqueue emails whose task never ran (Redis down) or failed and should retry."""
    for notification_id in notifications.notifications_email_due(older_than=timedelta(minutes=1)):
        notification_email.delay(notification_id)


# The API kernel's tasks (webhooks, idempotency keys) live beside its code.
from leadflow.api import tasks as api_tasks  # noqa: E402, F401
