"""Campaigns and their forms: creating and editing them, the rules their settings obey,
the form builder's fields, origins and redirect checked, consent wording versioned, and
the public form's cached copy dropped when either changes."""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from leadflow.errors import ApplicationError
from leadflow.models import User
from marketing import selectors
from marketing.models import (
    FORM_FIELD_CHOICES,
    Campaign,
    Channel,
    ConsentText,
    Form,
    default_form_fields,
)

# --- Campaigns -------------------------------------------------------------------------


def _campaign_check(
    *,
    name: str,
    channel: str,
    budget: Decimal,
    cost: Decimal,
    starts_on: date | None,
    ends_on: date | None,
) -> None:
    """The rules a campaign's settings obey, on creation and on every edit."""
    if not name.strip():
        raise ApplicationError(_("The campaign needs a name."), field="name")
    if channel not in Channel.values:
        raise ApplicationError(_("Choose a channel from the list."), field="channel")
    if budget < 0:
        raise ApplicationError(_("The budget cannot be negative."), field="budget")
    if cost < 0:
        raise ApplicationError(_("The cost cannot be negative."), field="cost")
    if starts_on and ends_on and ends_on < starts_on:
        raise ApplicationError(_("The campaign cannot end before it starts."), field="ends_on")


@transaction.atomic
def campaign_create(
    *,
    owner: User,
    name: str,
    channel: str,
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    budget: Decimal = Decimal(0),
    cost: Decimal = Decimal(0),
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Campaign:
    _campaign_check(
        name=name,
        channel=channel,
        budget=budget,
        cost=cost,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    return Campaign.objects.create(
        owner=owner,
        name=name.strip(),
        channel=channel,
        utm_source=utm_source.strip(),
        utm_medium=utm_medium.strip(),
        utm_campaign=utm_campaign.strip(),
        budget=budget,
        cost=cost,
        starts_on=starts_on,
        ends_on=ends_on,
    )


_CAMPAIGN_FIELDS = (
    "name",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "budget",
    "cost",
    "starts_on",
    "ends_on",
)


@transaction.atomic
def campaign_update(
    *,
    campaign_id: int,
    name: str,
    channel: str,
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    budget: Decimal = Decimal(0),
    cost: Decimal = Decimal(0),
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Campaign:
    """Change a campaign's settings. Its leads keep the attribution they were captured
    with; new captures use the new UTM source from the next submission on."""
    _campaign_check(
        name=name,
        channel=channel,
        budget=budget,
        cost=cost,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    campaign.name = name.strip()
    campaign.channel = channel
    campaign.utm_source = utm_source.strip()
    campaign.utm_medium = utm_medium.strip()
    campaign.utm_campaign = utm_campaign.strip()
    campaign.budget = budget
    campaign.cost = cost
    campaign.starts_on = starts_on
    campaign.ends_on = ends_on
    campaign.save(update_fields=list(_CAMPAIGN_FIELDS))
    # Public forms are cached with their campaign's source; let them see the new one.
    from marketing.selectors import public_form_forget

    for key in campaign.forms.values_list("key", flat=True):
        transaction.on_commit(functools.partial(public_form_forget, key=key))
    return campaign


# --- Forms -----------------------------------------------------------------------------


def _form_fields_clean(fields: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The builder's fields in display order (that of FORM_FIELD_CHOICES); the email is
    always asked and required, it is the person's identity."""
    wanted = {str(item.get("name", "")): bool(item.get("required")) for item in fields or []}
    unknown = sorted(set(wanted) - set(FORM_FIELD_CHOICES))
    if unknown:
        raise ApplicationError(
            _("A form cannot ask for “%(name)s”.") % {"name": unknown[0]}, field="fields"
        )
    wanted["email"] = True
    return [
        {"name": name, "required": wanted[name]} for name in FORM_FIELD_CHOICES if name in wanted
    ]


def _form_origins_clean(text: str) -> str:
    """One origin a line, as a browser sends it (``https://www.example.com[:port]``)."""
    origins: list[str] = []
    for origin in selectors.origins_parse(text):
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username
            or parts.password
            or parts.path
            or parts.query
            or parts.fragment
        ):
            raise ApplicationError(
                _(
                    "“%(origin)s” is not an origin: write it like https://www.example.com, "
                    "one a line, without a path."
                )
                % {"origin": origin},
                field="allowed_origins",
            )
        if origin not in origins:
            origins.append(origin)
    return "\n".join(origins)


def _form_redirect_clean(url: str) -> str:
    url = url.strip()
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise ApplicationError(
            _("The redirect must be an http or https address."), field="redirect_url"
        )
    return url


def _form_consent_set(form: Form, text: str) -> None:
    """Point the form at a new version of its consent text when the wording changed; the
    old versions stay, since consent records point at the exact text people agreed to."""
    text = text.strip()
    current = form.consent.text if form.consent else ""
    if text == current:
        return
    form.consent_text = text
    if not text:
        form.consent = None
        return
    last = ConsentText.objects.filter(form=form).aggregate(last=Max("version"))["last"] or 0
    form.consent = ConsentText.objects.create(form=form, version=last + 1, text=text)


def _form_forget_on_commit(form: Form) -> None:
    key = form.key
    transaction.on_commit(lambda: selectors.public_form_forget(key=key))


@transaction.atomic
def form_create(
    *,
    created_by: User,
    campaign: Campaign,
    name: str,
    title: str = "",
    thank_you_message: str = "",
    consent_text: str = "",
    fields: list[dict[str, Any]] | None = None,
    redirect_url: str = "",
    allowed_origins: str = "",
    fast_track: bool = False,
) -> Form:
    form = Form(
        created_by=created_by,
        campaign=campaign,
        name=name,
        title=title or name,
        fields=_form_fields_clean(fields if fields is not None else default_form_fields()),
        redirect_url=_form_redirect_clean(redirect_url),
        allowed_origins=_form_origins_clean(allowed_origins),
        fast_track=fast_track,
    )
    if thank_you_message.strip():
        form.thank_you_message = thank_you_message.strip()
    form.save()
    if consent_text.strip():
        _form_consent_set(form, consent_text)
        form.save(update_fields=["consent", "consent_text"])
    _form_forget_on_commit(form)
    return form


@transaction.atomic
def form_update(
    *,
    form_id: int,
    name: str,
    title: str,
    thank_you_message: str,
    consent_text: str,
    fields: list[dict[str, Any]],
    redirect_url: str,
    allowed_origins: str,
    fast_track: bool,
    is_active: bool,
) -> Form:
    """Change a form; a changed consent wording becomes a new version. The public endpoint
    sees the change as soon as it commits (its cached copy is dropped then)."""
    # Locked: two editors saving new consent wording at once must not both take version n+1.
    form = Form.objects.select_for_update(of=("self",)).select_related("consent").get(pk=form_id)
    form.name = name
    form.title = title or name
    form.thank_you_message = thank_you_message.strip() or _("Thank you! We will be in touch.")
    form.fields = _form_fields_clean(fields)
    form.redirect_url = _form_redirect_clean(redirect_url)
    form.allowed_origins = _form_origins_clean(allowed_origins)
    form.fast_track = fast_track
    form.is_active = is_active
    _form_consent_set(form, consent_text)
    form.save(
        update_fields=[
            "name",
            "title",
            "thank_you_message",
            "fields",
            "redirect_url",
            "allowed_origins",
            "fast_track",
            "is_active",
            "consent",
            "consent_text",
        ]
    )
    _form_forget_on_commit(form)
    return form
