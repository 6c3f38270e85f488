"""The deal, account and contact pages: a deal's story (its timeline), what an account
or contact page shows, and the account list."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Count,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from leadflow.models import Event, User
from sales.models import (
    Account,
    Contact,
    Deal,
    Touch,
)
from sales.selectors.visibility import accounts_visible_to, deals_visible_to, tasks_visible_to


@dataclass(frozen=True)
class StoryEntry:
    """One line of a deal's story, from the first marketing touch to today."""

    at: datetime.datetime
    source: str  # "marketing", "lead", "handoff", "deal", "touch"
    title: str
    detail: str = ""
    actor: User | None = None


SUBJECT_SOURCES = {"marketing.lead": "lead", "handoff.handoff": "handoff", "sales.deal": "deal"}


def _event_title(event: Event) -> str:
    change = f"{event.old_value} → {event.new_value}" if event.old_value else event.new_value
    return f"{event.get_kind_display()}: {change}" if change else str(event.get_kind_display())


def deal_story(*, deal: Deal) -> list[StoryEntry]:
    """Everything that led to this deal, oldest first: the lead's marketing touchpoints,
    the lead's stage and owner changes, the handoffs, the deal's moves and every touch
    by sales on the lead, the contact or the deal. A bounded number of queries."""
    entries: list[StoryEntry] = []
    subjects = Q(subject_type="sales.deal", subject_id=deal.pk)
    if deal.lead is not None:
        lead = deal.lead
        for point in lead.touchpoints.select_related("campaign").order_by("created_at")[:200]:
            via = " · ".join(
                part
                for part in (
                    point.campaign.name if point.campaign else "",
                    point.utm_source,
                    point.utm_medium,
                )
                if part
            )
            entries.append(
                StoryEntry(
                    at=point.created_at,
                    source="marketing",
                    title=str(point.get_kind_display()),
                    detail=via or point.landing_page,
                )
            )
        handoff_ids = lead.handoffs.values("id")
        subjects |= Q(subject_type="marketing.lead", subject_id=lead.pk)
        subjects |= Q(subject_type="handoff.handoff", subject_id__in=handoff_ids)
    for event in (
        Event.objects.filter(subjects).select_related("actor").order_by("created_at", "id")[:500]
    ):
        entries.append(
            StoryEntry(
                at=event.created_at,
                source=SUBJECT_SOURCES.get(event.subject_type, "deal"),
                title=_event_title(event),
                detail=" · ".join(part for part in (event.rule, event.reason) if part),
                actor=event.actor,
            )
        )
    on_person = Q(deal=deal)
    if deal.contact_id:
        on_person |= Q(contact_id=deal.contact_id)
    if deal.lead_id:
        on_person |= Q(lead_id=deal.lead_id)
    for touch in (
        Touch.objects.filter(on_person).select_related("actor").order_by("created_at")[:500]
    ):
        entries.append(
            StoryEntry(
                at=touch.created_at,
                source="touch",
                title=str(touch.get_kind_display()),
                detail=" · ".join(part for part in (touch.outcome, touch.body) if part),
                actor=touch.actor,
            )
        )
    return sorted(entries, key=lambda entry: entry.at)


def account_page(*, user: User, account: Account) -> dict[str, Any]:
    """An account with everything related that this user may see."""
    deals = list(
        deals_visible_to(user)
        .filter(account=account)
        .select_related("stage", "owner")
        .order_by("-created_at")[:200]
    )
    contacts = list(account.contacts.order_by("last_name", "first_name")[:200])
    touches = list(
        Touch.objects.filter(Q(contact__account=account) | Q(deal__in=[d.pk for d in deals]))
        .select_related("actor", "contact", "deal")
        .order_by("-created_at")[:100]
    )
    tasks = list(
        tasks_visible_to(user)
        .filter(
            Q(account=account) | Q(deal__in=[d.pk for d in deals]) | Q(contact__account=account)
        )
        .filter(done_at=None)
        .select_related("owner", "deal")
        .order_by("due_at")[:100]
    )
    return {"deals": deals, "contacts": contacts, "touches": touches, "tasks": tasks}


def contact_page(*, user: User, contact: Contact) -> dict[str, Any]:
    deals = list(
        deals_visible_to(user)
        .filter(contact=contact)
        .select_related("stage", "owner")
        .order_by("-created_at")[:100]
    )
    on_person = Q(contact=contact) | Q(deal__in=[d.pk for d in deals])
    if contact.lead_id:
        on_person |= Q(lead_id=contact.lead_id)
    touches = list(
        Touch.objects.filter(on_person)
        .select_related("actor", "deal")
        .order_by("-created_at")[:100]
    )
    tasks = list(
        tasks_visible_to(user)
        .filter(Q(contact=contact) | Q(deal__in=[d.pk for d in deals]), done_at=None)
        .select_related("owner")
        .order_by("due_at")[:100]
    )
    return {"deals": deals, "touches": touches, "tasks": tasks}


def account_list(*, user: User, query: str = "") -> QuerySet[Account]:
    accounts = accounts_visible_to(user)
    if query.strip():
        q = query.strip()
        accounts = accounts.filter(Q(name__icontains=q) | Q(domain__icontains=q))
    # A correlated subquery, not a join and GROUP BY: Postgres counts only for the rows of
    # the page shown, after the LIMIT.
    open_deals = (
        Deal.objects.filter(account_id=OuterRef("pk"), closed_at=None)
        .order_by()
        .values("account_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        accounts.select_related("owner")
        .annotate(open_deals=Coalesce(Subquery(open_deals), 0))
        .order_by("name", "id")
    )
