"""Sales' records: accounts, contacts, pipelines, deals and touches."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
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
    position = models.PositiveIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(_("probability, %"), default=10)
    outcome = models.CharField(_("outcome"), max_length=4, choices=Outcome, default=Outcome.OPEN)
    # An open deal with no activity for this long in this stage is "stale" on Today.
    stale_after_days = models.PositiveSmallIntegerField(_("stale after, days"), default=14)

    class Meta:
        ordering = ["pipeline", "position"]

    def __str__(self) -> str:
        return self.name


class CloseReason(models.Model):
    """An entry of the editable lists of reasons a deal is won or lost.

    Deals keep the label as text (``Deal.close_reason``), so renaming or retiring a
    reason never rewrites the history of deals already closed with it.
    """

    class Kind(models.TextChoices):
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    kind = models.CharField(_("kind"), max_length=4, choices=Kind)
    label = models.CharField(_("reason"), max_length=200)
    position = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "position", "id"]
        constraints = [
            # One entry per wording in a list; the editing page reports a duplicate.
            models.UniqueConstraint(fields=["kind", "label"], name="close_reason_label_uniq"),
        ]

    def __str__(self) -> str:
        return self.label


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
    first_touch = models.ForeignKey(
        "marketing.Touchpoint",
        verbose_name=_("first touch"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_touch = models.ForeignKey(
        "marketing.Touchpoint",
        verbose_name=_("last touch"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Why it was won or lost: a label of the CloseReason list at the time, plus free text.
    close_reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    close_note = models.CharField(_("note"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    stage_changed_at = models.DateTimeField(default=timezone.now)
    # Creation, a stage change or a touch; "stale" deals are measured from here.
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            # The board: a column's newest cards (a pipeline's deals in a stage).
            models.Index(fields=["pipeline", "stage", "-created_at"], name="deal_board_idx"),
            # The deal list, newest first, of a team (managers, shared teams) or an owner.
            models.Index(fields=["team", "-created_at"], name="deal_team_created_idx"),
            models.Index(fields=["owner", "-created_at"], name="deal_owner_created_idx"),
            # The closed list, newest first.
            models.Index(
                fields=["-closed_at"], name="deal_closed_idx", condition=Q(closed_at__isnull=False)
            ),
            # Today's stale deals: a rep's open deals by last activity.
            models.Index(
                fields=["owner", "last_activity_at"],
                name="deal_stale_idx",
                condition=Q(closed_at__isnull=True),
            ),
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


class Task(models.Model):
    """A rep's to-do with a due time; a reminder notification goes out at ``remind_at``."""

    title = models.CharField(_("task"), max_length=200)
    due_at = models.DateTimeField(_("due"))
    # When to notify; beat's sweep sends it once and stamps ``reminded_at``.
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="sales_tasks",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # Today: a user's open tasks by due time.
            models.Index(
                fields=["owner", "due_at"], name="task_open_idx", condition=Q(done_at__isnull=True)
            ),
            # The reminder sweep: reminders due and not yet sent.
            models.Index(
                fields=["remind_at"],
                name="task_remind_idx",
                condition=Q(done_at__isnull=True, reminded_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at < timezone.now()
