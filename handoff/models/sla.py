"""SLA: the tiers and their deadlines, the teams' business hours and holidays they count in,
and the running clocks with the breaches they record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SlaTier(models.TextChoices):
    HOT = "hot", _("Hot")
    STANDARD = "standard", _("Standard")


class SlaPolicy(models.Model):
    """An SLA tier's deadlines (editable). Business-time tiers count only the team's
    business hours, in the team's time zone, skipping its holidays."""

    tier = models.CharField(_("tier"), max_length=10, choices=SlaTier, unique=True)
    accept_minutes = models.PositiveIntegerField(_("accept or reject within (minutes)"))
    touch_minutes = models.PositiveIntegerField(_("first touch within (minutes)"))
    business_time = models.BooleanField(_("count business hours only"), default=True)
    warn_minutes = models.PositiveIntegerField(
        _("warn this many minutes before a deadline"), default=10
    )

    class Meta:
        ordering = ["tier"]
        verbose_name = _("SLA tier")
        verbose_name_plural = _("SLA tiers")

    def __str__(self) -> str:
        return self.get_tier_display()


class BusinessHours(models.Model):
    """One working day of a team, in the team's time zone. A team without rows works
    Monday to Friday, 9:00 to 17:00."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    team = models.ForeignKey(
        "leadflow.Team", on_delete=models.CASCADE, related_name="business_hours"
    )
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["team", "weekday"]
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        constraints = [
            models.UniqueConstraint(fields=["team", "weekday"], name="business_hours_once"),
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")), name="business_hours_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    team = models.ForeignKey("leadflow.Team", on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True, default="")

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        constraints = [models.UniqueConstraint(fields=["team", "date"], name="holiday_once")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaDeadline(models.Model):
    """A running SLA clock: a durable row that beat checks every minute (never a Celery
    countdown), so a deadline survives restarts and fires once."""

    class Kind(models.TextChoices):
        ACCEPT = "accept", _("accept or reject")
        TOUCH = "touch", _("first touch")

    class State(models.TextChoices):
        OPEN = "open", _("running")
        MET = "met", _("met")
        BREACHED = "breached", _("missed")
        CANCELLED = "cancelled", _("stopped")

    # By name, not by class: ``handoffs`` imports this module for ``SlaTier``.
    handoff = models.ForeignKey(
        "handoff.Handoff", on_delete=models.CASCADE, related_name="deadlines"
    )
    kind = models.CharField(max_length=10, choices=Kind)
    # Who held the handoff when the clock started (None: the team pool).
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField(_("due"))
    warn_at = models.DateTimeField()
    warned_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State, default=State.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [
            # One running clock of each kind per handoff.
            models.UniqueConstraint(
                fields=["handoff", "kind"],
                name="sla_deadline_one_open",
                condition=Q(state="open"),
            ),
        ]
        indexes = [
            # The beat sweep: running clocks past due.
            models.Index(fields=["due_at"], name="sla_deadline_due_idx", condition=Q(state="open")),
            # The beat sweep: running clocks past their warning, not yet warned.
            models.Index(
                fields=["warn_at"],
                name="sla_deadline_warn_idx",
                condition=Q(state="open", warned_at=None),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.handoff_id} {self.kind} due {self.due_at:%Y-%m-%d %H:%M} ({self.state})"


class SlaBreach(models.Model):
    """A missed deadline, recorded once (one per deadline): the escalation's receipt."""

    deadline = models.OneToOneField(SlaDeadline, on_delete=models.CASCADE, related_name="breach")
    handoff = models.ForeignKey(
        "handoff.Handoff", on_delete=models.CASCADE, related_name="breaches"
    )
    kind = models.CharField(max_length=10, choices=SlaDeadline.Kind)
    team = models.ForeignKey("leadflow.Team", on_delete=models.PROTECT, related_name="+")
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField()
    breached_at = models.DateTimeField(auto_now_add=True)
    rerouted_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-breached_at"]
        indexes = [
            # The team view: breaches per rep over a period.
            models.Index(fields=["team", "breached_at"], name="sla_breach_team_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.handoff_id} {self.kind} missed at {self.breached_at:%Y-%m-%d %H:%M}"
