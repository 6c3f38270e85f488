"""Sales' records of one person, for the export of their data."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Q,
)

from sales.models import (
    Contact,
    Deal,
    Touch,
)


def person_data_for_lead(*, lead_id: int, email: str = "") -> dict[str, Any]:
    """Sales' records of the person behind a lead, for the export of their data: contacts
    (converted from the lead, or with its address), their deals and the touches on them."""
    by_person = (Q(lead_id=lead_id) | Q(email__iexact=email)) if email else Q(lead_id=lead_id)
    contacts = list(Contact.objects.filter(by_person).select_related("account").order_by("pk"))
    contact_ids = [contact.pk for contact in contacts]
    deals = list(
        Deal.objects.filter(Q(lead_id=lead_id) | Q(contact_id__in=contact_ids))
        .select_related("stage", "owner", "account")
        .order_by("pk")
    )
    touches = (
        Touch.objects.filter(
            Q(lead_id=lead_id)
            | Q(contact_id__in=contact_ids)
            | Q(deal_id__in=[deal.pk for deal in deals])
        )
        .select_related("actor")
        .order_by("created_at", "pk")
    )
    return {
        "contacts": [
            {
                "id": contact.pk,
                "account": contact.account.name,
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "email": contact.email,
                "phone": contact.phone,
                "job_title": contact.job_title,
                "created_at": contact.created_at.isoformat(),
            }
            for contact in contacts
        ],
        "deals": [
            {
                "id": deal.pk,
                "name": deal.name,
                "account": deal.account.name,
                "stage": deal.stage.name,
                "amount": str(deal.amount),
                "currency": deal.currency,
                "owner": deal.owner.username,
                "close_reason": deal.close_reason,
                "close_note": deal.close_note,
                "created_at": deal.created_at.isoformat(),
                "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
            }
            for deal in deals
        ],
        "touches": [
            {
                "kind": touch.kind,
                "outcome": touch.outcome,
                "body": touch.body,
                "by": touch.actor.username,
                "deal_id": touch.deal_id,
                "created_at": touch.created_at.isoformat(),
            }
            for touch in touches
        ],
    }
