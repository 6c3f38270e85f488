"""Pages anybody may open, without an account: the public form endpoint (the hosted page,
submissions with their origin, size and rate checks, CORS, the embed loader's definition)
and the unsubscribe page of the links in our emails."""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow import ratelimit
from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from marketing import privacy, selectors, services
from marketing.forms import CaptureForm
from marketing.selectors import PublicForm

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


# --- The unsubscribe page --------------------------------------------------------------


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
