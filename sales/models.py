"""Sales' records: accounts, contacts, pipelines, deals and touches."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    name = models.CharField(_("name"), max_length=200)
    # Lower-case email domain; conversion matches new contacts to accounts by it.
    domain = models.CharField(_("domain"), max_length=200, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="accounts",
    )
    team = models.ForeignKey(
        "leadflow.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            # One account per company domain (free-mail domains are never stored here).
            models.UniqueConstraint(
                fields=["domain"], name="account_domain_uniq", condition=~Q(domain="")
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="contacts"
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True, default="")
    last_name = models.CharField(_("last name"), max_length=100, blank=True, default="")
    email = models.EmailField(_("email"), blank=True, default="")
    phone = models.CharField(_("phone"), max_length=20, blank=True, default="")
    job_title = models.CharField(_("job title"), max_length=200, blank=True, default="")
    # The marketing lead this person came from; a plain reference across apps.
    lead = models.ForeignKey(
        "marketing.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        "leadflow.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PipelineStage(models.Model):
    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(_("probability, %"), default=10)
    outcome = models.CharField(max_length=4, choices=Outcome, default=Outcome.OPEN)

    class Meta:
        ordering = ["pipeline", "position"]

    def __str__(self) -> str:
        return self.name


class Deal(models.Model):
    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="deals"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="deals"
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="deals")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="deals",
    )
    team = models.ForeignKey(
        "leadflow.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        "marketing.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Attribution copied from the lead at conversion, so the deal tells its own story.
    source = models.CharField(_("source"), max_length=100, blank=True, default="")
    campaign_name = models.CharField(_("campaign"), max_length=200, blank=True, default="")
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            # The board: a pipeline's deals grouped by stage.
            models.Index(fields=["pipeline", "stage"], name="deal_board_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Touch(models.Model):
    """A sales touch (call, email, meeting, note) on a lead, a contact or a deal."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        MEETING = "meeting", _("Meeting")
        NOTE = "note", _("Note")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True, default="")
    body = models.TextField(_("notes"), blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="touches"
    )
    lead = models.ForeignKey(
        "marketing.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="touches"
    )
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, null=True, blank=True, related_name="touches"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor_id}"
