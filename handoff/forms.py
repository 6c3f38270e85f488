from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from handoff.models import BusinessHours, RejectReason, SlaTier, TeamRouting
from handoff.qualification import REQUIRABLE_FIELDS
from leadflow.models import Team, User
from marketing.models import Grade, Stage
from sales.models import Touch


class RejectForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", _("Choose a reason…")), *RejectReason.choices]
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    recheck_on = forms.DateField(
        label=_("Re-check on"),
        required=False,
        help_text=_("When marketing should look at the lead again. Empty: by the reason."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class TouchForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Touch.Kind.choices)
    outcome = forms.CharField(label=_("Outcome"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ConvertForm(forms.Form):
    """Conversion: the deal's fields, its pipeline, and the account the rep confirms
    ("new", or the id of the matched account that the page offered)."""

    account = forms.CharField(widget=forms.HiddenInput, required=False)
    deal_name = forms.CharField(label=_("Deal name"), max_length=200)
    pipeline = forms.TypedChoiceField(label=_("Pipeline"), coerce=int, choices=[])
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=14, decimal_places=2)
    currency = forms.CharField(
        label=_("Currency"),
        max_length=3,
        initial="USD",
        widget=forms.TextInput(attrs={"list": "currencies", "size": 4}),
    )
    expected_close = forms.DateField(
        label=_("Expected close"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, pipelines: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].choices = pipelines  # type: ignore[attr-defined]

    def clean_account(self) -> int | None:
        """None for a new account, else the id of the confirmed match."""
        value = self.cleaned_data.get("account") or "new"
        if value == "new":
            return None
        try:
            return int(value)
        except ValueError:
            raise forms.ValidationError(_("Choose the account.")) from None


class ReassignForm(forms.Form):
    # Empty: back to the team pool.
    rep = forms.IntegerField(required=False)


class PeriodForm(forms.Form):
    PERIODS = [("7", _("Last 7 days")), ("30", _("Last 30 days")), ("90", _("Last 90 days"))]
    days = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)

    def days_or(self, default: int) -> int:
        return int(self.cleaned_data.get("days") or default) if self.is_valid() else default


class QualificationRuleForm(forms.Form):
    """One qualification rule; ``handoff.qualification.rule_clean`` checks it."""

    name = forms.CharField(label=_("Name"), max_length=200)
    stages = forms.MultipleChoiceField(
        label=_("Lead stage is one of (none ticked: any)"),
        choices=Stage.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    fast_track_only = forms.BooleanField(label=_("Only fast-tracked leads"), required=False)
    max_grade = forms.ChoiceField(
        label=_("Grade at least"), choices=[("", _("any")), *Grade.choices], required=False
    )
    min_engagement = forms.IntegerField(label=_("Engagement at least"), initial=0)
    min_probability = forms.FloatField(
        label=_("Win probability at least (0 to 1)"), min_value=0, max_value=1, required=False
    )
    required_fields = forms.MultipleChoiceField(
        label=_("These fields are filled in"),
        choices=[(name, name.replace("_", " ")) for name in REQUIRABLE_FIELDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    requires_consent = forms.BooleanField(label=_("Consent on record"), required=False)
    exclude_domains = forms.CharField(
        label=_("Never for these email domains (competitors), one a line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    exclude_customers = forms.BooleanField(
        label=_("Never for existing customers (an account of the domain has a won deal)"),
        required=False,
    )
    sla_tier = forms.ChoiceField(label=_("SLA tier"), choices=SlaTier.choices)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.order_by("name"))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def rule_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["team_id"] = data.pop("team").pk
        return data


class TeamRoutingForm(forms.Form):
    strategy = forms.ChoiceField(label=_("Distribution"), choices=TeamRouting.Strategy.choices)
    max_open_per_rep = forms.IntegerField(
        label=_("Capacity: open handoffs per rep"),
        min_value=1,
        required=False,
        help_text=_("Empty: no limit."),
    )
    reroute_on_breach = forms.BooleanField(
        label=_("Re-route to the next rep when the accept deadline is missed"), required=False
    )

    def __init__(self, *args: Any, reps: list[tuple[User, int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for rep, weight in reps:
            self.fields[f"weight_{rep.pk}"] = forms.IntegerField(
                label=_("Weight of %(rep)s") % {"rep": rep.get_full_name() or rep.username},
                min_value=1,
                max_value=100,
                initial=weight,
            )

    def weights(self) -> dict[int, int]:
        return {
            int(name.removeprefix("weight_")): value
            for name, value in self.cleaned_data.items()
            if name.startswith("weight_")
        }


class BusinessHoursForm(forms.Form):
    """One row a weekday: open or closed, from, to."""

    def __init__(
        self,
        *args: Any,
        hours: dict[int, tuple[datetime.time, datetime.time] | None],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for day, label in BusinessHours.Weekday.choices:
            window = hours.get(day)
            self.fields[f"open_{day}"] = forms.BooleanField(
                label=label, required=False, initial=window is not None
            )
            self.fields[f"opens_{day}"] = forms.TimeField(
                label=_("opens"),
                required=False,
                initial=window[0] if window else datetime.time(9),
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )
            self.fields[f"closes_{day}"] = forms.TimeField(
                label=_("closes"),
                required=False,
                initial=window[1] if window else datetime.time(17),
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )

    def rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (str(label), self[f"open_{day}"], self[f"opens_{day}"], self[f"closes_{day}"])
            for day, label in BusinessHours.Weekday.choices
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for day, _label in BusinessHours.Weekday.choices:
            if data.get(f"open_{day}") and not (
                data.get(f"opens_{day}") and data.get(f"closes_{day}")
            ):
                self.add_error(f"opens_{day}", _("Give the opening and closing time."))
        return data

    def hours(self) -> dict[int, tuple[datetime.time, datetime.time] | None]:
        data = self.cleaned_data
        return {
            day: (data[f"opens_{day}"], data[f"closes_{day}"]) if data.get(f"open_{day}") else None
            for day, _label in BusinessHours.Weekday.choices
        }


class HolidayForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
