"""Sales-side handoff pages: My queue and a handoff (the dashboard: dashboard_views)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from handoff import selectors, services
from handoff.forms import (
    BusinessHoursForm,
    ConvertForm,
    HolidayForm,
    PeriodForm,
    ReassignForm,
    RejectForm,
    TeamRoutingForm,
    TouchForm,
)
from handoff.models import Handoff, RejectReason
from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.models import Role, User
from leadflow.permissions import MARKETING, SALES, role_required
from leadflow.ratelimit import client_ip
from marketing import duplicates
from marketing.models import Lead
from marketing.services import lead_score_breakdown
from sales import selectors as sales_selectors
from sales.forms import CURRENCIES


def _user(request: HtmxHttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@role_required(*SALES)
def queue(request: HtmxHttpRequest) -> HttpResponse:
    context = {
        "queue": selectors.handoff_queue_for(_user(request)),
        "now": timezone.now(),
        "reasons": RejectReason.choices,
    }
    if request.htmx:
        return render(request, "handoff/queue.html#queue", context)
    return render(request, "handoff/queue.html", context)


@role_required(Role.REP)
@require_POST
def claim_next(request: HtmxHttpRequest) -> HttpResponse:
    try:
        handoff_id = services.handoff_claim_next(user=_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if handoff_id is None:
            messages.info(request, _("The team pool is empty."))
        else:
            messages.success(request, _("The lead is yours."))
    if request.htmx:
        return queue(request)
    return redirect("handoff:queue")


def _after_action(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    """htmx actions from the queue re-render the queue; plain posts go to the handoff."""
    if request.htmx and request.headers.get("HX-Target") == "queue":
        return queue(request)
    return redirect("handoff:detail", handoff_id=handoff_id)


def _run(request: HtmxHttpRequest, handoff_id: int, action: str) -> HttpResponse:
    user = _user(request)
    selectors.handoff_get_for(user=user, handoff_id=handoff_id)  # 404 unless visible
    try:
        if action == "claim":
            services.handoff_claim(handoff_id=handoff_id, user=user)
            messages.success(request, _("The lead is yours."))
        elif action == "accept":
            services.handoff_accept(handoff_id=handoff_id, user=user)
            messages.success(request, _("Accepted. Make the first touch."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _after_action(request, handoff_id)


@role_required(Role.REP)
@require_POST
def claim(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    return _run(request, handoff_id, "claim")


@role_required(Role.REP)
@require_POST
def accept(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    return _run(request, handoff_id, "accept")


@role_required(*SALES)
def detail(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    user = _user(request)
    handoff = selectors.handoff_get_for(user=user, handoff_id=handoff_id)
    return _detail(request, handoff)


def _detail(
    request: HttpRequest, handoff: Handoff, *, status: int = 200, **bound: Form
) -> HttpResponse:
    """The handoff page; ``bound`` replaces a blank form (by its context name) with one
    that was posted and failed, so its errors show."""
    lead = handoff.lead
    forms: dict[str, Form] = {
        "reject_form": RejectForm(),
        "touch_form": TouchForm(),
        **bound,
    }
    return render(
        request,
        "handoff/detail.html",
        {
            "handoff": handoff,
            "lead": lead,
            "breakdown": lead_score_breakdown(lead_id=lead.pk),
            "is_mine": handoff.assigned_to_id == request.user.pk,
            **forms,
        },
        status=status,
    )


FormAction = Callable[[Handoff, User, dict[str, Any]], HttpResponse]


def _form_action(
    request: HtmxHttpRequest, handoff_id: int, form_class: type[Form], slot: str, run: FormAction
) -> HttpResponse:
    """Validate a form posted on the handoff page and run one service; on a form or
    domain error, show the page again with the form and its message (400)."""
    user = _user(request)
    handoff = selectors.handoff_get_for(user=user, handoff_id=handoff_id)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            return run(handoff, user, form.cleaned_data)
        except ApplicationError as exc:
            if exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            else:
                # Not about one field (the handoff moved on, say): say it at the top of
                # the page, which shows even when this form no longer does.
                messages.error(request, exc.message)
    return _detail(request, handoff, status=400, **{slot: form})


@role_required(Role.REP)
@require_POST
def reject(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    if request.htmx and request.headers.get("HX-Target") == "queue":
        return _reject_in_queue(request, handoff_id)

    def run(handoff: Handoff, user: User, data: dict[str, Any]) -> HttpResponse:
        services.handoff_reject(handoff_id=handoff.pk, user=user, **data)
        messages.success(request, _("Rejected. The lead went back to marketing."))
        return redirect("handoff:queue")

    return _form_action(request, handoff_id, RejectForm, "reject_form", run)


def _reject_in_queue(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    """Reject from a row of My queue: the queue comes back with the outcome on top."""
    user = _user(request)
    selectors.handoff_get_for(user=user, handoff_id=handoff_id)  # 404 unless visible
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason for the rejection."))
        return queue(request)
    try:
        services.handoff_reject(handoff_id=handoff_id, user=user, **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Rejected. The lead went back to marketing."))
    return queue(request)


@role_required(*SALES)
@require_POST
def away(request: HtmxHttpRequest) -> HttpResponse:
    """A rep marks themself away or back; a manager does it for a rep of the team."""
    user = _user(request)
    rep_id = request.POST.get("rep", "")
    target = int(rep_id) if rep_id.isdigit() else user.pk
    try:
        services.rep_set_away(rep_id=target, away=request.POST.get("away") == "1", actor=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    except User.DoesNotExist as exc:
        raise Http404 from exc
    if target != user.pk:
        return team(request) if request.htmx else redirect("handoff:team")
    return queue(request) if request.htmx else redirect("handoff:queue")


@role_required(Role.MANAGER)
def team(request: HtmxHttpRequest) -> HttpResponse:
    """The manager's team: each rep's load, capacity, breaches and away status, and every
    open handoff with re-assignment."""
    user = _user(request)
    if user.team_id is None:
        messages.error(request, _("You manage no team yet: ask an admin to set yours."))
        return redirect("handoff:dashboard")
    period = PeriodForm(request.GET or None)
    days = period.days_or(30)
    context = {
        "reps": selectors.team_board(
            team_id=user.team_id, since=timezone.now() - timedelta(days=days)
        ),
        "handoffs": selectors.team_open_handoffs(team_id=user.team_id),
        "routing": services.team_routing(team_id=user.team_id),
        "days": days,
        "period": period,
    }
    if request.htmx and request.headers.get("HX-Target") == "team":
        return render(request, "handoff/team.html#team", context)
    return render(request, "handoff/team.html", context)


@role_required(Role.MANAGER)
@require_http_methods(["GET", "POST"])
def team_settings(request: HtmxHttpRequest) -> HttpResponse:
    """The team's routing (distribution, capacity, re-routing, weights), its business
    hours and its holidays: three forms, each posting its own ``action``."""
    user = _user(request)
    if user.team_id is None:
        messages.error(request, _("You manage no team yet: ask an admin to set yours."))
        return redirect("handoff:dashboard")
    team_id = user.team_id
    routing = services.team_routing(team_id=team_id)
    reps = services.rep_weights(team_id=team_id)
    forms: dict[str, Form] = {
        "routing_form": TeamRoutingForm(
            initial={
                "strategy": routing.strategy,
                "max_open_per_rep": routing.max_open_per_rep,
                "reroute_on_breach": routing.reroute_on_breach,
            },
            reps=reps,
        ),
        "hours_form": BusinessHoursForm(hours=services.team_hours(team_id=team_id)),
        "holiday_form": HolidayForm(),
    }
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            done = _team_settings_post(request, user, team_id, action, forms, reps)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            done = False
        if done:
            messages.success(request, _("Saved."))
            return redirect("handoff:team_settings")
        status = 400
    return render(
        request,
        "handoff/team_settings.html",
        {
            **forms,
            "team": user.team,
            "holidays": services.team_holidays(team_id=team_id),
            "tiers": services.sla_tiers(),
        },
        status=status,
    )


def _team_settings_post(
    request: HtmxHttpRequest,
    user: User,
    team_id: int,
    action: str,
    forms: dict[str, Form],
    reps: list[tuple[User, int]],
) -> bool:
    """Validate the posted form and run its service; False leaves its errors in ``forms``."""
    if action == "routing":
        routing_form = TeamRoutingForm(request.POST, reps=reps)
        forms["routing_form"] = routing_form
        if not routing_form.is_valid():
            return False
        services.team_routing_update(
            team_id=team_id,
            actor=user,
            strategy=routing_form.cleaned_data["strategy"],
            max_open_per_rep=routing_form.cleaned_data["max_open_per_rep"],
            reroute_on_breach=routing_form.cleaned_data["reroute_on_breach"],
            weights=routing_form.weights(),
        )
        return True
    if action == "hours":
        hours_form = BusinessHoursForm(request.POST, hours={})
        forms["hours_form"] = hours_form
        if not hours_form.is_valid():
            return False
        services.team_hours_set(team_id=team_id, actor=user, hours=hours_form.hours())
        return True
    if action == "holiday_add":
        holiday_form = HolidayForm(request.POST)
        forms["holiday_form"] = holiday_form
        if not holiday_form.is_valid():
            return False
        services.team_holiday_add(team_id=team_id, actor=user, **holiday_form.cleaned_data)
        return True
    if action == "holiday_remove":
        holiday_id = request.POST.get("holiday", "")
        if not holiday_id.isdigit():
            raise ApplicationError(_("Choose a holiday."))
        services.team_holiday_remove(team_id=team_id, actor=user, holiday_id=int(holiday_id))
        return True
    raise ApplicationError(_("Unknown action."))


@role_required(Role.MANAGER)
@require_POST
def reassign(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    user = _user(request)
    selectors.handoff_get_for(user=user, handoff_id=handoff_id)  # 404 unless visible
    form = ReassignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a rep."))
    else:
        try:
            services.handoff_reassign(
                handoff_id=handoff_id, rep_id=form.cleaned_data["rep"], manager=user
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Re-assigned."))
    return team(request) if request.htmx else redirect("handoff:team")


@role_required(*MARKETING)
def rejections(request: HtmxHttpRequest) -> HttpResponse:
    """Marketing's view of what sales sent back: by reason, campaign and rule."""
    period = PeriodForm(request.GET or None)
    days = period.days_or(30)
    summary = selectors.rejections_summary(since=timezone.now() - timedelta(days=days))
    return render(
        request,
        "handoff/rejections.html",
        {"summary": summary, "days": days, "period": period},
    )


