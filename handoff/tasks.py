from celery import shared_task

from handoff import sla


@shared_task(name="handoff.sla_sweep")
def sla_sweep() -> None:
    """Beat, every minute: warn and escalate the SLA deadlines that are due."""
    sla.sla_sweep()
