"""Qualification: the ordered rules that decide which leads become handoffs, and the
versioned history of every change to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from handoff.models.sla import SlaTier


class QualificationRule(models.Model):
    """Ordered; the first active rule whose conditions a lead meets creates its handoff.

    Every condition left empty means "any". ``handoff.qualification`` compiles the active
    rules into one SQL ``CASE``, so qualifying one lead and previewing a change on all of
    them use the same definition.
    """

    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(_("order"), default=0)
    # Conditions.
    stages = models.JSONField(_("stages"), default=list, blank=True)
    fast_track_only = models.BooleanField(_("only fast-tracked leads"), default=False)
    max_grade = models.CharField(
        _("grade at least"), max_length=1, blank=True, default="", help_text=_("A is best")
    )
    min_engagement = models.IntegerField(_("engagement at least"), default=0)
    min_probability = models.FloatField(_("win probability at least"), null=True, blank=True)
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    requires_consent = models.BooleanField(_("consent on record"), default=False)
    # Exclusions: one email domain a line (competitors), and leads of existing customers
    # (a won deal with an account of the lead's email domain, or a customer lead there).
    exclude_domains = models.TextField(_("exclude email domains"), blank=True, default="")
    exclude_customers = models.BooleanField(_("exclude existing customers"), default=False)
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


class QualificationRuleChange(models.Model):
    """One saved change of a qualification rule: who, when, and the rule before and after."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("changed")
        MOVED = "moved", _("moved")
        DEACTIVATED = "deactivated", _("deactivated")

    version = models.PositiveIntegerField(unique=True)
    rule = models.ForeignKey(QualificationRule, on_delete=models.PROTECT, related_name="changes")
    action = models.CharField(max_length=12, choices=Action)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version} {self.action} {self.rule_id}"
