"""Leads and their touchpoints: one row per person (with its stage and grade), and every
interaction of that person with marketing, with its attribution data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketing.models.campaigns import Campaign, Form


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
