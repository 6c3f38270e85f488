"""Handoff's reactions to marketing's and sales' domain events (see leadflow.bus)."""

from __future__ import annotations

from typing import Any

from leadflow import bus


def _on_lead_mql(*, lead_id: int, **_: Any) -> None:
    from handoff.services import handoff_qualify

    handoff_qualify(lead_id=lead_id)


def _on_deal_won(*, deal_id: int, lead_id: int | None, actor: Any = None, **_: Any) -> None:
    from handoff.services import lead_on_deal_won

    lead_on_deal_won(deal_id=deal_id, lead_id=lead_id, actor=actor)


def _on_touch_logged(*, lead_id: int, **_: Any) -> None:
    from handoff.services import handoff_first_touch

    handoff_first_touch(lead_id=lead_id)


def register() -> None:
    bus.subscribe("lead.mql", _on_lead_mql)
    bus.subscribe("deal.won", _on_deal_won)
    bus.subscribe("touch.logged", _on_touch_logged)
