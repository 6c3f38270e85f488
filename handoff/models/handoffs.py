"""The handoff itself: the baton passed from marketing to sales, its lifecycle and the
reasons sales may give for turning it down."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from handoff.models.qualification import QualificationRule
from handoff.models.sla import SlaTier


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
    touch_due_at = models.DateTimeField(_("first touch by"), null=True, blank=True)
    # Set on reject: when marketing should look at the recycled lead again.
    recheck_on = models.DateField(_("re-check on"), null=True, blank=True)
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
            # The team pool and claim-next: unassigned pending handoffs of a team, hot
            # first ("hot" sorts before "standard"), then oldest first, in the exact order
            # claim-next sorts by, so a claim reads one index entry and sorts nothing.
            models.Index(
                fields=["team", "sla_tier", "handed_off_at", "id"],
                name="handoff_pool_idx",
                condition=Q(status="pending", assigned_to=None),
            ),
            # Marketing's rejections view, newest first.
            models.Index(
                fields=["rejected_at"],
                name="handoff_rejected_idx",
                condition=Q(status="rejected"),
            ),
            # Dashboard period filter.
            models.Index(fields=["handed_off_at"], name="handoff_period_idx"),
        ]

    def __str__(self) -> str:
        return f"Handoff #{self.pk} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
