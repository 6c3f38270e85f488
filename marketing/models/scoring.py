"""Scoring: the rules and their settings, the versioned history of their changes, the
background re-scores, the ledger every score is the sum of, and the predictive model."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketing.models.leads import Lead, Touchpoint


class ScoringRule(models.Model):
    """A rule that gives points on one axis: fit (lead fields) or engagement (activities).

    Rules are data: marketers edit them in the browser, every save is a ``ScoringChange``,
    and ``marketing.scoring`` compiles the active ones into SQL. A rule is never deleted
    (the ledger points at it); it is deactivated, and re-scoring takes its points back.
    """

    class Axis(models.TextChoices):
        FIT = "fit", _("Fit")
        ENGAGEMENT = "engagement", _("Engagement")

    class Operator(models.TextChoices):
        EQ = "eq", _("equals")
        IN = "in", _("is one of")
        GTE = "gte", _("is at least")
        LTE = "lte", _("is at most")
        BETWEEN = "between", _("is between")
        MATCHES = "matches", _("matches the pattern")
        FREEMAIL = "freemail", _("is a free-mail address")
        KIND = "kind", _("activity is")

    name = models.CharField(_("name"), max_length=200)
    axis = models.CharField(_("axis"), max_length=12, choices=Axis)
    field = models.CharField(_("field"), max_length=40, blank=True, default="")
    operator = models.CharField(_("operator"), max_length=10, choices=Operator)
    # Fit: the operand ("200", "US,GB", "10..500", a pattern). Engagement: the activity kind.
    value = models.CharField(_("value"), max_length=500, blank=True, default="")
    # Engagement only: a pattern the page URL (page views) or event name must match.
    pattern = models.CharField(_("URL or event pattern"), max_length=300, blank=True, default="")
    points = models.IntegerField(_("points"))
    # Engagement only: the most points one lead can earn from this rule, in all and within
    # one period of ``period_days`` days. Caps count raw points, before decay.
    cap = models.PositiveIntegerField(_("cap per lead"), null=True, blank=True)
    period_cap = models.PositiveIntegerField(_("cap per period"), null=True, blank=True)
    period_days = models.PositiveSmallIntegerField(_("period (days)"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["axis", "position", "id"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"


class ScoringConfig(models.Model):
    """The rule set's settings: grade bands, decay and the MQL thresholds. One row (pk 1)."""

    grade_a = models.IntegerField(_("grade A from fit"), default=35)
    grade_b = models.IntegerField(_("grade B from fit"), default=20)
    grade_c = models.IntegerField(_("grade C from fit"), default=5)
    half_life_days = models.PositiveSmallIntegerField(_("engagement half-life (days)"), default=30)
    mql_min_grade = models.CharField(_("MQL grade at least"), max_length=1, default="B")
    mql_min_engagement = models.IntegerField(_("MQL engagement at least"), default=50)
    # The day engagement is decayed to: set by the daily decay pass, so that every score,
    # its explanation and a what-if agree on one date (None: today).
    decay_as_of = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("scoring settings")

    def __str__(self) -> str:
        return "scoring settings"


class ScoringChange(models.Model):
    """One saved change of the rule set: the rule (or the settings) before and after."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("changed")
        DEACTIVATED = "deactivated", _("deactivated")
        SETTINGS = "settings", _("settings changed")

    version = models.PositiveIntegerField(unique=True)
    rule = models.ForeignKey(
        ScoringRule, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
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
        return f"v{self.version} {self.action}"


class RescoreJob(models.Model):
    """One background re-score of every lead, after a change of the rule set."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        RULES = "rules", _("Rule change")
        DECAY = "decay", _("Daily decay")

    kind = models.CharField(max_length=10, choices=Kind, default=Kind.RULES)
    change = models.ForeignKey(
        ScoringChange, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=200)
    # The rules whose ledger entries to correct; null: all of them, []: none (decay).
    rule_ids = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    # Progress over the lead ids first_lead_id..last_lead_id, walked in ranges, one
    # transaction each; next_lead_id is where a re-delivered task resumes.
    first_lead_id = models.BigIntegerField(default=0)
    last_lead_id = models.BigIntegerField(default=-1)
    next_lead_id = models.BigIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    new_mqls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    progressed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.reason} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        span = self.last_lead_id - self.first_lead_id + 1
        if span <= 0:
            return 0
        return max(0, min(100, int(100 * (self.next_lead_id - self.first_lead_id) / span)))


class ScoreEntry(models.Model):
    """The ledger: every change of points is a row, so a score is always explainable.

    Entries are deltas. Fit rows have no activity; engagement rows name the activity and
    carry its time (``occurred_at``), from which their points decay. Scoring writes, per
    (rule, activity), the difference between the points the rules give now and the sum
    already in the ledger, so running it twice writes nothing and a rule change writes
    exactly the corrections. A score is the ledger's sum: fit as is, engagement decayed.
    """

    # score_entry_lead_idx (lead, rule) serves every lookup by lead; re-scoring writes
    # hundreds of thousands of rows, each index is written with every one.
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="score_entries", db_index=False
    )
    rule = models.ForeignKey(ScoringRule, on_delete=models.PROTECT, related_name="+")
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    axis = models.CharField(max_length=12, choices=ScoringRule.Axis)
    points = models.IntegerField()
    occurred_at = models.DateTimeField(null=True, blank=True)
    # The rule set version whose scoring wrote this row (0: before versions existed).
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # A lead's score explanation, and scoring's per-(rule, activity) sums of a lead
            # or of a range of leads.
            models.Index(fields=["lead", "rule"], name="score_entry_lead_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.points:+d}"


class PredictiveModel(models.Model):
    """A naive Bayes model of "becomes a customer", learned nightly from closed leads."""

    trained_at = models.DateTimeField(auto_now_add=True)
    samples = models.PositiveIntegerField()
    positives = models.PositiveIntegerField()
    # Held-out area under the ROC curve (0.5 is chance).
    auc = models.FloatField(null=True, blank=True)
    # {"prior": log-odds, "weights": {feature: {value: log-likelihood ratio}}}
    params = models.JSONField()

    class Meta:
        ordering = ["-trained_at"]

    def __str__(self) -> str:
        return f"model {self.trained_at:%Y-%m-%d} (AUC {self.auc})"
