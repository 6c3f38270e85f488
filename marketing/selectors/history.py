"""The lead page's history: the timeline of touchpoints and events, and the first and
last touch."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone
from django.utils.translation import gettext

from leadflow.models import Event
from marketing.models import Lead, Stage, Touchpoint

# Events name their record as "<app>.<model>" (see leadflow.models.Event).
LEAD_SUBJECT = "marketing.lead"

TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "touchpoint" or "event"
    touch: Touchpoint | None = None
    event: Event | None = None
    # The event's values in words: stage names (the event stores codes), score bands.
    old_label: str = ""
    new_label: str = ""


@dataclass(frozen=True)
class TimelineDay:
    day: date
    entries: list[TimelineEntry]


@dataclass(frozen=True)
class Timeline:
    days: list[TimelineDay]
    # True when older entries were left out (beyond TIMELINE_LIMIT).
    truncated: bool


# How scoring records a score band in an event: "<grade> <fit>/<engagement>".
_SCORE_BAND = re.compile(r"^([A-D]) (-?\d+)/(-?\d+)$")


def _event_label(kind: str, value: str) -> str:
    """An event value as people read it: "MQL" for "mql", "B (fit 30, engagement 45)"
    for "B 30/45"; other values as stored."""
    if kind in (Event.Kind.STAGE, Event.Kind.CREATED) and value in Stage.values:
        return str(Stage(value).label)
    band = _SCORE_BAND.match(value) if kind == Event.Kind.SCORE else None
    if band:
        grade, fit, engagement = band.groups()
        return gettext("%(grade)s (fit %(fit)s, engagement %(engagement)s)") % {
            "grade": grade,
            "fit": fit,
            "engagement": engagement,
        }
    return value


def lead_timeline(*, lead: Lead, limit: int = TIMELINE_LIMIT) -> Timeline:
    """The lead's touchpoints (with their attribution) and events (who or which rule, and
    why), newest first, grouped by day in the current time zone. Two queries; a lead with a
    long history shows its latest ``limit`` entries."""
    touches = list(
        lead.touchpoints.select_related("campaign", "form").order_by("-created_at", "-id")[
            : limit + 1
        ]
    )
    events = list(
        Event.objects.filter(subject_type=LEAD_SUBJECT, subject_id=lead.pk)
        .select_related("actor")
        .order_by("-created_at", "-id")[: limit + 1]
    )
    entries = [
        TimelineEntry(
            at=event.created_at,
            kind="event",
            event=event,
            old_label=_event_label(event.kind, event.old_value),
            new_label=_event_label(event.kind, event.new_value),
        )
        for event in events
    ]
    entries += [
        TimelineEntry(at=touch.created_at, kind="touchpoint", touch=touch) for touch in touches
    ]
    # A capture writes its touchpoint, then the events it caused, in one transaction (one
    # timestamp). The sort is stable, so at equal times the events stay above (newer).
    entries.sort(key=lambda entry: entry.at, reverse=True)
    truncated = len(entries) > limit
    days: list[TimelineDay] = []
    for entry in entries[:limit]:
        day = timezone.localdate(entry.at)
        if not days or days[-1].day != day:
            days.append(TimelineDay(day=day, entries=[]))
        days[-1].entries.append(entry)
    return Timeline(days=days, truncated=truncated)


def lead_touches(*, lead: Lead) -> tuple[Touchpoint | None, Touchpoint | None]:
    """The lead's first and last touch: as capture recorded them, or, for a lead captured
    before it did, its earliest and latest touchpoints."""
    first, last = lead.first_touch, lead.last_touch
    if first is None or last is None:
        touches = lead.touchpoints.select_related("campaign", "form").order_by("created_at", "id")
        first = first or touches.first()
        last = last or touches.last()
    return first, last
