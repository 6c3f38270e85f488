"""Sales-side handoff pages: My queue, a handoff, and the shared dashboard."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from handoff import selectors, services
from handoff.forms import ConvertForm, DashboardFilter, RejectForm, TouchForm
from handoff.models import Handoff
from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.models import Role, Team, User
from leadflow.permissions import SALES, role_required
from marketing.services import lead_score_breakdown


def _user(request: HtmxHttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@role_required(*SALES)
def queue(request: HtmxHttpRequest) -> HttpResponse:
    context = {"queue": selectors.handoff_queue_for(_user(request)), "now": timezone.now()}
    if request.htmx:
        return render(request, "handoff/queue.html#queue", context)
    return render(request, "handoff/queue.html", context)


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
    request: HttpRequest,
    handoff: Handoff,
    *,
    reject_form: RejectForm | None = None,
    touch_form: TouchForm | None = None,
    convert_form: ConvertForm | None = None,
    status: int = 200,
) -> HttpResponse:
    lead = handoff.lead
    return render(
        request,
        "handoff/detail.html",
        {
            "handoff": handoff,
            "lead": lead,
            "breakdown": lead_score_breakdown(lead_id=lead.pk),
            "is_mine": handoff.assigned_to_id == request.user.pk,
            "reject_form": reject_form or RejectForm(),
            "touch_form": touch_form or TouchForm(),
            "convert_form": convert_form
            or ConvertForm(initial={"deal_name": lead.company or lead.full_name}),
        },
        status=status,
    )


@role_required(Role.REP)
@require_POST
def reject(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    user = _user(request)
    handoff = selectors.handoff_get_for(user=user, handoff_id=handoff_id)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services.handoff_reject(
                handoff_id=handoff.pk,
                user=user,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Rejected. The lead went back to marketing."))
            return redirect("handoff:queue")
    return _detail(request, handoff, reject_form=form, status=400)


@role_required(Role.REP)
@require_POST
def log_touch(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    user = _user(request)
    handoff = selectors.handoff_get_for(user=user, handoff_id=handoff_id)
    form = TouchForm(request.POST)
    if form.is_valid():
        try:
            services.handoff_log_touch(handoff_id=handoff.pk, user=user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Touch logged."))
            return redirect("handoff:detail", handoff_id=handoff.pk)
    return _detail(request, handoff, touch_form=form, status=400)


@role_required(Role.REP)
@require_POST
def convert(request: HtmxHttpRequest, handoff_id: int) -> HttpResponse:
    user = _user(request)
    handoff = selectors.handoff_get_for(user=user, handoff_id=handoff_id)
    form = ConvertForm(request.POST)
    if form.is_valid():
        try:
            deal = services.handoff_convert(handoff_id=handoff.pk, user=user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, _("Deal %(name)s created.") % {"name": deal.name})
            return redirect("sales:board")
    return _detail(request, handoff, convert_form=form, status=400)


@role_required(Role.MANAGER, Role.MARKETER, Role.REP)
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    filters = DashboardFilter(request.GET or None)
    days = 90
    team_id: int | None = None
    if filters.is_valid():
        days = int(filters.cleaned_data.get("period") or 90)
        team_id = filters.cleaned_data.get("team")
    if user.role == Role.REP:
        team_id = user.team_id  # reps see their own team's numbers
    end = timezone.now()
    funnel = selectors.dashboard_funnel(start=end - timedelta(days=days), end=end, team_id=team_id)
    context = {
        "funnel": funnel,
        "chart": {
            "title": _("Funnel"),
            "labels": [_("Leads"), "MQL", "SQL", _("Accepted"), _("Opportunities"), _("Won")],
            "values": [
                funnel.leads,
                funnel.mqls,
                funnel.sqls,
                funnel.accepted,
                funnel.opportunities,
                funnel.won,
            ],
        },
        "filters": filters,
        "days": days,
        "team_id": team_id,
        "teams": Team.objects.all() if user.role != Role.REP else [],
        "periods": DashboardFilter.PERIODS,
    }
    if request.htmx:
        return render(request, "handoff/dashboard.html#panels", context)
    return render(request, "handoff/dashboard.html", context)
