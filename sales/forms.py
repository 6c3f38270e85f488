"""Sales forms: input parsing only; the rules live in services."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leadflow.models import User
from sales.models import CloseReason, PipelineStage, Touch

CURRENCIES = ["USD", "EUR", "GBP", "CHF", "RUB", "JPY", "CAD", "AUD"]


class DealFilterForm(forms.Form):
    """The board's and the list's filters: owner, expected close month, status."""

    STATUSES = [
        ("", _("All")),
        ("open", _("Open")),
        ("won", _("Won")),
        ("lost", _("Lost")),
        ("closed", _("Closed (won or lost)")),
    ]
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Anyone")
    )
    close_month = forms.CharField(
        label=_("Close month"),
        required=False,
        widget=forms.DateInput(attrs={"type": "month"}),
    )
    status = forms.ChoiceField(label=_("Status"), choices=STATUSES, required=False)
    # Set by a board column's "all in the list" link.
    stage = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, owners: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if owners is not None:
            self.fields["owner"].queryset = owners  # type: ignore[attr-defined]

    def clean_close_month(self) -> datetime.date | None:
        value = (self.cleaned_data.get("close_month") or "").strip()
        if not value:
            return None
        year, _sep, month = value.partition("-")
        try:
            return datetime.date(int(year), int(month), 1)
        except ValueError:
            raise forms.ValidationError(_("Give a month as YYYY-MM.")) from None


class DealForm(forms.Form):
    name = forms.CharField(label=_("Deal name"), max_length=200)
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


class MoveForm(forms.Form):
    stage = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class TouchForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Touch.Kind.choices)
    outcome = forms.CharField(label=_("Outcome"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200)
    due_at = forms.DateTimeField(
        label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    remind_at = forms.DateTimeField(
        label=_("Remind me at"),
        required=False,
        help_text=_("Empty: when it is due."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            tomorrow = timezone.localtime() + datetime.timedelta(days=1)
            self.initial.setdefault(
                "due_at", tomorrow.replace(hour=10, minute=0, second=0).strftime("%Y-%m-%dT%H:%M")
            )


class PipelineForm(forms.Form):
    name = forms.CharField(label=_("Pipeline name"), max_length=100)


class StageForm(forms.Form):
    name = forms.CharField(label=_("Stage"), max_length=100)
    probability = forms.IntegerField(label=_("Probability, %"), min_value=0, max_value=100)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=PipelineStage.Outcome.choices)
    stale_after_days = forms.IntegerField(
        label=_("Stale after, days"), min_value=1, max_value=365, initial=14
    )


class CloseReasonForm(forms.Form):
    kind = forms.ChoiceField(label=_("List"), choices=CloseReason.Kind.choices)
    label = forms.CharField(label=_("Reason"), max_length=200)
