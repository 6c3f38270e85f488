"""Marketing's records: campaigns, forms, leads, touchpoints and the score ledger."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    PAID_SEARCH = "paid_search", _("Paid search")
    PAID_SOCIAL = "paid_social", _("Paid social")
    EMAIL = "email", _("Email")
    WEBINAR = "webinar", _("Webinar")
    EVENT = "event", _("Event")
    CONTENT = "content", _("Content")
    ORGANIC = "organic", _("Organic")
    REFERRAL = "referral", _("Referral")


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel)
    utm_source = models.CharField(_("UTM source"), max_length=100, blank=True, default="")
    utm_medium = models.CharField(_("UTM medium"), max_length=100, blank=True, default="")
    utm_campaign = models.CharField(_("UTM campaign"), max_length=100, blank=True, default="")
    budget = models.DecimalField(_("budget"), max_digits=12, decimal_places=2, default=0)
    cost = models.DecimalField(_("actual cost"), max_digits=12, decimal_places=2, default=0)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


def _form_key() -> str:
    return secrets.token_urlsafe(9)


# The lead attributes a form may ask for, in the order a form shows them.
FORM_FIELD_CHOICES = (
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "company_size",
    "country",
    "phone",
)


def default_form_fields() -> list[dict[str, object]]:
    """Every form asks for the email (required: it is the person's identity)."""
    return [
        {"name": "email", "required": True},
        {"name": "first_name", "required": False},
        {"name": "last_name", "required": False},
        {"name": "company", "required": False},
        {"name": "job_title", "required": False},
    ]


class Form(models.Model):
    """A capture form: a hosted page at ``/f/<key>/`` posting into one campaign."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="forms"
    )
    name = models.CharField(_("name"), max_length=200)
    key = models.CharField(max_length=20, unique=True, default=_form_key, editable=False)
    title = models.CharField(_("headline"), max_length=200, blank=True, default="")
    thank_you_message = models.CharField(
        _("thank-you message"), max_length=500, default=_("Thank you! We will be in touch.")
    )
    consent_text = models.TextField(_("consent text"), blank=True, default="")
    # The current version of consent_text; every edit makes a new ConsentText row.
    consent = models.ForeignKey(
        "ConsentText", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # [{"name": <one of FORM_FIELD_CHOICES>, "required": bool}, ...] in display order.
    fields = models.JSONField(_("fields"), default=default_form_fields)
    redirect_url = models.URLField(_("redirect after submit"), blank=True, default="")
    # One origin per line (https://www.example.com); the embed may post only from these.
    allowed_origins = models.TextField(_("allowed origins"), blank=True, default="")
    # High-intent forms ("request a demo") make an MQL and a hot handoff at once.
    fast_track = models.BooleanField(_("fast track (high intent)"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("form")
        verbose_name_plural = _("forms")

    def __str__(self) -> str:
        return self.name


class ConsentText(models.Model):
    """One version of a form's consent wording, kept forever: a consent record points at
    the exact text the person agreed to."""

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="consent_texts")
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["form", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["form", "version"], name="consent_text_version_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.form_id} v{self.version}"


class Stage(models.TextChoices):
    LEAD = "lead", _("Lead")
    MQL = "mql", _("MQL")
    SQL = "sql", _("SQL")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    RECYCLED = "recycled", _("Recycled")
    DISQUALIFIED = "disqualified", _("Disqualified")


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class Lead(models.Model):
    """One person. Email (normalised) is unique, so every entry path meets the same row."""

    email = models.EmailField(_("email"), max_length=254, null=True, blank=True)
    # An integration's own id for the person (API upsert by external id).
    external_id = models.CharField(max_length=100, null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, default="")
    first_name = models.CharField(_("first name"), max_length=100, blank=True, default="")
    last_name = models.CharField(_("last name"), max_length=100, blank=True, default="")
    company = models.CharField(_("company"), max_length=200, blank=True, default="")
    job_title = models.CharField(_("job title"), max_length=200, blank=True, default="")
    company_size = models.PositiveIntegerField(_("company size"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, default="")

    stage = models.CharField(_("stage"), max_length=12, choices=Stage, default=Stage.LEAD)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
    )
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("first campaign"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        db_index=False,  # lead_campaign_funnel_idx leads with the campaign
    )
    source = models.CharField(_("source"), max_length=100, blank=True, default="")

    fit_score = models.IntegerField(_("fit"), default=0)
    engagement_score = models.IntegerField(_("engagement"), default=0)
    # The lead list sorts by this; kept by Postgres, so it can never disagree.
    score = models.GeneratedField(
        expression=models.F("fit_score") + models.F("engagement_score"),
        output_field=models.IntegerField(),
        db_persist=True,
    )
    grade = models.CharField(_("grade"), max_length=1, choices=Grade, default=Grade.D)
    # Null until the worker scored the lead's latest touchpoint; the sweeper looks for these.
    scored_at = models.DateTimeField(null=True, blank=True)
    fast_tracked = models.BooleanField(default=False)
    # No index on these two: nothing looks a lead up by its touch, and every capture and
    # import writes them. Deleting a touchpoint (only with its lead) scans for SET NULL.
    first_touch = models.ForeignKey(
        "Touchpoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    last_touch = models.ForeignKey(
        "Touchpoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # Set when the person's data was erased on request; the row stays for the counts.
    erased_at = models.DateTimeField(null=True, blank=True)
    # Set by the daily decay when engagement fell below the MQL threshold after the lead
    # had passed it; cleared when it rises again. A handed-off lead keeps its stage.
    engagement_lapsed_at = models.DateTimeField(_("engagement lapsed"), null=True, blank=True)
    # Set when sales sent the lead back (recycled): engagement counts only the activity
    # after it, so the lead qualifies again on new interest, not on what sales turned down.
    engagement_reset_at = models.DateTimeField(_("engagement reset"), null=True, blank=True)
    # The predictive model's probability of becoming a customer (None: no model yet).
    win_probability = models.FloatField(_("win probability"), null=True, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    mql_at = models.DateTimeField(_("MQL at"), null=True, blank=True)
    sql_at = models.DateTimeField(_("SQL at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        constraints = [
            # One person, one lead: capture upserts on this (INSERT … ON CONFLICT).
            models.UniqueConstraint(fields=["email"], name="lead_email_uniq"),
            # Partial: most leads have no external id, and an index of NULLs costs every insert.
            models.UniqueConstraint(
                fields=["external_id"],
                name="lead_external_id_uniq",
                condition=Q(external_id__isnull=False),
            ),
        ]
        indexes = [
            # The lead list, newest first, and the dashboard's period filter.
            models.Index(fields=["created_at"], name="lead_created_idx"),
            # Matching by phone on capture, and the duplicates screen's "same phone".
            models.Index(fields=["phone"], name="lead_phone_idx", condition=~Q(phone="")),
            # The duplicates screen's "same name and company".
            models.Index(fields=["last_name", "company"], name="lead_name_company_idx"),
            # The lead list sorted by score, with keyset pagination on (score, id).
            models.Index(fields=["score", "id"], name="lead_score_idx"),
            # The campaign list's per-campaign funnel counts, read from the index alone.
            models.Index(
                fields=["campaign"],
                include=["stage", "mql_at", "sql_at"],
                name="lead_campaign_funnel_idx",
            ),
            # Scoring leaves out activity before a lead's reset; few leads have one.
            models.Index(
                fields=["id"],
                include=["engagement_reset_at"],
                name="lead_engagement_reset_idx",
                condition=Q(engagement_reset_at__isnull=False),
            ),
            # The sweeper: leads whose scoring task never ran.
            models.Index(
                fields=["updated_at"], name="lead_unscored_idx", condition=Q(scored_at=None)
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Touchpoint(models.Model):
    """One interaction of a lead with marketing, with its attribution data."""

    class Kind(models.TextChoices):
        FORM_SUBMIT = "form_submit", _("Form submitted")
        DEMO_REQUEST = "demo_request", _("Demo requested")
        PAGE_VIEW = "page_view", _("Page viewed")
        PRICING_VIEW = "pricing_view", _("Pricing page viewed")
        EMAIL_CLICK = "email_click", _("Email clicked")
        WEBINAR = "webinar", _("Webinar attended")
        IMPORT = "import", _("Imported")
        EMAIL_OPEN = "email_open", _("Email opened")
        EVENT = "event", _("Event attended")
        CUSTOM = "custom", _("Custom event")
        CONTACT_SALES = "contact_sales", _("Contact sales requested")

    # touch_lead_idx (lead, created_at) serves every lookup by lead.
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="touchpoints", db_index=False
    )
    kind = models.CharField(max_length=20, choices=Kind)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="touchpoints"
    )
    form = models.ForeignKey(
        Form, on_delete=models.SET_NULL, null=True, blank=True, related_name="touchpoints"
    )
    utm_source = models.CharField(max_length=100, blank=True, default="")
    utm_medium = models.CharField(max_length=100, blank=True, default="")
    utm_campaign = models.CharField(max_length=100, blank=True, default="")
    utm_term = models.CharField(max_length=100, blank=True, default="")
    utm_content = models.CharField(max_length=100, blank=True, default="")
    gclid = models.CharField(max_length=200, blank=True, default="")
    fbclid = models.CharField(max_length=200, blank=True, default="")
    referrer = models.CharField(max_length=500, blank=True, default="")
    landing_page = models.CharField(max_length=500, blank=True, default="")
    # Identifies one submission: an Idempotency-Key, or a hash of a form post within a short
    # window. The unique constraint makes a double submit or a retry one touchpoint.
    dedupe_key = models.CharField(max_length=64, null=True, blank=True)
    # A custom event's name, sent through the API ("trial_started"); empty otherwise.
    event_name = models.CharField(max_length=100, blank=True, default="", db_default="")
    # When it happened: now for captures, the sender's time for activities from the API.
    # Engagement decays from here.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Partial: imported touchpoints have no key. Capture's ON CONFLICT names the
            # same predicate.
            models.UniqueConstraint(
                fields=["dedupe_key"],
                name="touch_dedupe_uniq",
                condition=Q(dedupe_key__isnull=False),
            ),
        ]
        indexes = [
            # A lead's timeline and its scoring, oldest first.
            models.Index(fields=["lead", "created_at"], name="touch_lead_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d})"


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


class LawfulBasis(models.TextChoices):
    CONSENT = "consent", _("Consent")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest")
    CONTRACT = "contract", _("Contract")


class ConsentRecord(models.Model):
    """What a person agreed to, when, where and from which address."""

    class Source(models.TextChoices):
        FORM = "form", _("Form")
        API = "api", _("API")
        IMPORT = "import", _("Import")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="consents")
    consent_text = models.ForeignKey(
        ConsentText, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lawful_basis = models.CharField(max_length=20, choices=LawfulBasis, default=LawfulBasis.CONSENT)
    source = models.CharField(max_length=10, choices=Source)
    ip = models.GenericIPAddressField(null=True, blank=True)
    given_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at"]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.lawful_basis} {self.given_at:%Y-%m-%d}"


class Suppression(models.Model):
    """An address that must never be captured again. Only its SHA-256 is stored, so the
    list itself holds no personal data (the address is normalised before hashing)."""

    email_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=20, default="withdrawn")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Every capture path checks membership by this (one index probe).
            models.UniqueConstraint(fields=["email_hash"], name="suppression_hash_uniq")
        ]

    def __str__(self) -> str:
        return self.email_hash[:12]


class ImportJob(models.Model):
    """One CSV import: the uploaded file, its column mapping and the job's progress."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Mode(models.TextChoices):
        UPDATE = "update", _("Fill empty fields of people who already exist")
        SKIP = "skip", _("Skip people who already exist")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="imports"
    )
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    # {"csv header": "lead field", ...}; headers mapped to "" are ignored.
    mapping = models.JSONField(default=dict)
    mode = models.CharField(max_length=10, choices=Mode, default=Mode.UPDATE)
    status = models.CharField(max_length=10, choices=Status, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors_file = models.FileField(upload_to="imports/%Y/%m/", blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
