"""Campaign pages: the list with its "new campaign" form, a campaign with its forms and
latest leads, its edit page, and the form builder (a form's share link and embed snippet,
its edit page)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.permissions import MARKETING, role_required
from marketing import selectors, services
from marketing.forms import CampaignForm, FormBuilderForm
from marketing.models import Campaign, Form
from marketing.views.base import _user


@role_required(*MARKETING)
@require_http_methods(["GET", "POST"])
def campaigns(request: HtmxHttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(owner=_user(request), **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, _("Campaign created."))
            return redirect("marketing:campaign", campaign_id=campaign.pk)
    return render(
        request,
        "marketing/campaigns.html",
        {"campaigns": selectors.campaign_list(), "form": form},
    )


@role_required(*MARKETING)
@require_http_methods(["GET", "POST"])
def campaign_detail(request: HtmxHttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(campaign_id=campaign_id)
    builder = FormBuilderForm(request.POST or None)
    if request.method == "POST" and builder.is_valid():
        try:
            created = services.form_create(
                created_by=_user(request), campaign=campaign, **builder.service_arguments()
            )
        except ApplicationError as exc:
            builder.add_error(exc.field if exc.field in builder.fields else None, exc.message)
        else:
            messages.success(request, _("Form created. Share its link or embed it."))
            url = reverse("marketing:campaign", args=[campaign.pk])
            return redirect(f"{url}#form-{created.pk}")
    forms = list(campaign.forms.all())
    return render(
        request,
        "marketing/campaign_detail.html",
        {
            "campaign": campaign,
            "forms": [(form, _form_share(request, form)) for form in forms],
            "builder": builder,
            "leads": selectors.lead_list(campaign_id=campaign.pk)[:10],
        },
        status=400 if builder.errors else 200,
    )


@role_required(*MARKETING)
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HtmxHttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    initial = {name: getattr(campaign, name) for name in CampaignForm.base_fields}
    form = CampaignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(campaign_id=campaign.pk, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("marketing:campaign", campaign_id=campaign.pk)
    return render(
        request,
        "marketing/campaign_edit.html",
        {"campaign": campaign, "form": form},
        status=400 if form.errors else 200,
    )


# --- Forms: the builder ----------------------------------------------------------------


def _form_share(request: HtmxHttpRequest, form: Form) -> dict[str, str]:
    """The hosted page's address and the embed snippet of a form, for the marketer."""
    # The loader's plain name, not the hashed one of the manifest storage: a snippet lives
    # on other sites for years and must survive our deployments.
    loader = request.build_absolute_uri(f"{settings.STATIC_URL}js/embed.js")
    path = reverse("marketing:public_form", args=[form.key])
    return {
        "hosted_path": path,
        "hosted_url": request.build_absolute_uri(path),
        "snippet": (
            f'<div data-leadflow-form="{form.key}"></div>\n<script src="{loader}" async></script>'
        ),
    }


@role_required(*MARKETING)
@require_http_methods(["GET", "POST"])
def form_edit(request: HtmxHttpRequest, form_id: int) -> HttpResponse:
    form = get_object_or_404(Form.objects.select_related("campaign", "consent"), pk=form_id)
    builder = FormBuilderForm(
        request.POST or None, initial=FormBuilderForm.initial_for(form), editing=True
    )
    if request.method == "POST" and builder.is_valid():
        try:
            services.form_update(form_id=form.pk, **builder.service_arguments())
        except ApplicationError as exc:
            builder.add_error(exc.field if exc.field in builder.fields else None, exc.message)
        else:
            messages.success(request, _("Form saved. The hosted page and embeds use it now."))
            return redirect("marketing:form_edit", form_id=form.pk)
    return render(
        request,
        "marketing/form_edit.html",
        {
            "form_def": form,
            "builder": builder,
            "share": _form_share(request, form),
            "consent_versions": form.consent_texts.all(),
        },
        status=400 if builder.errors else 200,
    )
