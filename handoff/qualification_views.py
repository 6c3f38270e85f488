"""The qualification rules pages: the ordered list, editing, reordering, the preview."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from handoff import qualification
from handoff.forms import QualificationRuleForm
from handoff.models import QualificationRule, QualificationRuleChange
from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.models import User
from leadflow.permissions import MARKETING, role_required


def _user(request: HtmxHttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@role_required(*MARKETING)
@require_http_methods(["GET"])
def qualification_rules(request: HtmxHttpRequest) -> HttpResponse:
    """The rules in the order they are tried, what they would do with the MQLs waiting
    now, and the history of changes."""
    rules = list(QualificationRule.objects.select_related("team").order_by("position", "id"))
    active = [rule for rule in rules if rule.is_active]
    return render(
        request,
        "handoff/qualification.html",
        {
            "rules": rules,
            "waiting": qualification.waiting_mqls_preview(rules=active),
            "changes": QualificationRuleChange.objects.select_related("rule", "actor")[:15],
        },
    )


@role_required(*MARKETING)
@require_http_methods(["GET", "POST"])
def qualification_rule(request: HtmxHttpRequest, rule_id: int | None = None) -> HttpResponse:
    """Create or edit a rule; "Preview" counts what the changed rule set would do with the
    MQLs waiting now, "Save" records a new version."""
    rule = get_object_or_404(QualificationRule, pk=rule_id) if rule_id else None
    initial = {"min_engagement": 0, "is_active": True, "stages": ["mql"]}
    if rule is not None:
        initial = {name: getattr(rule, name) for name in QualificationRuleForm.base_fields}
    form = QualificationRuleForm(request.POST or None, initial=initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("action") == "preview":
                changed = qualification.rule_build(rule_id=rule_id, data=form.rule_data())
                others = [r for r in qualification.active_rules() if r.pk != rule_id]
                rules = sorted(
                    [*others, changed] if changed.is_active else others,
                    key=lambda r: (r.position if r.pk else 10**9, r.pk or 0),
                )
                preview = qualification.waiting_mqls_preview(rules=rules)
            else:
                qualification.rule_save(
                    actor=_user(request), rule_id=rule_id, data=form.rule_data()
                )
                messages.success(request, _("Qualification rule saved."))
                return redirect("handoff:qualification")
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    if preview is not None and request.htmx:
        return render(request, "handoff/qualification_rule.html#preview", {"preview": preview})
    return render(
        request,
        "handoff/qualification_rule.html",
        {
            "rule": rule,
            "form": form,
            "preview": preview,
            "changes": rule.changes.select_related("actor")[:10] if rule else [],
        },
        status=400 if form.errors else 200,
    )


@role_required(*MARKETING)
@require_http_methods(["POST"])
def qualification_rule_move(request: HtmxHttpRequest, rule_id: int) -> HttpResponse:
    try:
        qualification.rule_move(
            actor=_user(request), rule_id=rule_id, up=request.POST.get("direction") == "up"
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("handoff:qualification")
