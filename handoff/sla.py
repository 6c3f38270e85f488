"""SLA clocks: deadlines in business time, warnings, breaches and escalation.

A clock is an ``SlaDeadline`` row. Beat runs :func:`sla_sweep` every minute; it warns and
breaches rows that are due, each in its own short transaction with the row locked
(``SKIP LOCKED``), and every step is a compare-and-set on the row's state, so two sweeps
at once, or one that dies half-way, never warn or escalate twice.
"""

from __future__ import annotations

import datetime
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from handoff.business_time import DEFAULT_HOURS, Calendar, business_add
from handoff.models import (
    BusinessHours,
    Handoff,
    Holiday,
    SlaBreach,
    SlaDeadline,
    SlaPolicy,
    SlaTier,
)
from leadflow import bus
from leadflow.errors import ApplicationError, NotAllowedError
from leadflow.models import Event, NotificationKind, Role, Team, User
from leadflow.notifications import notification_send
from leadflow.services import event_record

logger = logging.getLogger(__name__)

HANDOFF = "handoff.handoff"
# Used when a tier has no row (the migration creates both; an admin may delete one).
DEFAULT_POLICIES = {
    SlaTier.HOT: SlaPolicy(
        tier=SlaTier.HOT, accept_minutes=15, touch_minutes=60, business_time=False, warn_minutes=5
    ),
    SlaTier.STANDARD: SlaPolicy(
        tier=SlaTier.STANDARD,
        accept_minutes=240,
        touch_minutes=480,
        business_time=True,
        warn_minutes=30,
    ),
}


def sla_policy(tier: str) -> SlaPolicy:
    return SlaPolicy.objects.filter(tier=tier).first() or DEFAULT_POLICIES[SlaTier(tier)]


