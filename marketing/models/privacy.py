"""Privacy: what a person consented to, on which lawful basis, and the suppression list of
addresses (hashed) that must never be captured again."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from marketing.models.campaigns import ConsentText
from marketing.models.leads import Lead


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
