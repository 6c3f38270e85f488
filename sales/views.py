"""Sales pages: the pipeline board and deal moves."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.models import User
from leadflow.permissions import SALES, role_required
from sales import selectors, services


def _user(request: HtmxHttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@role_required(*SALES)
def board(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    pipelines = list(selectors.pipelines_for(user))
    if not pipelines:
        return render(request, "sales/board.html", {"pipelines": [], "columns": []})
    chosen = request.GET.get("pipeline")
    pipeline = next((p for p in pipelines if str(p.pk) == chosen), pipelines[0])
    context = {
        "pipelines": pipelines,
        "pipeline": pipeline,
        "columns": selectors.pipeline_board(user=user, pipeline=pipeline),
    }
    if request.htmx:
        return render(request, "sales/board.html#board", context)
    return render(request, "sales/board.html", context)


@role_required(*SALES)
@require_POST
def deal_move(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    user = _user(request)
    deal = selectors.deals_visible_to(user).filter(pk=deal_id).first()
    if deal is None:
        raise Http404
    try:
        stage_id = int(request.POST.get("stage", ""))
    except ValueError:
        messages.error(request, _("Choose a stage."))
    else:
        try:
            services.deal_move(
                deal_id=deal.pk,
                stage_id=stage_id,
                actor=user,
                lost_reason=request.POST.get("lost_reason", ""),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
    if request.htmx:
        return board(request)
    return redirect(f"{reverse('sales:board')}?pipeline={deal.pipeline_id}")
