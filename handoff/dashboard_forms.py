"""The dashboard's filters and the targets form."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from handoff.models import KpiTarget

PERIODS = [
    ("7", _("Last 7 days")),
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("365", _("Last year")),
    ("custom", _("Custom dates")),
]
DEFAULT_DAYS = 90
# A year and a bit: the longest period the rollups are asked to sum on one page.
MAX_DAYS = 731


class KpiFilterForm(forms.Form):
    """Read from the query string; a bad value is reported and the default used."""

    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    team = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int, empty_value=None)
    campaign = forms.TypedChoiceField(
        label=_("Campaign"), required=False, coerce=int, empty_value=None
    )
    source = forms.ChoiceField(label=_("Source"), required=False)

    def __init__(
        self,
        data: Any,
        *,
        teams: list[tuple[int, str]],
        campaigns: list[tuple[int, str]],
        sources: list[str],
    ) -> None:
        # Plain ids ("period", "team"): the page's script and tests address them.
        super().__init__(data, auto_id="%s")
        cast(forms.ChoiceField, self.fields["team"]).choices = [("", _("All teams")), *teams]
        cast(forms.ChoiceField, self.fields["campaign"]).choices = [
            ("", _("All campaigns")),
            *campaigns,
        ]
        cast(forms.ChoiceField, self.fields["source"]).choices = [
            ("", _("All sources")),
            *((s, s) for s in sources),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        if data.get("period") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(_("Pick both dates of a custom period."))
            if start > end:
                raise forms.ValidationError(_("The period starts after it ends."))
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(
                    _("A period can be at most %(days)d days long.") % {"days": MAX_DAYS}
                )
        return data

    def dates(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """(start, end), both included: the chosen period, or the last 90 days."""
        data = self.cleaned_data if self.is_valid() else {}
        period = data.get("period") or str(DEFAULT_DAYS)
        if period == "custom":
            return data["start"], data["end"]
        return today - dt.timedelta(days=int(period) - 1), today

    def value(self, name: str) -> Any:
        return self.cleaned_data.get(name) if self.is_valid() else None


class TargetForm(forms.Form):
    month = forms.DateField(
        label=_("Month"), widget=forms.DateInput(attrs={"type": "month"}), input_formats=["%Y-%m"]
    )
    team = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int, empty_value=None)
    metric = forms.ChoiceField(label=_("Measure"), choices=KpiTarget.Metric.choices)
    value = forms.DecimalField(label=_("Target"), min_value=1, max_digits=14, decimal_places=2)

    def __init__(self, *args: Any, teams: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["team"]).choices = [("", _("All teams")), *teams]
