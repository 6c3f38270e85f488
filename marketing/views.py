"""Marketing pages: campaigns, forms, the lead list, and the public capture form."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.models import User
from leadflow.permissions import MARKETING, role_required
from marketing import selectors, services
from marketing.forms import CampaignForm, CaptureForm, FormBuilderForm
from marketing.models import Form, Lead, Stage


def _user(request: HtmxHttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


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
    campaign = get_object_or_404(selectors.campaign_list(), pk=campaign_id)
    builder = FormBuilderForm(request.POST or None, initial={"campaign": campaign})
    if request.method == "POST" and builder.is_valid():
        created = services.form_create(created_by=_user(request), **builder.cleaned_data)
        messages.success(request, _("Form created. Share its link or embed it."))
        return redirect("marketing:campaign", campaign_id=created.campaign_id)
    return render(
        request,
        "marketing/campaign_detail.html",
        {
            "campaign": campaign,
            "forms": campaign.forms.all(),
            "builder": builder,
            "leads": selectors.lead_list(campaign_id=campaign.pk)[:50],
        },
    )


@role_required(*MARKETING)
def leads(request: HtmxHttpRequest) -> HttpResponse:
    stage = request.GET.get("stage", "")
    search = request.GET.get("q", "").strip()
    rows = selectors.lead_list(stage=stage if stage in Stage.values else "", search=search)
    context = {"leads": rows[:100], "stages": Stage.choices, "stage": stage, "q": search}
    if request.htmx:
        return render(request, "marketing/leads.html#lead-rows", context)
    return render(request, "marketing/leads.html", context)


@role_required(*MARKETING)
def lead_detail(request: HtmxHttpRequest, lead_id: int) -> HttpResponse:
    lead = get_object_or_404(Lead.objects.select_related("campaign", "owner"), pk=lead_id)
    return render(
        request,
        "marketing/lead_detail.html",
        {
            "lead": lead,
            "timeline": selectors.lead_timeline(lead=lead),
            "breakdown": services.lead_score_breakdown(lead_id=lead.pk),
        },
    )


def _wants_json(request: HtmxHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# The public endpoint has no session and sets no cookie, so CSRF does not apply; abuse
# is handled by the honeypot here (rate limits and origins come with the capture work).
@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def public_form(request: HtmxHttpRequest, key: str) -> HttpResponse:
    form_def = get_object_or_404(Form.objects.select_related("campaign"), key=key, is_active=True)
    capture = CaptureForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get("website"):
            # A bot filled the honeypot: answer like a success, store nothing.
            return _thanks(request, form_def)
        if capture.is_valid():
            data = capture.cleaned_data
            attribution = {
                key: str(request.POST.get(key, ""))
                for key in CaptureForm.ATTRIBUTION
                if request.POST.get(key)
            }
            attribution.setdefault("referrer", request.headers.get("Referer", ""))
            try:
                services.lead_capture(
                    form=form_def,
                    data=services.CaptureInput(
                        email=data["email"],
                        first_name=data["first_name"],
                        last_name=data["last_name"],
                        company=data["company"],
                        job_title=data["job_title"],
                        company_size=data["company_size"],
                        country=data["country"],
                        phone=data["phone"],
                        attribution=attribution,
                    ),
                )
            except ApplicationError as exc:
                capture.add_error(exc.field, exc.message)
            else:
                return _thanks(request, form_def)
        if _wants_json(request):
            return JsonResponse(
                {
                    "error": {
                        "code": "invalid",
                        "message": _("Please correct the highlighted fields."),
                        "fields": {f: [str(e) for e in errs] for f, errs in capture.errors.items()},
                    }
                },
                status=400,
            )
        status = 400
    else:
        status = 200
    return render(
        request,
        "marketing/public_form.html",
        {"form_def": form_def, "form": capture, "attribution": request.GET},
        status=status,
    )


def _thanks(request: HtmxHttpRequest, form_def: Form) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"message": form_def.thank_you_message}, status=201)
    return render(request, "marketing/thank_you.html", {"form_def": form_def})
