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
