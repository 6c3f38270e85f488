"""Marketing pages: campaigns, forms, the lead list, and the public capture form."""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow import ratelimit, uploads
from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.models import User
from leadflow.permissions import MARKETING, role_required
from leadflow.services import audit_record
from marketing import duplicates, imports, predictive, privacy, scoring, selectors, services
from marketing.forms import (
    CampaignForm,
    CaptureForm,
    FormBuilderForm,
    ImportMappingForm,
    ImportUploadForm,
    LeadFilterForm,
)
from marketing.models import Campaign, Form, ImportJob, Lead
from marketing.selectors import PublicForm


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
def leads(request: HtmxHttpRequest) -> HttpResponse:
    """The lead list. Filters, sort and the page cursor all live in the query string, so
    a page can be bookmarked and the filters survive paging; htmx gets the rows only."""
    filters = LeadFilterForm(
        request.GET,
        campaigns=selectors.campaign_options(),
        owners=selectors.lead_owner_options(),
    )
    filters.is_valid()  # a bad field is left out of the filtering and shows its error
    chosen = filters.lead_filters()
    rows = selectors.lead_list(**chosen)
    page = selectors.lead_page(
        leads=rows, sort=filters.sort_order(), cursor=request.GET.get("cursor", "")
    )
    context = {
        "filters": filters,
        "filtered": bool(chosen),
        "page": page,
        "leads": page.leads,
        "count": selectors.lead_count(leads=rows, filtered=bool(chosen), page=page),
    }
    # A history restore (back button after the cache expired) needs the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "marketing/leads.html#lead-rows", context)
    context["sources"] = selectors.lead_source_options()
    return render(request, "marketing/leads.html", context)