@role_required(Role.REP)
@require_POST
def log_touch(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    def run(handoff: Handoff, user: User, data: dict[str, Any]) -> HttpResponse:
        services.handoff_log_touch(handoff_id=handoff.pk, user=user, **data)
        messages.success(request, _("Touch logged."))
        return redirect("handoff:detail", handoff_id=handoff.pk)

    return _form_action(request, handoff_id, TouchForm, "touch_form", run)


@role_required(Role.REP)
@require_http_methods(["GET", "POST"])
def convert(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    """Convert an accepted handoff: the page offers the matched account to confirm (or a
    new one), the pipeline and the deal's fields; POST converts."""
    user = _user(request)
    handoff = selectors.handoff_get_for(user=user, handoff_id=handoff_id)
    if handoff.assigned_to_id != user.pk or handoff.status != Handoff.Status.ACCEPTED:
        messages.error(request, _("Accept the handoff before converting it."))
        if request.method == "POST":
            return _detail(request, handoff, status=400)
        return redirect("handoff:detail", handoff_id=handoff.pk)
    lead = handoff.lead
    match = sales_selectors.account_match(email=lead.email or "", company=lead.company)
    pipelines = [(p.pk, p.name) for p in sales_selectors.pipelines_for(user)]
    status = 200
    if request.method == "POST":
        form = ConvertForm(request.POST, pipelines=pipelines)
        if form.is_valid():
            data = form.cleaned_data
            try:
                deal = services.handoff_convert(
                    handoff_id=handoff.pk,
                    user=user,
                    deal_name=data["deal_name"],
                    amount=data["amount"],
                    currency=data["currency"],
                    expected_close=data["expected_close"],
                    pipeline_id=data["pipeline"],
                    account_id=data["account"],
                    new_account=data["account"] is None,
                )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Deal %(name)s created.") % {"name": deal.name})
                return redirect(f"{reverse('sales:board')}?pipeline={deal.pipeline_id}")
        status = 400
    else:
        default = sales_selectors.default_pipeline(team=user.team)
        form = ConvertForm(
            pipelines=pipelines,
            initial={
                "deal_name": lead.company or lead.full_name,
                "pipeline": default.pk if default else None,
                "account": match.account.pk if match.account else "new",
                "currency": "USD",
            },
        )
    chosen = form["account"].value() or "new"
    return render(
        request,
        "handoff/convert.html",
        {
            "handoff": handoff,
            "lead": lead,
            "match": match,
            "form": form,
            "chosen_account": str(chosen),
            "currencies": CURRENCIES,
        },
        status=status,
    )


# --- One person across marketing and sales: export, erasure, merge ---------------------
# These live here, not in marketing, because they read or change sales' records too.


@role_required(*MARKETING)
def lead_export(request: HtmxHttpRequest, lead_id: int) -> HttpResponse:
    """Download everything about the person as JSON (audited as lead.export)."""
    get_object_or_404(Lead, pk=lead_id)
    data = services.person_export(lead_id=lead_id, actor=_user(request), ip=client_ip(request))
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="lead-{lead_id}.json"'
    return response


def _erase_confirmed(word: str) -> bool:
    # The word to type is translated on the page; the English one is accepted everywhere.
    return word.strip().casefold() in {"erase", _("ERASE").casefold()}


@role_required(*MARKETING)
@require_POST
def lead_erase(request: HtmxHttpRequest, lead_id: int) -> HttpResponse:
    get_object_or_404(Lead, pk=lead_id)
    if not _erase_confirmed(request.POST.get("confirm", "")):
        messages.error(request, _("Nothing was erased: type ERASE in the box to confirm."))
        return redirect("marketing:lead", lead_id=lead_id)
    try:
        services.person_erase(lead_id=lead_id, actor=_user(request), ip=client_ip(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The person's data was erased. The lead stays, anonymous, so the counts hold."),
        )
    return redirect("marketing:lead", lead_id=lead_id)


@role_required(*MARKETING)
@require_http_methods(["GET", "POST"])
def lead_merge(request: HtmxHttpRequest, lead_id: int, other_id: int) -> HttpResponse:
    """Two likely duplicates side by side, a choice per field; POST merges them."""
    leads = Lead.objects.select_related("campaign", "owner").in_bulk([lead_id, other_id])
    if len(leads) != 2:
        raise Http404
    survivor, other = duplicates.merge_order(leads[lead_id], leads[other_id])
    keep = request.POST.get("keep") or request.GET.get("keep")
    if keep == str(other.pk):
        survivor, other = other, survivor
    status = 200
    if request.method == "POST":
        take = [name for name in duplicates.MERGE_FIELDS if request.POST.get(name) == str(other.pk)]
        try:
            services.person_merge(
                survivor_id=survivor.pk,
                other_id=other.pk,
                take_from_other=take,
                actor=_user(request),
                ip=client_ip(request),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            messages.success(
                request, _("Lead #%(id)s was merged into this one.") % {"id": other.pk}
            )
            return redirect("marketing:lead", lead_id=survivor.pk)
    counts = duplicates.merge_counts(lead_ids=[survivor.pk, other.pk])
    return render(
        request,
        "marketing/duplicates_merge.html",
        {
            "survivor": survivor,
            "other": other,
            "rows": duplicates.merge_preview(survivor=survivor, other=other),
            "pair_counts": [counts[survivor.pk], counts[other.pk]],
        },
        status=status,
    )


# --- Today: a rep's day across handoff and sales ---------------------------------------
# Here, not in sales, because it shows the handoffs' SLA clocks beside sales' tasks.


@role_required(*SALES)
def today(request: HtmxHttpRequest) -> HttpResponse:
    """Tasks due (overdue first), running SLA deadlines, stale deals, and what closed
    this week. Refreshes itself in place."""
    user = _user(request)
    now = timezone.now()
    local = timezone.localtime(now)
    tomorrow = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    context = {
        "now": now,
        "deadlines": selectors.sla_deadlines_for(user),
        "tasks_due": sales_selectors.tasks_due_for(user=user, until=tomorrow),
        "tasks_later": sales_selectors.tasks_upcoming_for(user=user, after=tomorrow),
        "stale": sales_selectors.stale_deals_for(user=user, now=now),
        "closed": sales_selectors.deals_closed_recently_for(
            user=user, since=now - timedelta(days=7)
        ),
    }
    if request.htmx and request.htmx.target == "today":
        return render(request, "handoff/today.html#today", context)
    return render(request, "handoff/today.html", context)
