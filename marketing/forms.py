from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from marketing.models import Campaign, Channel


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
        label=_("Starts on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("Ends on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class FormBuilderForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    campaign = forms.ModelChoiceField(label=_("Campaign"), queryset=Campaign.objects.all())
    title = forms.CharField(label=_("Headline"), max_length=200, required=False)
    thank_you_message = forms.CharField(
        label=_("Thank-you message"), max_length=500, required=False
    )
    consent_text = forms.CharField(
        label=_("Consent text"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    fast_track = forms.BooleanField(
        label=_("Fast track: high intent (e.g. request a demo) makes a hot handoff at once"),
        required=False,
    )


class CaptureForm(forms.Form):
    """The public form. ``website`` is a honeypot: people never see it, bots fill it."""

    email = forms.EmailField(label=_("Work email"), max_length=254)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=200, required=False)
    company_size = forms.IntegerField(
        label=_("Company size"), min_value=1, max_value=10_000_000, required=False
    )
    country = forms.RegexField(
        label=_("Country (2 letters)"), regex=r"^[A-Za-z]{2}$", required=False, max_length=2
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    website = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    ATTRIBUTION = (
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "referrer",
        "landing_page",
    )