@role_required(*MARKETING)
def lead_detail(request: HtmxHttpRequest, lead_id: int) -> HttpResponse:
    lead = get_object_or_404(
        Lead.objects.select_related(
            "campaign",
            "owner",
            "first_touch__campaign",
            "first_touch__form",
            "last_touch__campaign",
            "last_touch__form",
        ),
        pk=lead_id,
    )
    first_touch, last_touch = selectors.lead_touches(lead=lead)
    return render(
        request,
        "marketing/lead_detail.html",
        {
            "lead": lead,
            "timeline": selectors.lead_timeline(lead=lead),
            "first_touch": first_touch,
            "last_touch": last_touch,
            "score": scoring.lead_score_explain(lead_id=lead.pk),
            "score_history": scoring.lead_score_history(lead_id=lead.pk),
            "prediction": predictive.lead_prediction(lead=lead),
            "chart_labels": {"fit": _("Fit"), "engagement": _("Engagement")},
            "privacy": privacy.lead_privacy(lead=lead, base_url=request.build_absolute_uri("/")),
        },
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


# --- The public endpoint ---------------------------------------------------------------
#
# /f/<key>/ is the hosted page (GET), the submission endpoint (POST: form-encoded or JSON)
# and its CORS preflight (OPTIONS); /f/<key>/definition/ is what the embed loader renders.
# No session and no cookie, so no CSRF token; browsers on other sites get through only
# from the form's allowed origins. Order of the checks on a POST: origin (403), size (413),
# rate limits (429), honeypot (a fake success), fields (400), suppression (a fake success).

# Hidden fields the hosted page and the loader carry through a submission.
_HIDDEN_FIELDS = (*services.ATTRIBUTION_FIELDS, "idempotency_key", "consent_version")


def _wants_json(request: HtmxHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or (
        request.content_type == "application/json"
    )


def _cross_origin(request: HtmxHttpRequest, form_def: PublicForm) -> tuple[str, bool]:
    """(the caller's origin if it is another site's, "" if it is ours; may it use the form)."""
    origin = request.headers.get("Origin", "").strip()
    own = f"{request.scheme}://{request.get_host()}".lower()
    if not origin or origin.lower() == own:
        return "", True
    return origin, origin.lower().rstrip("/") in form_def.allowed_origins


def _cors(response: HttpResponse, origin: str, *, preflight: bool = False) -> HttpResponse:
    # The answer depends on Origin, whether or not this one gets the header.
    patch_vary_headers(response, ["Origin"])
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        if preflight:
            response["Access-Control-Allow-Methods"] = "GET, POST"
            response["Access-Control-Allow-Headers"] = "Content-Type, Idempotency-Key"
            response["Access-Control-Max-Age"] = "600"
    return response


def _error_json(
    code: str, message: str, *, status: int, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    """The public endpoint's one error shape, for every 4xx."""
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


def _render_form(
    request: HtmxHttpRequest,
    form_def: PublicForm,
    capture: CaptureForm,
    *,
    hidden: dict[str, str],
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    response = render(
        request,
        "marketing/public_form.html",
        {"form_def": form_def, "form": capture, "hidden": hidden, "error": error},
        status=status,
    )
    add_never_cache_headers(response)  # each rendering has its own idempotency key
    return response


def _refuse(
    request: HtmxHttpRequest,
    form_def: PublicForm,
    *,
    status: int,
    code: str,
    message: str,
    data: dict[str, str] | None = None,
) -> HttpResponse:
    """A refused submission: JSON, or the form again with the message and what was typed."""
    if _wants_json(request):
        return _error_json(code, message, status=status)
    capture = CaptureForm(form_def=form_def, initial=data or {})
    hidden = {name: (data or {}).get(name, "") for name in _HIDDEN_FIELDS}
    return _render_form(request, form_def, capture, hidden=hidden, error=message, status=status)


def _submitted(request: HtmxHttpRequest) -> dict[str, str]:
    """The submitted fields as strings, from a JSON object or a form-encoded body."""
    if request.content_type == "application/json":
        payload = json.loads(request.body or b"{}")
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        data: dict[str, str] = {}
        for name, value in payload.items():
            if isinstance(value, bool):
                data[str(name)] = "on" if value else ""
            elif isinstance(value, str | int | float):
                data[str(name)] = str(value)
        return data
    return {name: request.POST.get(name, "") for name in request.POST}


def _thanks(request: HtmxHttpRequest, form_def: PublicForm) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {"message": form_def.thank_you_message, "redirect_url": form_def.redirect_url},
            status=201,
        )
    if form_def.redirect_url:
        response = HttpResponseRedirect(form_def.redirect_url)
        response.status_code = 303  # "see other": the browser GETs the page, never re-posts
        return response
    # No request context: the page needs no user, menu or messages, and the context
    # processors would cost the hot path more than the rendering itself.
    return HttpResponse(render_to_string("marketing/thank_you.html", {"form_def": form_def}))


def _public_form_or_404(request: HtmxHttpRequest, key: str) -> PublicForm | HttpResponse:
    form_def = selectors.public_form_get(key=key)
    if form_def is not None:
        return form_def
    if _wants_json(request) or request.method == "OPTIONS":
        return _error_json("not_found", _("This form does not exist."), status=404)
    raise Http404


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def public_form(request: HtmxHttpRequest, key: str) -> HttpResponse:
    form_def = _public_form_or_404(request, key)
    if isinstance(form_def, HttpResponse):
        return form_def
    origin, allowed = _cross_origin(request, form_def)
    if not allowed:
        message = _("This form cannot be used on %(origin)s.") % {"origin": origin}
        return _cors(_error_json("origin_not_allowed", message, status=403), "")
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), origin, preflight=True)
    if request.method == "GET":
        hidden = {name: request.GET.get(name, "") for name in services.ATTRIBUTION_FIELDS}
        hidden["referrer"] = hidden["referrer"] or request.headers.get("Referer", "")
        hidden["landing_page"] = hidden["landing_page"] or request.build_absolute_uri()
        hidden["idempotency_key"] = secrets.token_urlsafe(18)
        hidden["consent_version"] = str(form_def.consent_version or "")
        form = CaptureForm(form_def=form_def)
        return _embeddable(_render_form(request, form_def, form, hidden=hidden), form_def)
    return _cors(_embeddable(_public_submit(request, form_def), form_def), origin)


def _embeddable(response: HttpResponse, form_def: PublicForm) -> HttpResponse:
    """Widen the page's CSP for the hosted form: the form's allowed origins may frame it,
    and the browser may follow its redirect after a post (form-action covers redirects).
    The attribute is the one Django's ``csp_override`` sets; this policy depends on the form."""
    policy = {**settings.SECURE_CSP}
    policy["frame-ancestors"] = [CSP.SELF, *sorted(form_def.allowed_origins)]
    if form_def.redirect_url:
        target = urlsplit(form_def.redirect_url)
        policy["form-action"] = [CSP.SELF, f"{target.scheme}://{target.netloc}"]
    response._csp_config = policy  # type: ignore[attr-defined]
    return response


def _public_submit(request: HtmxHttpRequest, form_def: PublicForm) -> HttpResponse:
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > settings.LEADFLOW_CAPTURE_MAX_BYTES:
        # Refused before the body is read: a big body costs us nothing.
        message = _("The submission is too large.")
        return _refuse(request, form_def, status=413, code="too_large", message=message)
    ip = ratelimit.client_ip(request)
    wait = ratelimit.hit(
        ratelimit.Limit("capture-ip", ip, settings.LEADFLOW_CAPTURE_RATE_PER_IP),
        ratelimit.Limit("capture-form", form_def.key, settings.LEADFLOW_CAPTURE_RATE_PER_FORM),
    )
    try:
        data = _submitted(request)
    except ValueError:
        message = _("The submission could not be read. Please try again.")
        return _refuse(request, form_def, status=400, code="unreadable", message=message)
    if wait:
        message = _("Too many submissions. Please try again in %(seconds)s seconds.") % {
            "seconds": wait
        }
        response = _refuse(
            request, form_def, status=429, code="rate_limited", message=message, data=data
        )
        response["Retry-After"] = str(wait)
        return response
    if data.get("website"):
        # A bot filled the honeypot: answer like a success, store nothing.
        return _thanks(request, form_def)
    capture = CaptureForm(data, form_def=form_def)
    if capture.is_valid():
        fields = capture.cleaned_data
        version = data.get("consent_version", "")
        try:
            services.lead_capture(
                form=form_def,
                data=services.CaptureInput(
                    email=fields["email"],
                    first_name=fields.get("first_name") or "",
                    last_name=fields.get("last_name") or "",
                    company=fields.get("company") or "",
                    job_title=fields.get("job_title") or "",
                    company_size=fields.get("company_size"),
                    country=fields.get("country") or "",
                    phone=fields.get("phone") or "",
                    attribution={
                        name: data[name] for name in services.ATTRIBUTION_FIELDS if name in data
                    },
                    consent_given=bool(fields.get("consent")),
                    consent_version=int(version) if version.isdigit() else None,
                ),
                ip=ip,
                idempotency_key=(
                    request.headers.get("Idempotency-Key") or data.get("idempotency_key") or None
                ),
            )
        except ApplicationError as exc:
            capture.add_error(exc.field if exc.field in capture.fields else None, exc.message)
        else:
            # Suppressed addresses and repeats get the same answer as a stored submission.
            return _thanks(request, form_def)
    message = _("Please correct the highlighted fields.")
    if _wants_json(request):
        errors = {name: [str(e) for e in errs] for name, errs in capture.errors.items()}
        return _error_json("invalid", message, status=400, fields=errors)
    hidden = {name: data.get(name, "") for name in _HIDDEN_FIELDS}
    return _render_form(request, form_def, capture, hidden=hidden, error=message, status=400)


@csrf_exempt
@require_http_methods(["GET", "OPTIONS"])
def public_form_definition(request: HtmxHttpRequest, key: str) -> HttpResponse:
    """The form as the embed loader renders it: fields with translated labels, consent
    text and version, the thank-you message or redirect, and where to post."""
    form_def = selectors.public_form_get(key=key)
    if form_def is None:
        return _error_json("not_found", _("This form does not exist."), status=404)
    origin, allowed = _cross_origin(request, form_def)
    if not allowed:
        message = _("This form cannot be used on %(origin)s.") % {"origin": origin}
        return _cors(_error_json("origin_not_allowed", message, status=403), "")
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), origin, preflight=True)
    capture = CaptureForm(form_def=form_def)
    consent = (
        {"version": form_def.consent_version, "text": form_def.consent_text}
        if form_def.consent_id
        else None
    )
    response = JsonResponse(
        {
            "key": form_def.key,
            "title": form_def.title,
            "action": request.build_absolute_uri(reverse("marketing:public_form", args=[key])),
            "fields": [f for f in capture.definition() if f["name"] != "consent"],
            "consent": consent,
            "thank_you_message": form_def.thank_you_message,
            "redirect_url": form_def.redirect_url,
            "texts": {
                "submit": _("Send"),
                "sending": _("Sending…"),
                "failed": _("The form could not be sent. Please try again."),
                "honeypot": _("Leave this empty"),
            },
        }
    )
    response["Cache-Control"] = "no-cache"
    return _cors(response, origin)


