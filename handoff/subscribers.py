"""Handoff's reactions to marketing's and sales' domain events (see leadflow.bus)."""

from __future__ import annotations

from typing import Any

from leadflow import bus

QUALIFY_CHUNK = 200


def _on_lead_mql(*, lead_id: int, **_: Any) -> None:
    from handoff.services import handoff_qualify

    handoff_qualify(lead_id=lead_id)


def _on_leads_mql(*, lead_ids: list[int], **_: Any) -> None:
    """Many MQLs at once (a re-score): qualified by the worker after commit, in chunks."""
    from handoff.tasks import qualify_leads
    from leadflow.services import enqueue_on_commit

    for start in range(0, len(lead_ids), QUALIFY_CHUNK):
        enqueue_on_commit(qualify_leads, lead_ids[start : start + QUALIFY_CHUNK])


def _on_scoring_preview(*, preview: Any, result: dict[str, Any], **_: Any) -> None:
    """A what-if of the scoring rules: how many of its new MQLs a rule would hand off."""
    from handoff import qualification

    picks = qualification.rules_pick(
        rules=qualification.active_rules(), leads=preview.new_mqls_scored
    )
    result["new_sqls"] = sum(1 for pick in picks if pick is not None)


def _on_deal_won(*, deal_id: int, lead_id: int | None, actor: Any = None, **_: Any) -> None:
    from handoff.services import lead_on_deal_won

    lead_on_deal_won(deal_id=deal_id, lead_id=lead_id, actor=actor)


def _on_touch_logged(*, lead_id: int, **_: Any) -> None:
    from handoff.services import handoff_first_touch

    handoff_first_touch(lead_id=lead_id)


def register() -> None:
    bus.subscribe("lead.mql", _on_lead_mql)
    bus.subscribe("leads.mql", _on_leads_mql)
    bus.subscribe("scoring.preview", _on_scoring_preview)
    bus.subscribe("deal.won", _on_deal_won)
    bus.subscribe("touch.logged", _on_touch_logged)
