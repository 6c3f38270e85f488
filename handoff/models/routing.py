"""Routing: which team and rep a new handoff goes to. Per-team distribution settings, each
rep's weight, and the ordered territory and segment rules."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
