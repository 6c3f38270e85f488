"""The shared kernel's data: people, teams and the immutable event log."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MARKETER = "marketer", _("Marketer")
    REP = "rep", _("Sales rep")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Admin")


class Team(models.Model):
    """A sales team: the unit of routing, SLA business hours and deal visibility."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", _("Reps see their own deals")
        SHARED = "shared", _("Reps see the team's deals")

    name = models.CharField(_("name"), max_length=100, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    visibility = models.CharField(
        _("deal visibility"), max_length=10, choices=Visibility, default=Visibility.PRIVATE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=10, choices=Role, default=Role.REP)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    timezone = models.CharField(_("time zone"), max_length=64, blank=True, default="")
    is_away = models.BooleanField(_("away"), default=False)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    @property
    def is_marketer(self) -> bool:
        return self.role == Role.MARKETER

    @property
    def is_rep(self) -> bool:
        return self.role == Role.REP

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser


class Event(models.Model):
    """One immutable fact about a record: a change of stage, owner, score or status.

    Rows are only ever inserted; a database trigger (see migration 0002) refuses UPDATE and
    DELETE, so the history cannot be rewritten by the application. ``subject`` names the
    record as ``"<app>.<model>"`` plus its id, so one table serves leads, handoffs and deals.
    Time spent in each stage is derived from these rows.
    """

    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        STAGE = "stage", _("stage changed")
        OWNER = "owner", _("owner changed")
        SCORE = "score", _("score changed")
        STATUS = "status", _("status changed")
        TOUCH = "touch", _("touch logged")
        MERGED = "merged", _("merged")

    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Which rule made the change when no person did ("scoring", "qualification: Hot", ...).
    rule = models.CharField(max_length=200, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    old_value = models.CharField(max_length=100, blank=True, default="")
    new_value = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # A record's timeline, and time-in-stage for one record.
            models.Index(
                fields=["subject_type", "subject_id", "created_at"], name="event_subject_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_type}#{self.subject_id} {self.kind} {self.new_value}"


class AuditEntry(models.Model):
    """A security-relevant action (export, erasure, merge, login, token, role change).

    Append-only like Event: a database trigger refuses UPDATE and DELETE.
    """

    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    subject_type = models.CharField(max_length=40, blank=True, default="")
    subject_id = models.BigIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # "Who did what to this record", newest first.
            models.Index(
                fields=["subject_type", "subject_id", "created_at"], name="audit_subject_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.subject_type}#{self.subject_id}"


class NotificationKind(models.TextChoices):
    """The events a person can be told about; each has a preference per user."""

    HANDOFF_ASSIGNED = "handoff.assigned", _("A handoff is assigned to me")
    SLA_WARNING = "sla.warning", _("An SLA deadline is near")
    SLA_BREACH = "sla.breach", _("An SLA deadline was missed")
    HANDOFF_REJECTED = "handoff.rejected", _("Sales rejected a lead of my campaign")
    DEAL_WON = "deal.won", _("My team won a deal")
    TASK_REMINDER = "task.reminder", _("A task of mine is due")
    WEBHOOK_DISABLED = "webhook.disabled", _("A webhook was switched off after failures")
    WEEKLY_REVIEW = "review.weekly", _("My team's weekly alignment review")


class Notification(models.Model):
    """One message to one person: shown under the bell and, if they want it, emailed.

    ``dedupe_key`` makes sending idempotent: the same fact told twice to the same person
    (a task that ran twice, a redelivered message) hits the unique constraint and is
    dropped. The email is sent by a task that flips ``email_state`` from pending to sent
    under a row lock, so it goes out once however often the task runs.
    """

    class EmailState(models.TextChoices):
        NONE = "none", _("not emailed")
        PENDING = "pending", _("waiting to be emailed")
        SENT = "sent", _("emailed")
        FAILED = "failed", _("email failed")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=40)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), blank=True, default="")
    url = models.CharField(_("link"), max_length=500, blank=True, default="")
    dedupe_key = models.CharField(max_length=200)
    # False when the person turned the bell off for this kind but still wants the email.
    in_app = models.BooleanField(default=True)
    email_state = models.CharField(max_length=10, choices=EmailState, default=EmailState.NONE)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The idempotency of notification_send: one notification per fact and person.
            models.UniqueConstraint(fields=["user", "dedupe_key"], name="notification_once"),
        ]
        indexes = [
            # The bell's unread count and the inbox, newest first.
            models.Index(
                fields=["user", "-created_at"],
                name="notification_inbox_idx",
                condition=models.Q(in_app=True),
            ),
            # The sweeper: emails whose task never ran.
            models.Index(
                fields=["created_at"],
                name="notification_email_due_idx",
                condition=models.Q(email_state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}: {self.subject}"


class NotificationPreference(models.Model):
    """A person's choice for one kind; no row means both the bell and email are on."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("kind"), max_length=40, choices=NotificationKind)
    in_app = models.BooleanField(_("in the app"), default=True)
    email = models.BooleanField(_("by email"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_pref_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: app={self.in_app} email={self.email}"


# The API kernel's records live beside its code (leadflow/api/) but belong to this app.
from leadflow.api.models import (  # noqa: E402
    ApiToken,
    IdempotencyRecord,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Event",
    "IdempotencyRecord",
    "Role",
    "Team",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
