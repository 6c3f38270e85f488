"""KPI storage: the dashboard's rollup tables with the time of their last rebuild, and the
monthly targets managers set."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# --- The KPI dashboard's rollups (rebuilt by handoff.rollups; read by handoff.kpis) -----
# Plain ids instead of foreign keys: the rows are rebuilt wholesale from the source tables
# every few minutes, and a foreign key would only slow the rebuild and block deletes.


class KpiLeadDay(models.Model):
    """Leads per day, first campaign and source: created that day, of those how many
    reached MQL (the cohort), and how many became MQL that day (lead velocity)."""

    day = models.DateField()
    campaign_id = models.BigIntegerField(null=True)
    source = models.CharField(max_length=100)
    leads = models.IntegerField()
    mqls = models.IntegerField()
    mqls_on_day = models.IntegerField()

    class Meta:
        indexes = [
            # Every lead-side panel: a period of days, then campaign and source.
            models.Index(fields=["day"], name="kpi_lead_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.campaign_id} {self.source}: {self.leads}"


class KpiHandoffDay(models.Model):
    """Handoffs per UTC day, team, first campaign and source: handed off that day, and
    answered (accepted or rejected) that day. Lead velocity and team balance sum these."""

    day = models.DateField()
    team_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField(null=True)
    source = models.CharField(max_length=100)
    handed = models.IntegerField()
    answered = models.IntegerField()

    class Meta:
        indexes = [
            # A period of days, then team, campaign and source.
            models.Index(fields=["day"], name="kpi_handoff_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.team_id}: {self.handed}"


class KpiMqlFact(models.Model):
    """One MQL: when it was created and how long it took to qualify (the waterfall's
    median lead-to-MQL time needs the single values, not sums)."""

    lead_id = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField()
    campaign_id = models.BigIntegerField(null=True)
    source = models.CharField(max_length=100)
    days_to_mql = models.FloatField()

    class Meta:
        indexes = [
            # The waterfall's median over a period's cohort, from the index alone.
            models.Index(
                fields=["created_at"],
                include=["days_to_mql", "campaign_id", "source"],
                name="kpi_mql_created_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"MQL {self.lead_id}"


class KpiHandoffFact(models.Model):
    """One handoff with what every handoff-side KPI needs, flattened: the lead's cohort
    and attribution, the sales side's timestamps as durations, SLA outcomes and its deal."""

    handoff_id = models.BigIntegerField(primary_key=True)
    lead_id = models.BigIntegerField()
    lead_created_at = models.DateTimeField()
    # The waterfall counts leads, not passages: a lead counts once, on its latest
    # handoff (its team and rep), with how far any of its handoffs got.
    is_latest = models.BooleanField(default=False)
    lead_accepted = models.BooleanField(default=False)
    lead_converted = models.BooleanField(default=False)
    lead_won = models.BooleanField(default=False)
    handed_off_at = models.DateTimeField()
    team_id = models.BigIntegerField()
    rep_id = models.BigIntegerField(null=True)
    campaign_id = models.BigIntegerField(null=True)
    source = models.CharField(max_length=100)
    sla_tier = models.CharField(max_length=10)
    rule_name = models.CharField(max_length=200)
    status = models.CharField(max_length=10)
    reject_reason = models.CharField(max_length=20)
    answered_at = models.DateTimeField(null=True)  # accepted or rejected
    # Days between stages; null where the later stage was not reached.
    days_mql_to_sql = models.FloatField(null=True)
    days_sql_to_accept = models.FloatField(null=True)
    days_accept_to_deal = models.FloatField(null=True)
    days_deal_to_won = models.FloatField(null=True)
    # Speed to lead, in minutes from the handoff.
    minutes_to_accept = models.FloatField(null=True)
    minutes_to_touch = models.FloatField(null=True)
    # SLA outcome per clock: "met", "missed", or "" (still running, or no clock).
    accept_sla = models.CharField(max_length=6)
    touch_sla = models.CharField(max_length=6)
    # Still open and past a deadline: the "open breaches" of the dashboard.
    open_breach = models.BooleanField(default=False)
    deal_id = models.BigIntegerField(null=True)
    deal_created_at = models.DateTimeField(null=True)
    deal_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    deal_outcome = models.CharField(max_length=4)  # "", open, won, lost
    deal_closed_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            # The waterfall and campaign return: a cohort of leads created in a period.
            models.Index(fields=["lead_created_at"], name="kpi_handoff_cohort_idx"),
            # Speed to lead, rejections, balance and velocity: handoffs of a period.
            models.Index(fields=["handed_off_at"], name="kpi_handoff_period_idx"),
            # The backlog: the few handoffs waiting for an answer.
            models.Index(
                fields=["team_id"],
                name="kpi_handoff_backlog_idx",
                condition=Q(status="pending"),
            ),
            # A rep's own numbers.
            models.Index(fields=["rep_id"], name="kpi_handoff_rep_idx"),
            # The open breaches.
            models.Index(
                fields=["handed_off_at"],
                name="kpi_handoff_breach_idx",
                condition=Q(open_breach=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Handoff {self.handoff_id} ({self.status})"


class KpiAttribution(models.Model):
    """One deal's credit to one campaign under each attribution model, as fractions of
    the deal's value that sum to 1 per deal and model."""

    deal_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField(null=True)  # null: no campaign touched the lead
    lead_created_at = models.DateTimeField()
    team_id = models.BigIntegerField(null=True)
    rep_id = models.BigIntegerField(null=True)
    lead_campaign_id = models.BigIntegerField(null=True)
    source = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    won = models.BooleanField()
    first_touch = models.FloatField()
    last_touch = models.FloatField()
    linear = models.FloatField()
    u_shaped = models.FloatField()
    w_shaped = models.FloatField()

    class Meta:
        indexes = [
            # The campaign-return panel: deals of a period's cohort.
            models.Index(fields=["lead_created_at"], name="kpi_attribution_cohort_idx"),
        ]

    def __str__(self) -> str:
        return f"Deal {self.deal_id} → campaign {self.campaign_id}"


class KpiRefresh(models.Model):
    """When the rollups were last rebuilt (one row): the page shows the numbers' age."""

    refreshed_at = models.DateTimeField()
    took_ms = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.refreshed_at:%Y-%m-%d %H:%M:%S} ({self.took_ms} ms)"


class KpiTarget(models.Model):
    """A manager's target for one month: MQLs, SQLs, pipeline or won value, for a team or
    (team empty) for everybody."""

    class Metric(models.TextChoices):
        MQLS = "mqls", _("MQLs")
        SQLS = "sqls", _("SQLs")
        PIPELINE = "pipeline", _("Pipeline created")
        WON = "won", _("Won value")

    month = models.DateField(_("month"))  # the first day of the month
    team = models.ForeignKey(
        "leadflow.Team",
        verbose_name=_("team"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    metric = models.CharField(_("measure"), max_length=10, choices=Metric)
    value = models.DecimalField(_("target"), max_digits=14, decimal_places=2)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["month", "metric"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            # One target per month, team (or everybody) and measure; saving again replaces it.
            models.UniqueConstraint(
                fields=["month", "team", "metric"],
                name="kpi_target_once",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="kpi_target_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.metric} {self.value}"
