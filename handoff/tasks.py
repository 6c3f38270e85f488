from celery import shared_task

from handoff import sla


@shared_task(name="handoff.sla_sweep")
def sla_sweep() -> None:
    """Beat, every minute: warn and escalate the SLA deadlines that are due."""
    sla.sla_sweep()


@shared_task(name="handoff.qualify_leads", soft_time_limit=600, time_limit=660)
def qualify_leads(lead_ids: list[int]) -> int:
    """Qualify MQLs made by a re-score, one transaction each; an MQL already handed off
    (or no longer an MQL) is skipped, so a re-delivery is harmless."""
    from handoff.services import handoff_qualify

    return sum(1 for lead_id in lead_ids if handoff_qualify(lead_id=lead_id) is not None)


@shared_task(name="handoff.kpi_rollups_refresh", soft_time_limit=240, time_limit=270)
def kpi_rollups_refresh() -> bool:
    """Beat, every two minutes: rebuild the dashboard's rollups (a run that finds another
    one running does nothing), then compute the default views for the cache."""
    from handoff.dashboard_views import dashboard_cache_warm
    from handoff.rollups import rollups_refresh, rollups_vacuum

    refreshed = rollups_refresh()
    if refreshed:
        rollups_vacuum()
        dashboard_cache_warm()
    return refreshed


@shared_task(name="handoff.weekly_reviews_send")
def weekly_reviews_send() -> int:
    """Beat, hourly: last week's alignment review to the managers of every team whose
    Monday morning it is (once per team and week)."""
    from handoff.review import weekly_reviews_send

    return weekly_reviews_send()
