"""Campaigns and the capture forms that post into them, with each form's versioned consent
wording: what marketing runs, before any person arrives."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
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
