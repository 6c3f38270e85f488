"""Activities a lead did (page views, email opens and clicks, webinars, custom events),
recorded by the API and integrations and scored in the background by the engagement
rules."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadflow.errors import ApplicationError
from leadflow.services import enqueue_on_commit
from marketing import scoring
from marketing.models import Lead, Touchpoint

# Clocks differ: an activity up to this far in the future is taken as "now".
ACTIVITY_CLOCK_SKEW = timedelta(minutes=5)


@transaction.atomic
def activity_record(
    *,
    lead_id: int,
    kind: str,
    occurred_at: datetime | None = None,
    url: str = "",
    event_name: str = "",
    campaign_id: int | None = None,
    dedupe_key: str | None = None,
) -> Touchpoint:
    """Record something a lead did (a page view with its URL, an email open or click, a
    webinar, an event, a custom event by name) and score it in the background.

    ``occurred_at`` is when it happened (engagement decays from then; default now). A
    ``dedupe_key`` makes a retry the same activity: the first one is returned. A
    fast-track kind (demo request, contact sales) makes the lead an MQL at scoring.
    """
    if kind not in Touchpoint.Kind.values or kind == Touchpoint.Kind.IMPORT:
        raise ApplicationError(
            _("Unknown activity type “%(kind)s”.") % {"kind": kind}, field="kind"
        )
    event_name = event_name.strip()[:100]
    if kind == Touchpoint.Kind.CUSTOM and not event_name:
        raise ApplicationError(_("A custom event needs a name."), field="event_name")
    now = timezone.now()
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        raise ApplicationError(_("Give the time with its time zone."), field="occurred_at")
    if occurred_at > now + ACTIVITY_CLOCK_SKEW:
        raise ApplicationError(_("An activity cannot happen in the future."), field="occurred_at")
    occurred_at = min(occurred_at, now)
    if dedupe_key:
        dedupe_key = hashlib.sha256(f"activity\x1f{dedupe_key}".encode()).hexdigest()
        existing = Touchpoint.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    lead = Lead.objects.select_for_update().filter(pk=lead_id, erased_at=None).first()
    if lead is None:
        raise ApplicationError(_("This lead does not exist."), field="lead")
    try:
        with transaction.atomic():
            touch = Touchpoint.objects.create(
                lead=lead,
                kind=kind,
                campaign_id=campaign_id,
                landing_page=url.strip()[:500],
                event_name=event_name,
                dedupe_key=dedupe_key or None,
                created_at=occurred_at,
            )
    except IntegrityError:
        # A retry committed the same key while we waited for the lead's lock.
        return Touchpoint.objects.get(dedupe_key=dedupe_key)
    changes: dict[str, Any] = {"scored_at": None, "updated_at": now}
    if kind in scoring.FAST_TRACK_KINDS:
        changes["fast_tracked"] = True
    if lead.first_touch_id is None:
        changes["first_touch"] = touch
    last = lead.last_touch
    if last is None or last.created_at <= occurred_at:
        changes["last_touch"] = touch
    Lead.objects.filter(pk=lead.pk).update(**changes)
    from marketing.tasks import score_leads

    enqueue_on_commit(score_leads, [lead.pk])
    return touch
