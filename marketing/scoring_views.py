"""The scoring pages: rules and settings, their what-if preview, the re-score progress."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.models import User
from leadflow.permissions import MARKETING, role_required
from marketing import scoring
from marketing.forms import ScoringConfigForm, ScoringRuleForm
from marketing.models import RescoreJob, ScoringChange, ScoringRule, Touchpoint


def _user(request: HtmxHttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _page_context() -> dict[str, Any]:
    rules = list(ScoringRule.objects.order_by("axis", "-is_active", "position", "id"))
    return {
        "fit_rules": [rule for rule in rules if rule.axis == ScoringRule.Axis.FIT],
        "engagement_rules": [rule for rule in rules if rule.axis == ScoringRule.Axis.ENGAGEMENT],
        "job": RescoreJob.objects.filter(kind=RescoreJob.Kind.RULES).first(),
        "changes": ScoringChange.objects.select_related("rule", "actor")[:15],
        "cfg": scoring.config(),
        "kinds": Touchpoint.Kind.choices,
    }


@role_required(*MARKETING)
@require_http_methods(["GET", "POST"])
def scoring_page(request: HtmxHttpRequest) -> HttpResponse:
    """The rule set: settings (grade bands, half-life, thresholds), both axes' rules, the
    latest re-score and the history of changes. POST changes the settings."""
    cfg = scoring.config()
    form = ScoringConfigForm(
        request.POST or None, initial={name: getattr(cfg, name) for name in scoring.CONFIG_FIELDS}
    )
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("action") == "preview":
                preview = scoring.whatif_config(data=form.cleaned_data)
            else:
                scoring.config_save(actor=_user(request), data=form.cleaned_data)
                messages.success(request, _("Settings saved. Every lead is being re-scored."))
                return redirect("marketing:scoring")
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    if preview is not None and request.htmx:
        return render(request, "marketing/scoring.html#preview", {"preview": preview})
    return render(
        request,
        "marketing/scoring.html",
        {**_page_context(), "form": form, "preview": preview},
        status=400 if form.errors else 200,
    )


@role_required(*MARKETING)
@require_http_methods(["GET", "POST"])
def scoring_rule(request: HtmxHttpRequest, rule_id: int | None = None) -> HttpResponse:
    """Create or edit one rule. "Preview" shows on the real data what saving would change
    (grades, new MQLs, new handoffs); "Save" records a new version and re-scores."""
    rule = get_object_or_404(ScoringRule, pk=rule_id) if rule_id else None
    if rule is not None:
        initial = ScoringRuleForm.initial_for(rule)
    else:
        axis = request.GET.get("axis", ScoringRule.Axis.FIT)
        initial = {"axis": axis if axis in ScoringRule.Axis.values else "fit", "is_active": True}
    form = ScoringRuleForm(request.POST or None, initial=initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.rule_data()
        try:
            if request.POST.get("action") == "preview":
                preview = scoring.whatif_rule(rule_id=rule_id, data=data)
            else:
                scoring.rule_save(actor=_user(request), rule_id=rule_id, data=data)
                messages.success(request, _("Rule saved. Every lead is being re-scored."))
                return redirect("marketing:scoring")
        except ApplicationError as exc:
            field = exc.field
            if field == "value" and data["axis"] == ScoringRule.Axis.ENGAGEMENT:
                field = "activity"  # an engagement rule's value is its activity
            form.add_error(field if field in form.fields else None, exc.message)
    if preview is not None and request.htmx:
        return render(request, "marketing/scoring_rule.html#preview", {"preview": preview})
    return render(
        request,
        "marketing/scoring_rule.html",
        {
            "rule": rule,
            "form": form,
            "preview": preview,
            "axis": form["axis"].value(),
            "changes": rule.changes.select_related("actor")[:10] if rule else [],
        },
        status=400 if form.errors else 200,
    )


@role_required(*MARKETING)
@require_http_methods(["GET"])
def scoring_job(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The re-score progress panel; the rules page polls it while the job runs."""
    job = get_object_or_404(RescoreJob, pk=job_id)
    response = render(request, "marketing/scoring.html#job", {"job": job})
    add_never_cache_headers(response)
    return response
