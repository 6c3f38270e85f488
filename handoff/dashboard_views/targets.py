"""The monthly targets page: managers set and remove a team's targets."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from handoff import targets
from handoff.dashboard_forms import TargetForm
from handoff.dashboard_views.base import _today, _user
from handoff.models import KpiTarget
from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.models import Team
from leadflow.permissions import MANAGERS, role_required


@role_required(*MANAGERS)
@require_http_methods(["GET", "POST"])
def dashboard_targets(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    teams = list(Team.objects.values_list("pk", "name"))
    status = 200
    if request.method == "POST":
        form = TargetForm(request.POST, teams=teams)
        if form.is_valid():
            data = form.cleaned_data
            try:
                targets.target_set(
                    user=user,
                    month=data["month"],
                    team_id=data["team"],
                    metric=data["metric"],
                    value=data["value"],
                )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Target saved."))
                return redirect("handoff:dashboard_targets")
        status = 400
    else:
        form = TargetForm(
            teams=teams,
            initial={"month": _today().strftime("%Y-%m"), "team": user.team_id},
        )
    current = _today().replace(day=1)
    context = {
        "form": form,
        "targets": KpiTarget.objects.filter(month__gte=current - dt.timedelta(days=62))
        .select_related("team")
        .order_by("-month", "team__name", "metric"),
    }
    return render(request, "dashboard/targets.html", context, status=status)


@role_required(*MANAGERS)
@require_POST
def dashboard_target_delete(request: HtmxHttpRequest, target_id: int) -> HttpResponse:
    try:
        targets.target_delete(user=_user(request), target_id=target_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Target removed."))
    return redirect("handoff:dashboard_targets")
