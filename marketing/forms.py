from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from marketing.models import (
    FORM_FIELD_CHOICES,
    Channel,
    Form,
    Grade,
    ScoringRule,
    Stage,
    Touchpoint,
    default_form_fields,
)
from marketing.selectors import PublicForm


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    utm_source = forms.CharField(label=_("UTM source"), max_length=100, required=False)
    utm_medium = forms.CharField(label=_("UTM medium"), max_length=100, required=False)
    utm_campaign = forms.CharField(label=_("UTM campaign"), max_length=100, required=False)
    budget = forms.DecimalField(
        label=_("Budget"), min_value=0, max_digits=12, decimal_places=2, initial=0
    )
    cost = forms.DecimalField(
        label=_("Actual cost"), min_value=0, max_digits=12, decimal_places=2, initial=0
    )
    starts_on = forms.DateField(
        label=_("Starts on"),
        required=False,
        # ISO whatever the language: a date input takes nothing else.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    ends_on = forms.DateField(
        label=_("Ends on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


# The lead attributes a capture form may ask for, with the words a visitor sees.
FIELD_LABELS = {
    "email": _("Work email"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "company": _("Company"),
    "job_title": _("Job title"),
    "company_size": _("Company size"),
    "country": _("Country (2 letters)"),
    "phone": _("Phone"),
}


class FormBuilderForm(forms.Form):
    """A capture form's settings. Each lead attribute has an "ask" and a "required" box
    (``ask_<name>``, ``required_<name>``); the email is always asked and required."""

    name = forms.CharField(label=_("Name"), max_length=200)
    title = forms.CharField(
        label=_("Headline"),
        max_length=200,
        required=False,
        help_text=_("Shown above the form; the name when empty."),
    )
    consent_text = forms.CharField(
        label=_("Consent text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Shown beside a box the visitor must tick. Every change is kept as a new version; "
            "each consent record points at the version the person agreed to."
        ),
    )
    thank_you_message = forms.CharField(
        label=_("Thank-you message"), max_length=500, required=False
    )
    redirect_url = forms.URLField(
        label=_("Redirect after submit"),
        required=False,
        assume_scheme="https",
        help_text=_("Instead of the thank-you message, send the visitor to this address."),
    )
    allowed_origins = forms.CharField(
        label=_("Allowed origins"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://www.example.com"}),
        help_text=_(
            "The websites that may embed this form, one a line (https://www.example.com). "
            "The hosted page always works."
        ),
    )
    fast_track = forms.BooleanField(
        label=_("Fast track: high intent (e.g. request a demo) makes a hot handoff at once"),
        required=False,
        label_suffix="",
    )
    is_active = forms.BooleanField(
        label=_("Active: the form takes submissions"),
        required=False,
        initial=True,
        label_suffix="",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["is_active"]
        for name in FORM_FIELD_CHOICES:
            fixed = name == "email"
            self.fields[f"ask_{name}"] = forms.BooleanField(
                label=FIELD_LABELS[name], required=False, disabled=fixed, initial=fixed
            )
            self.fields[f"required_{name}"] = forms.BooleanField(
                label=_("required"), required=False, disabled=fixed, initial=fixed
            )
        if not self.is_bound and "ask_first_name" not in self.initial:
            self.initial.update(self.initial_fields(default_form_fields()))

    @staticmethod
    def initial_fields(fields: list[dict[str, Any]]) -> dict[str, bool]:
        initial: dict[str, bool] = {}
        for item in fields:
            initial[f"ask_{item['name']}"] = True
            initial[f"required_{item['name']}"] = bool(item.get("required"))
        return initial

    @classmethod
    def initial_for(cls, form: Form) -> dict[str, Any]:
        return {
            "name": form.name,
            "title": form.title,
            "consent_text": form.consent.text if form.consent else "",
            "thank_you_message": form.thank_you_message,
            "redirect_url": form.redirect_url,
            "allowed_origins": form.allowed_origins,
            "fast_track": form.fast_track,
            "is_active": form.is_active,
            **cls.initial_fields(form.fields),
        }

    def field_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """(ask, required) box pairs, one per attribute, for the builder's table."""
        return [(self[f"ask_{name}"], self[f"required_{name}"]) for name in FORM_FIELD_CHOICES]

    def settings_fields(self) -> list[forms.BoundField]:
        """Every other field, in the order the builder shows them."""
        return [field for field in self if not field.name.startswith(("ask_", "required_"))]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Ticking "required" alone asks for the field too.
        data["fields"] = [
            {"name": name, "required": bool(data.get(f"required_{name}"))}
            for name in FORM_FIELD_CHOICES
            if data.get(f"ask_{name}") or data.get(f"required_{name}")
        ]
        return data

    def service_arguments(self) -> dict[str, Any]:
        """The cleaned data as ``form_create`` / ``form_update`` keyword arguments."""
        data = self.cleaned_data
        names = [
            "name",
            "title",
            "consent_text",
            "thank_you_message",
            "redirect_url",
            "allowed_origins",
            "fast_track",
            "fields",
        ]
        if "is_active" in self.fields:
            names.append("is_active")
        return {name: data[name] for name in names}


def _capture_field(name: str, required: bool) -> forms.Field:
    label = FIELD_LABELS[name]
    autocomplete = {
        "email": "email",
        "first_name": "given-name",
        "last_name": "family-name",
        "company": "organization",
        "job_title": "organization-title",
        "country": "country",
        "phone": "tel",
    }.get(name, "off")
    attrs = {"autocomplete": autocomplete}
    if name == "email":
        return forms.EmailField(
            label=label, max_length=254, widget=forms.EmailInput(attrs=attrs), required=True
        )
    if name == "company_size":
        return forms.IntegerField(label=label, min_value=1, max_value=10_000_000, required=required)
    if name == "country":
        return forms.RegexField(
            label=label,
            regex=r"^[A-Za-z]{2}$",
            max_length=2,
            required=required,
            widget=forms.TextInput(attrs={**attrs, "size": 2}),
            error_messages={"invalid": _("Enter the two-letter country code, e.g. DE.")},
        )
    if name == "phone":
        attrs["type"] = "tel"
        return forms.CharField(
            label=label, max_length=40, required=required, widget=forms.TextInput(attrs=attrs)
        )
    max_length = 100 if name in ("first_name", "last_name") else 200
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.TextInput(attrs=attrs),
    )


class CaptureForm(forms.Form):
    """The public form of one capture form: the fields it asks for, a consent box when it
    has a consent text, and ``website``, a honeypot people never see and bots fill in."""

    required_css_class = "required"

    website = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, data: Any = None, *, form_def: PublicForm, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        honeypot = self.fields["website"]
        self.fields = {name: _capture_field(name, required) for name, required in form_def.fields}
        if form_def.consent_text:
            self.fields["consent"] = forms.BooleanField(
                label=form_def.consent_text,
                label_suffix="",
                required=True,
                error_messages={"required": _("Please tick the box to agree.")},
            )
        self.fields["website"] = honeypot

    def definition(self) -> list[dict[str, Any]]:
        """The visible fields as the embed loader renders them."""
        spec = []
        for name, field in self.fields.items():
            if name == "website":
                continue
            widget = field.widget
            input_type = getattr(widget, "input_type", "text")
            spec.append(
                {
                    "name": name,
                    "label": str(field.label),
                    "type": input_type,
                    "required": field.required,
                    "max_length": getattr(field, "max_length", None),
                    "autocomplete": widget.attrs.get("autocomplete", ""),
                }
            )
        return spec


class LeadFilterForm(forms.Form):
    """The lead list's filters, read from the query string. Every field is optional; a
    field with a bad value is left out of the filtering (its error is shown) and the
    others still apply."""

    SORTS = (("newest", _("Newest first")), ("score", _("Highest score first")))

    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("name, email or company")}
        ),
    )
    stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=[("", _("All stages")), *Stage.choices]
    )
    campaign = forms.TypedChoiceField(
        label=_("Campaign"), required=False, coerce=int, empty_value=None
    )
    source = forms.CharField(
        label=_("Source"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"list": "lead-sources", "placeholder": _("any")}),
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    grade = forms.ChoiceField(
        label=_("Grade"), required=False, choices=[("", _("All grades")), *Grade.choices]
    )
    created_from = forms.DateField(
        label=_("Created from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    created_to = forms.DateField(
        label=_("Created until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORTS)

    def __init__(
        self,
        *args: Any,
        campaigns: Sequence[tuple[int, str]] = (),
        owners: Sequence[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        campaign_field = self.fields["campaign"]
        assert isinstance(campaign_field, forms.TypedChoiceField)
        campaign_field.choices = [("", _("All campaigns")), *campaigns]
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ChoiceField)
        owner_field.choices = [
            ("", _("Anyone")),
            ("none", _("Nobody (unassigned)")),
            *((str(pk), name) for pk, name in owners),
        ]

    # Dates far outside this cannot be a lead's creation day (and would overflow when the
    # day is turned into a time zone's midnight).
    DATE_RANGE = (date(1900, 1, 1), date(2999, 12, 31))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("created_from", "created_to"):
            day = data.get(name)
            if day and not self.DATE_RANGE[0] <= day <= self.DATE_RANGE[1]:
                self.add_error(name, _("Enter a date between 1900 and 2999."))
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", _("The end date is before the start date."))
        return data

    def lead_filters(self) -> dict[str, Any]:
        """The valid, non-empty filters as ``selectors.lead_list`` keyword arguments."""
        data = getattr(self, "cleaned_data", {})
        owner = data.get("owner") or ""
        filters: dict[str, Any] = {
            "search": (data.get("q") or "").strip(),
            "stage": data.get("stage") or "",
            "campaign_id": data.get("campaign"),
            "source": (data.get("source") or "").strip(),
            "owner_id": int(owner) if owner.isdigit() else None,
            "unowned": owner == "none",
            "grade": data.get("grade") or "",
            "created_from": data.get("created_from"),
            "created_to": data.get("created_to"),
        }
        return {name: value for name, value in filters.items() if value}

    def sort_order(self) -> str:
        data = getattr(self, "cleaned_data", {})
        return str(data.get("sort") or "newest")


# --- CSV import ---------------------------------------------------------------------------


def _import_campaign_field() -> forms.ModelChoiceField[Any]:
    from marketing.models import Campaign

    return forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.order_by("-created_at"),
        required=False,
        empty_label=_("No campaign"),
        help_text=_("Each imported person gets a touchpoint in it; new people count as its leads."),
    )


def _import_mode_field() -> forms.ChoiceField:
    from marketing.models import ImportJob

    return forms.ChoiceField(
        label=_("People who are already leads"),
        choices=ImportJob.Mode.choices,
        initial=ImportJob.Mode.UPDATE,
        widget=forms.RadioSelect,
    )


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "A CSV export (Salesforce, HubSpot, Excel, Google Sheets), UTF-8 or Windows-1251, "
            "with column names in the first row."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"] = _import_campaign_field()
        self.fields["mode"] = _import_mode_field()


class ImportMappingForm(forms.Form):
    """One choice per column of the file (``column_<n>``), then campaign and mode."""

    def __init__(
        self, *args: Any, headers: Sequence[str], mapping: dict[str, str], **kwargs: Any
    ) -> None:
        from marketing.imports import IMPORT_FIELDS

        super().__init__(*args, **kwargs)
        self.headers = list(headers)
        choices = [("", _("— not imported —")), *IMPORT_FIELDS.items()]
        for position, header in enumerate(self.headers):
            self.fields[f"column_{position}"] = forms.ChoiceField(
                label=header, choices=choices, required=False, initial=mapping.get(header, "")
            )
        self.fields["campaign"] = _import_campaign_field()
        self.fields["mode"] = _import_mode_field()

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{position}"] for position in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        """``{header: lead field}`` as chosen (the initial mapping when unbound)."""
        data = getattr(self, "cleaned_data", None)
        return {
            header: str(
                data.get(f"column_{position}", "")
                if data is not None
                else self.fields[f"column_{position}"].initial
            )
            for position, header in enumerate(self.headers)
        }


# --- Scoring rules -----------------------------------------------------------------------

FIT_FIELD_CHOICES = [
    ("job_title", _("Job title")),
    ("company", _("Company")),
    ("company_size", _("Company size")),
    ("country", _("Country (two letters)")),
    ("source", _("Source")),
    ("email", _("Email")),
]


class ScoringRuleForm(forms.Form):
    """One rule of either axis; ``marketing.scoring.rule_clean`` checks what fits what."""

    name = forms.CharField(label=_("Name"), max_length=200)
    axis = forms.ChoiceField(
        label=_("Axis"), choices=ScoringRule.Axis.choices, widget=forms.HiddenInput
    )
    field = forms.ChoiceField(label=_("Lead field"), choices=FIT_FIELD_CHOICES, required=False)
    operator = forms.ChoiceField(
        label=_("Condition"),
        choices=[(op.value, op.label) for op in ScoringRule.Operator if op != "kind"],
        required=False,
    )
    value = forms.CharField(
        label=_("Value"),
        max_length=500,
        required=False,
        help_text=_("A number, a list (US, DE), a range (10..500) or a pattern."),
    )
    activity = forms.ChoiceField(
        label=_("Activity"),
        choices=[(kind.value, kind.label) for kind in Touchpoint.Kind if kind != "import"],
        required=False,
    )
    pattern = forms.CharField(
        label=_("Only when the page URL (or custom event name) matches"),
        max_length=300,
        required=False,
        help_text=_("A regular expression, e.g. /pricing or ^trial_started$. Empty: every one."),
    )
    points = forms.IntegerField(label=_("Points"), min_value=-1000, max_value=1000)
    cap = forms.IntegerField(
        label=_("At most this many points per lead"), min_value=0, required=False
    )
    period_cap = forms.IntegerField(
        label=_("At most this many points per period"), min_value=0, required=False
    )
    period_days = forms.IntegerField(
        label=_("Period (days)"), min_value=1, max_value=365, initial=1, required=False
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def rule_data(self) -> dict[str, Any]:
        """The cleaned form as the scoring service takes it."""
        data = dict(self.cleaned_data)
        if data["axis"] == ScoringRule.Axis.ENGAGEMENT:
            data["value"] = data.pop("activity")
        else:
            data.pop("activity")
        data["period_days"] = data.get("period_days") or 1
        data["field"] = data.get("field") or ""
        data["operator"] = data.get("operator") or ScoringRule.Operator.KIND
        return data

    @classmethod
    def initial_for(cls, rule: ScoringRule) -> dict[str, Any]:
        initial = {name: getattr(rule, name) for name in cls.base_fields if hasattr(rule, name)}
        if rule.axis == ScoringRule.Axis.ENGAGEMENT:
            initial["activity"], initial["value"] = rule.value, ""
        return initial


class ScoringConfigForm(forms.Form):
    grade_a = forms.IntegerField(label=_("Grade A from fit"))
    grade_b = forms.IntegerField(label=_("Grade B from fit"))
    grade_c = forms.IntegerField(label=_("Grade C from fit"))
    half_life_days = forms.IntegerField(
        label=_("Engagement half-life (days)"), min_value=1, max_value=3650
    )
    mql_min_grade = forms.ChoiceField(label=_("MQL: grade at least"), choices=Grade.choices)
    mql_min_engagement = forms.IntegerField(label=_("MQL: engagement at least"))
