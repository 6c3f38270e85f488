"""The handoff: the baton passed from marketing to sales, and the rules that create it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SlaTier(models.TextChoices):
    HOT = "hot", _("Hot")
    STANDARD = "standard", _("Standard")


class QualificationRule(models.Model):
    """Ordered; the first active rule whose conditions a lead meets creates its handoff."""

    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(_("order"), default=0)
    # Conditions. Empty means "any".
    fast_track_only = models.BooleanField(_("only fast-tracked leads"), default=False)
    max_grade = models.CharField(
        _("grade at least"), max_length=1, blank=True, default="", help_text=_("A is best")
    )
    min_engagement = models.IntegerField(_("engagement at least"), default=0)
    # Outcome.
    sla_tier = models.CharField(_("SLA tier"), max_length=10, choices=SlaTier)
    team = models.ForeignKey(
        "leadflow.Team", verbose_name=_("team"), on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class RejectReason(models.TextChoices):
    NOT_A_FIT = "not_a_fit", _("Not a fit")
    BAD_CONTACT = "bad_contact", _("Bad contact data")
    NO_BUDGET = "no_budget", _("No budget")
    BAD_TIMING = "bad_timing", _("Bad timing")
    DUPLICATE = "duplicate", _("Duplicate")
    CUSTOMER = "customer", _("Already a customer")
    COMPETITOR = "competitor", _("Competitor")
    SPAM = "spam", _("Spam")


class Handoff(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        CONVERTED = "converted", _("Converted")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")

    OPEN_STATUSES = (Status.PENDING, Status.ACCEPTED)

    lead = models.ForeignKey("marketing.Lead", on_delete=models.PROTECT, related_name="handoffs")
    rule = models.ForeignKey(
        QualificationRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule_name = models.CharField(max_length=200, blank=True, default="")
    # "Why is this an SQL": the score breakdown at the moment of the handoff.
    score_snapshot = models.JSONField(default=dict)
    sla_tier = models.CharField(_("SLA tier"), max_length=10, choices=SlaTier)
    team = models.ForeignKey("leadflow.Team", on_delete=models.PROTECT, related_name="+")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="handoffs",
    )
    routing_reason = models.CharField(max_length=300, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    reject_reason = models.CharField(
        _("reason"), max_length=20, choices=RejectReason, blank=True, default=""
    )
    reject_note = models.CharField(_("note"), max_length=500, blank=True, default="")
    deal = models.ForeignKey(
        "sales.Deal", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    handed_off_at = models.DateTimeField(_("handed off"), auto_now_add=True)
    accept_due_at = models.DateTimeField(_("accept by"), null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-handed_off_at"]
        constraints = [
            # A lead is worked by one open handoff at a time; qualification races lose here.
            models.UniqueConstraint(
                fields=["lead"],
                name="handoff_one_open_per_lead",
                condition=Q(status__in=["pending", "accepted"]),
            ),
        ]
        indexes = [
            # "My queue": a rep's open handoffs.
            models.Index(
                fields=["assigned_to", "status"],
                name="handoff_queue_idx",
                condition=Q(status__in=["pending", "accepted"]),
            ),
            # The team pool: unassigned pending handoffs of a team, oldest first.
            models.Index(
                fields=["team", "handed_off_at"],
                name="handoff_pool_idx",
                condition=Q(status="pending", assigned_to=None),
            ),
            # Dashboard period filter.
            models.Index(fields=["handed_off_at"], name="handoff_period_idx"),
        ]

    def __str__(self) -> str:
        return f"Handoff #{self.pk} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class TeamRouting(models.Model):
    """The round-robin cursor of a team; its row lock serialises routing within the team."""

    team = models.OneToOneField("leadflow.Team", on_delete=models.CASCADE, related_name="+")
    last_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.team_id}: last {self.last_rep_id}"
