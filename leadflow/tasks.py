from celery import shared_task
from django.core.management import call_command


@shared_task(name="leadflow.purge_expired_sessions")
def purge_expired_sessions() -> None:
    call_command("clearsessions")
