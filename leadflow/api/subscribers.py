"""Domain events (see leadflow.bus) that become webhook deliveries.

Each handler runs in the publisher's transaction: the deliveries commit with the fact, or
not at all. The payload is the record as the API shows it, so a receiver that also reads
the API sees one shape. Handoff events (``handoff.*``, ``sla.breached``) are subscribed
here too, under the names the handoff app publishes them by.
"""

from __future__ import annotations

from typing import Any

from leadflow import bus
from leadflow.api import webhooks


def _leads(event_type: str, lead_ids: list[int]) -> None:
    if not webhooks.subscribed(event_type):
        return
    from marketing.apis import LeadOutput
    from marketing.models import Lead

    leads = Lead.objects.filter(pk__in=lead_ids).order_by("pk")
    webhooks.webhook_emit_many(
        event_type, [{"lead": row} for row in LeadOutput(leads, many=True).data]
    )


def _on_leads_created(*, lead_ids: list[int], **_: Any) -> None:
    _leads("lead.created", lead_ids)


def _on_lead_mql(*, lead_id: int, **_: Any) -> None:
    _leads("lead.mql", [lead_id])


def _on_leads_mql(*, lead_ids: list[int], **_: Any) -> None:
    _leads("lead.mql", lead_ids)


def _deal(event_type: str, deal_id: int, **extra: Any) -> None:
    if not webhooks.subscribed(event_type):
        return
    from sales.apis import DealOutput
    from sales.models import Deal

    deal = Deal.objects.select_related("stage").get(pk=deal_id)
    webhooks.webhook_emit(event_type, {"deal": DealOutput(deal).data, **extra})


def _on_deal_stage_changed(*, deal_id: int, old_stage_id: int, new_stage_id: int, **_: Any) -> None:
    _deal("deal.stage_changed", deal_id, old_stage=old_stage_id, new_stage=new_stage_id)


def _on_deal_won(*, deal_id: int, **_: Any) -> None:
    _deal("deal.won", deal_id)


def _on_deal_lost(*, deal_id: int, **_: Any) -> None:
    _deal("deal.lost", deal_id)


def _handoff(event_type: str) -> Any:
    def handler(*, handoff_id: int, **_: Any) -> None:
        if not webhooks.subscribed(event_type):
            return
        from handoff.apis import HandoffOutput
        from handoff.models import Handoff

        handoff = Handoff.objects.select_related("lead").get(pk=handoff_id)
        webhooks.webhook_emit(event_type, {"handoff": HandoffOutput(handoff).data})

    handler.__name__ = f"_on_{event_type.replace('.', '_')}"
    return handler


_HANDOFF_EVENTS = ("handoff.created", "handoff.accepted", "handoff.rejected", "sla.breached")
_HANDOFF_HANDLERS = {name: _handoff(name) for name in _HANDOFF_EVENTS}


def register() -> None:
    bus.subscribe("leads.created", _on_leads_created)
    bus.subscribe("lead.mql", _on_lead_mql)
    bus.subscribe("leads.mql", _on_leads_mql)
    bus.subscribe("deal.stage_changed", _on_deal_stage_changed)
    bus.subscribe("deal.won", _on_deal_won)
    bus.subscribe("deal.lost", _on_deal_lost)
    for name, handler in _HANDOFF_HANDLERS.items():
        bus.subscribe(name, handler)
