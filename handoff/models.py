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


class TeamRouting(models.Model):
    """A team's routing settings and round-robin cursor; its row lock serialises routing
    (and re-routing after a breach) within the team."""

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round-robin")
        WEIGHTED = "weighted", _("Weighted (by each rep's weight)")
        LEAST_LOADED = "least_loaded", _("Least loaded (fewest open handoffs)")

    team = models.OneToOneField(
        "leadflow.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="+"
    )
    strategy = models.CharField(
        _("distribution"), max_length=20, choices=Strategy, default=Strategy.ROUND_ROBIN
    )
    max_open_per_rep = models.PositiveIntegerField(
        _("capacity: open handoffs per rep"),
        null=True,
        blank=True,
        default=25,
        help_text=_("A rep with this many open handoffs gets no more. Empty: no limit."),
    )
    reroute_on_breach = models.BooleanField(
        _("re-route to the next rep when the accept deadline is missed"), default=False
    )
    last_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("team routing")
        verbose_name_plural = _("team routing")

    def __str__(self) -> str:
        return f"{self.team_id}: {self.strategy}"


class RepWeight(models.Model):
    """A rep's share in weighted routing, and the running credit of smooth weighted
    round-robin (each pick adds every rep's weight to its credit; the highest credit wins
    and pays back the total), which spreads a 3:1 split as A A B A, not A A A B."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="routing_weight"
    )
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    credit = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.weight}"


class RoutingRule(models.Model):
    """Ordered; the first active rule that matches a new handoff's lead picks its team
    (or, for the account-owner rule, its rep). No match: the qualification rule's team."""

    class Kind(models.TextChoices):
        ACCOUNT_OWNER = "account_owner", _("Existing account owner wins")
        COUNTRY = "country", _("Territory: country is one of")
        COMPANY_SIZE = "company_size", _("Segment: company size between")

    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(_("order"), default=0)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    countries = models.CharField(
        _("countries"),
        max_length=500,
        blank=True,
        default="",
        help_text=_("Two-letter codes separated by commas, e.g. DE, AT, CH"),
    )
    min_company_size = models.PositiveIntegerField(_("company size from"), null=True, blank=True)
    max_company_size = models.PositiveIntegerField(_("company size to"), null=True, blank=True)
    team = models.ForeignKey(
        "leadflow.Team",
        verbose_name=_("team"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Not used by the account-owner rule: the owner's team takes it."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name

    @property
    def country_codes(self) -> set[str]:
        return {c.strip().upper() for c in self.countries.split(",") if c.strip()}


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

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="deadlines")
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
    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="breaches")
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
