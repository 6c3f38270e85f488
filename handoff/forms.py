from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from handoff.models import RejectReason
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
    deal_name = forms.CharField(label=_("Deal name"), max_length=200)
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=14, decimal_places=2)
    expected_close = forms.DateField(
        label=_("Expected close"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class DashboardFilter(forms.Form):
    PERIODS = [("30", _("Last 30 days")), ("90", _("Last 90 days")), ("365", _("Last year"))]
    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    team = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ReassignForm(forms.Form):
    # Empty: back to the team pool.
    rep = forms.IntegerField(required=False)


class PeriodForm(forms.Form):
    PERIODS = [("7", _("Last 7 days")), ("30", _("Last 30 days")), ("90", _("Last 90 days"))]
    days = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)

    def days_or(self, default: int) -> int:
        return int(self.cleaned_data.get("days") or default) if self.is_valid() else default