# --- Duplicates and the public unsubscribe page -----------------------------------------


def _positive_int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 2**63 else None


@role_required(*MARKETING)
def duplicates_list(request: HtmxHttpRequest) -> HttpResponse:
    lead_id = _positive_int(request.GET.get("lead"))
    result, error = None, ""
    try:
        result = duplicates.duplicate_pairs(
            page=_positive_int(request.GET.get("page")) or 1,
            lead_id=lead_id,
            fresh=request.GET.get("refresh") == "1",
        )
    except ApplicationError as exc:
        error = exc.message
    context = {
        "result": result,
        "error": error,
        "lead": Lead.objects.filter(pk=lead_id).first() if lead_id else None,
    }
    if request.htmx:
        return render(request, "marketing/duplicates.html#pairs", context)
    return render(request, "marketing/duplicates.html", context)


# No login and no CSRF token: the signed token in the URL is the credential, and mail
# clients' one-click unsubscribe (RFC 8058, List-Unsubscribe-Post) posts without cookies.
# GET only asks, so link scanners that open every URL in a message unsubscribe nobody.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HtmxHttpRequest, token: str) -> HttpResponse:
    try:
        parsed = privacy.unsubscribe_token_read(token)
    except ApplicationError as exc:
        return render(request, "marketing/unsubscribe.html", {"error": exc.message}, status=400)
    if request.method == "POST":
        privacy.consent_withdraw(lead_id=parsed.lead_id, email_hash_value=parsed.email_hash)
        return render(request, "marketing/unsubscribe.html", {"done": True})
    return render(
        request,
        "marketing/unsubscribe.html",
        {"token": token, "already": privacy.hash_suppressed(parsed.email_hash)},
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


# --- CSV import -----------------------------------------------------------------------------


@role_required(*MARKETING)
@require_http_methods(["GET", "POST"])
def imports_page(request: HtmxHttpRequest) -> HttpResponse:
    """Upload a file, and the list of recent imports."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if uploads.upload_refused(request):
        # The upload handler stopped reading the file; say why it is missing.
        form.errors["file"] = form.error_class([imports.import_too_large_message()])
    elif request.method == "POST" and form.is_valid():
        try:
            job = imports.import_create(
                created_by=_user(request),
                upload=form.cleaned_data["file"],
                campaign=form.cleaned_data["campaign"],
                mode=form.cleaned_data["mode"],
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("marketing:import", job_id=job.pk)
    return render(
        request,
        "marketing/import_list.html",
        {"form": form, "jobs": imports.import_list()},
        status=400 if form.errors else 200,
    )


def _import_or_404(job_id: int) -> ImportJob:
    job = imports.import_get(job_id=job_id)
    if job is None:
        raise Http404
    return job


@role_required(*MARKETING)
@require_http_methods(["GET", "POST"])
def import_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """Mapping and preview before the start; progress and result after it."""
    job = _import_or_404(job_id)
    if job.status != ImportJob.Status.UPLOADED:
        if request.method == "POST":
            return redirect("marketing:import", job_id=job.pk)
        return render(request, "marketing/import_progress.html", _import_progress_context(job))
    try:
        layout = imports.import_layout(job=job)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("marketing:imports")
    form = ImportMappingForm(
        request.POST or None,
        headers=layout.headers,
        mapping=job.mapping,
        initial={"campaign": job.campaign, "mode": job.mode},
    )
    if request.method == "POST" and form.is_valid() and request.POST.get("action") == "start":
        try:
            imports.import_start(
                job_id=job.pk,
                mapping=form.mapping(),
                mode=form.cleaned_data["mode"],
                campaign=form.cleaned_data["campaign"],
                language=translation.get_language() or "",
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("marketing:import", job_id=job.pk)
    preview = imports.import_preview(job=job, mapping=form.mapping())
    return render(
        request,
        "marketing/import_mapping.html",
        {
            "job": job,
            "form": form,
            "preview": preview,
            "columns": list(zip(form.column_fields(), preview.samples, strict=True)),
            "mode": _import_mode(form, job),
        },
        status=400 if form.errors else 200,
    )


def _import_mode(form: ImportMappingForm, job: ImportJob) -> str:
    data = getattr(form, "cleaned_data", None) or {}
    return str(data.get("mode") or job.mode)


@role_required(*MARKETING)
@require_http_methods(["POST"])
def import_preview(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The preview table for the mapping being edited (htmx, on every change)."""
    job = _import_or_404(job_id)
    if job.status != ImportJob.Status.UPLOADED:
        return HttpResponse(status=409)
    layout = imports.import_layout(job=job)
    form = ImportMappingForm(request.POST, headers=layout.headers, mapping=job.mapping)
    form.is_valid()
    preview = imports.import_preview(job=job, mapping=form.mapping())
    return render(
        request,
        "marketing/import_mapping.html#preview",
        {"job": job, "preview": preview, "mode": _import_mode(form, job)},
    )


def _import_progress_context(job: ImportJob) -> dict[str, object]:
    active = job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    return {
        "job": job,
        "active": active,
        "stalled": imports.import_is_stalled(job=job),
        "rejected": imports.import_report_head(job=job)
        if job.status == ImportJob.Status.DONE
        else [],
    }


@role_required(*MARKETING)
def import_progress(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The job's progress panel; the page polls it every second while the job runs."""
    job = _import_or_404(job_id)
    context = _import_progress_context(job)
    if request.htmx:
        response = render(request, "marketing/import_progress.html#progress", context)
        add_never_cache_headers(response)
        return response
    return redirect("marketing:import", job_id=job.pk)


@role_required(*MARKETING)
@require_http_methods(["POST"])
def import_retry(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _import_or_404(job_id)
    try:
        imports.import_retry(job_id=job.pk, language=translation.get_language() or "")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The import is queued again."))
    return redirect("marketing:import", job_id=job.pk)


@role_required(*MARKETING)
def import_report(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The rejected rows of a finished job, as CSV, with the reason for each."""
    job = _import_or_404(job_id)
    if not job.errors_file:
        raise Http404
    stem = job.original_name.rsplit(".", 1)[0] or "import"
    audit_record(
        actor=_user(request),
        action="import.report_download",
        subject_type="marketing.importjob",
        subject_id=job.pk,
        ip=ratelimit.client_ip(request),
    )
    # Streamed from the storage; role_required's type says HttpResponse for every view.
    return FileResponse(  # type: ignore[return-value]
        job.errors_file.open("rb"),
        as_attachment=True,
        filename=_("%(name)s - rejected rows.csv") % {"name": stem},
        content_type="text/csv; charset=utf-8",
    )