def team_calendar(team: Team) -> Calendar:
    """The team's working week, holidays and time zone (UTC if the zone is unknown)."""
    try:
        tz = ZoneInfo(team.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    rows = BusinessHours.objects.filter(team=team)
    hours = {row.weekday: (row.opens, row.closes) for row in rows}
    holidays = frozenset(Holiday.objects.filter(team=team).values_list("date", flat=True))
    if hours:
        return Calendar(tz=tz, hours=hours, holidays=holidays)
    return Calendar(tz=tz, holidays=holidays)


def deadline_after(
    *, policy: SlaPolicy, calendar: Calendar, start: datetime.datetime, minutes: int
) -> datetime.datetime:
    if policy.business_time:
        return business_add(calendar, start, minutes)
    return start + timedelta(minutes=minutes)


def _clock(
    handoff: Handoff,
    kind: str,
    minutes: int,
    *,
    policy: SlaPolicy,
    calendar: Calendar,
    start: datetime.datetime,
) -> SlaDeadline:
    due = deadline_after(policy=policy, calendar=calendar, start=start, minutes=minutes)
    # The warning is the same kind of time before the deadline (business or wall clock),
    # never before the clock started.
    warn = deadline_after(
        policy=policy, calendar=calendar, start=start, minutes=max(0, minutes - policy.warn_minutes)
    )
    return SlaDeadline.objects.create(
        handoff=handoff, kind=kind, rep=handoff.assigned_to, due_at=due, warn_at=min(warn, due)
    )


def sla_start(*, handoff: Handoff, start: datetime.datetime) -> None:
    """Start both clocks of a new handoff: accept-or-reject and first touch."""
    policy = sla_policy(handoff.sla_tier)
    calendar = team_calendar(handoff.team)
    accept = _clock(
        handoff,
        SlaDeadline.Kind.ACCEPT,
        policy.accept_minutes,
        policy=policy,
        calendar=calendar,
        start=start,
    )
    touch = _clock(
        handoff,
        SlaDeadline.Kind.TOUCH,
        policy.touch_minutes,
        policy=policy,
        calendar=calendar,
        start=start,
    )
    handoff.accept_due_at, handoff.touch_due_at = accept.due_at, touch.due_at
    handoff.save(update_fields=["accept_due_at", "touch_due_at"])


def sla_stop(*, handoff_id: int, kinds: tuple[str, ...], state: str) -> None:
    """Stop running clocks: met (accepted, touched) or cancelled (the handoff closed)."""
    SlaDeadline.objects.filter(
        handoff_id=handoff_id, kind__in=kinds, state=SlaDeadline.State.OPEN
    ).update(state=state, closed_at=timezone.now())


def sla_hand_over(*, handoff_id: int, rep: User | None) -> None:
    """The running clocks follow the handoff to its new holder (claim, re-assignment)."""
    SlaDeadline.objects.filter(handoff_id=handoff_id, state=SlaDeadline.State.OPEN).update(rep=rep)


def sla_restart_accept(*, handoff: Handoff, now: datetime.datetime) -> None:
    """A re-routed handoff gives its new rep a fresh accept-or-reject clock."""
    policy = sla_policy(handoff.sla_tier)
    accept = _clock(
        handoff,
        SlaDeadline.Kind.ACCEPT,
        policy.accept_minutes,
        policy=policy,
        calendar=team_calendar(handoff.team),
        start=now,
    )
    handoff.accept_due_at = accept.due_at
    handoff.save(update_fields=["accept_due_at"])


# --- The sweep ---------------------------------------------------------------------------


def managers_of(team_id: int) -> list[User]:
    return list(User.objects.filter(team_id=team_id, role=Role.MANAGER, is_active=True))


def _handoff_url(handoff_id: int) -> str:
    return reverse("handoff:detail", kwargs={"handoff_id": handoff_id})


def _label(handoff: Handoff) -> str:
    lead = handoff.lead
    return lead.full_name or lead.company or lead.email or f"#{handoff.pk}"


def sla_sweep(*, now: datetime.datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Warn and breach what is due; returns counts. Safe to run concurrently."""
    now = now or timezone.now()
    warned = breached = 0
    for deadline_id in SlaDeadline.objects.filter(
        state=SlaDeadline.State.OPEN, warned_at=None, warn_at__lte=now, due_at__gt=now
    ).values_list("pk", flat=True)[:limit]:
        warned += sla_warn(deadline_id=deadline_id, now=now)
    for deadline_id in SlaDeadline.objects.filter(
        state=SlaDeadline.State.OPEN, due_at__lte=now
    ).values_list("pk", flat=True)[:limit]:
        breached += sla_breach(deadline_id=deadline_id, now=now)
    return {"warned": warned, "breached": breached}


def _lock_open(deadline_id: int, extra: Q | None = None) -> SlaDeadline | None:
    rows = SlaDeadline.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        pk=deadline_id, state=SlaDeadline.State.OPEN
    )
    if extra is not None:
        rows = rows.filter(extra)
    return rows.select_related("handoff__lead", "handoff__team", "rep").first()


@transaction.atomic
def sla_warn(*, deadline_id: int, now: datetime.datetime) -> bool:
    deadline = _lock_open(deadline_id, Q(warned_at=None))
    if deadline is None or _settle(deadline, deadline.handoff):
        return False
    deadline.warned_at = now
    deadline.save(update_fields=["warned_at"])
    handoff = deadline.handoff
    if deadline.rep is not None:
        _tell(
            deadline.rep,
            NotificationKind.SLA_WARNING,
            key=f"sla.warning:{deadline.pk}",
            handoff=handoff,
            subject=_("Deadline near: %(what)s for %(lead)s")
            % {"what": deadline.get_kind_display(), "lead": _label(handoff)},
        )
    return True


@transaction.atomic
def sla_breach(*, deadline_id: int, now: datetime.datetime) -> bool:
    """Record the breach, tell the rep and the managers, and re-route if the team says so.

    The deadline flips from open to breached under its row lock and the breach row is
    one-to-one with it, so escalation and re-routing happen exactly once.
    """
    deadline = _lock_open(deadline_id)
    if deadline is None:
        return False
    handoff = (
        Handoff.objects.select_for_update()
        .select_related("lead", "team")
        .get(pk=deadline.handoff_id)
    )
    if _settle(deadline, handoff):
        return False
    deadline.state = SlaDeadline.State.BREACHED
    deadline.closed_at = now
    deadline.save(update_fields=["state", "closed_at"])
    breach = SlaBreach.objects.create(
        deadline=deadline,
        handoff=handoff,
        kind=deadline.kind,
        team_id=handoff.team_id,
        rep=deadline.rep,
        due_at=deadline.due_at,
    )
    event_record(
        subject_type=HANDOFF,
        subject_id=handoff.pk,
        kind=Event.Kind.STATUS,
        rule="sla",
        reason=f"{deadline.kind} deadline missed",
        old_value=handoff.status,
        new_value="sla breached",
    )
    subject = _("Deadline missed: %(what)s for %(lead)s") % {
        "what": deadline.get_kind_display(),
        "lead": _label(handoff),
    }
    for person in [deadline.rep, *managers_of(handoff.team_id)]:
        if person is not None:
            _tell(
                person,
                NotificationKind.SLA_BREACH,
                key=f"sla.breach:{deadline.pk}",
                handoff=handoff,
                subject=subject,
            )
    if _should_reroute(handoff, deadline):
        from handoff import routing

        new_rep = routing.reroute_after_breach(handoff=handoff, lost_by=deadline.rep, now=now)
        breach.rerouted_to = new_rep
        breach.save(update_fields=["rerouted_to"])
    bus.publish("sla.breached", handoff_id=handoff.pk)
    return True


def _settle(deadline: SlaDeadline, handoff: Handoff) -> bool:
    """Close a clock whose work was done by a path that did not stop it (a conversion
    records the first touch itself, say); True if it was closed here."""
    state = None
    if deadline.kind == SlaDeadline.Kind.ACCEPT and handoff.status != Handoff.Status.PENDING:
        expired = handoff.status == Handoff.Status.EXPIRED
        state = SlaDeadline.State.CANCELLED if expired else SlaDeadline.State.MET
    elif deadline.kind == SlaDeadline.Kind.TOUCH and handoff.first_touch_at is not None:
        state = SlaDeadline.State.MET
    elif not handoff.is_open:
        state = SlaDeadline.State.CANCELLED
    if state is None:
        return False
    deadline.state = state
    deadline.closed_at = timezone.now()
    deadline.save(update_fields=["state", "closed_at"])
    return True


def _should_reroute(handoff: Handoff, deadline: SlaDeadline) -> bool:
    from handoff.models import TeamRouting

    return (
        deadline.kind == SlaDeadline.Kind.ACCEPT
        and handoff.status == Handoff.Status.PENDING
        and handoff.assigned_to_id is not None
        and TeamRouting.objects.filter(team_id=handoff.team_id, reroute_on_breach=True).exists()
    )


def _tell(person: User, kind: str, *, key: str, handoff: Handoff, subject: str) -> None:
    notification_send(
        user=person,
        kind=kind,
        subject=subject,
        body=_("Open the handoff to act on it."),
        url=_handoff_url(handoff.pk),
        dedupe_key=key,
    )


# --- Business hours and holidays (the team's manager, or an admin) ----------------------


def check_manages_team(actor: User, team_id: int) -> None:
    """The team's settings are its manager's (and any admin's) to change."""
    if actor.is_superuser or actor.role == Role.ADMIN:
        return
    if actor.role != Role.MANAGER or actor.team_id != team_id:
        raise NotAllowedError(_("Only the team's manager can change its settings."))


@transaction.atomic
def team_hours_set(
    *,
    team_id: int,
    actor: User,
    hours: dict[int, tuple[datetime.time, datetime.time] | None],
) -> None:
    """The working hours of each weekday (None: closed). Deadlines already running keep
    their due time; new clocks use the new week."""
    check_manages_team(actor, team_id)
    if not any(hours.values()):
        raise ApplicationError(_("The team needs at least one working day."))
    for weekday, window in hours.items():
        if window is not None and window[1] <= window[0]:
            raise ApplicationError(
                _("%(day)s: closing must be after opening.")
                % {"day": BusinessHours.Weekday(weekday).label}
            )
    BusinessHours.objects.filter(team_id=team_id).delete()
    BusinessHours.objects.bulk_create(
        BusinessHours(team_id=team_id, weekday=weekday, opens=window[0], closes=window[1])
        for weekday, window in sorted(hours.items())
        if window is not None
    )


def team_hours(*, team_id: int) -> dict[int, tuple[datetime.time, datetime.time] | None]:
    """Each weekday's window as configured, or the default week if none is."""
    rows = {
        row.weekday: (row.opens, row.closes)
        for row in BusinessHours.objects.filter(team_id=team_id)
    }
    week = rows or DEFAULT_HOURS
    return {day: week.get(day) for day in range(7)}


@transaction.atomic
def team_holiday_add(*, team_id: int, actor: User, date: datetime.date, name: str) -> Holiday:
    check_manages_team(actor, team_id)
    holiday, _created = Holiday.objects.update_or_create(
        team_id=team_id, date=date, defaults={"name": name.strip()[:100]}
    )
    return holiday


@transaction.atomic
def team_holiday_remove(*, team_id: int, actor: User, holiday_id: int) -> None:
    check_manages_team(actor, team_id)
    Holiday.objects.filter(team_id=team_id, pk=holiday_id).delete()
