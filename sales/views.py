"""Sales pages: board, deal list, deal/account/contact pages, tasks and pipeline settings.

Every view checks the role (decorator) and the object (the ``*_get_for`` selectors 404 on
anything the user may not see).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.models import Role, Team, User
from leadflow.permissions import SALES, role_required
from leadflow.services import team_set_deal_visibility
from sales import pipelines as pipeline_edits
from sales import selectors, services
from sales.forms import (
    CURRENCIES,
    CloseReasonForm,
    DealFilterForm,
    DealForm,
    MoveForm,
    PipelineForm,
    StageForm,
    TaskForm,
    TouchForm,
)
from sales.models import CloseReason, Deal, Pipeline, PipelineStage

ADMINS_AND_MANAGERS = (Role.MANAGER,)  # role_required lets admins through as well


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _filters(request: HttpRequest, user: User) -> tuple[DealFilterForm, selectors.DealFilter]:
    form = DealFilterForm(request.GET, owners=selectors.deal_owners_for(user))
    if not form.is_valid():
        return form, selectors.DealFilter()
    owner = form.cleaned_data.get("owner")
    return form, selectors.DealFilter(
        owner_id=owner.pk if owner else None,
        close_month=form.cleaned_data.get("close_month"),
        status=form.cleaned_data.get("status") or "",
        stage_id=form.cleaned_data.get("stage"),
    )


def _pipeline(request: HttpRequest, pipelines: list[Pipeline]) -> Pipeline | None:
    chosen = request.GET.get("pipeline") or request.POST.get("pipeline")
    return next((p for p in pipelines if str(p.pk) == chosen), pipelines[0] if pipelines else None)


# --- Board -----------------------------------------------------------------------------


@role_required(*SALES)
def board(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    pipelines = list(selectors.pipelines_for(user))
    pipeline = _pipeline(request, pipelines)
    form, filters = _filters(request, user)
    context: dict[str, Any] = {
        "pipelines": pipelines,
        "pipeline": pipeline,
        "filter_form": form,
        "columns": [],
        "reasons": selectors.close_reasons(),
    }
    if pipeline is not None:
        columns = selectors.pipeline_board(user=user, pipeline=pipeline, filters=filters)
        context["columns"] = columns
        context["value"], context["weighted"] = selectors.board_value(columns)
    if request.htmx and request.htmx.target == "board":
        return render(request, "sales/board.html#board", context)
    return render(request, "sales/board.html", context)


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@role_required(*SALES)
@require_POST
def deal_move(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """Move a deal: the board's drag and drop (htmx) and the deal page's form."""
    user = _user(request)
    deal = selectors.deal_get_for(user=user, deal_id=deal_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a stage."))
    else:
        try:
            moved = services.deal_move(
                deal_id=deal.pk,
                stage_id=form.cleaned_data["stage"],
                actor=user,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("%(deal)s moved to %(stage)s.") % {"deal": moved.name, "stage": moved.stage.name},
            )
    if request.htmx and request.htmx.target == "board":
        return board(request)
    default = f"{reverse('sales:board')}?pipeline={deal.pipeline_id}"
    return redirect(_next_url(request, default))


# --- List ------------------------------------------------------------------------------

LIST_PAGE_SIZE = 50


@role_required(*SALES)
def deal_list(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    form, filters = _filters(request, user)
    pipelines = list(selectors.pipelines_for(user))
    chosen = request.GET.get("pipeline", "")
    pipeline = next((p for p in pipelines if str(p.pk) == chosen), None)
    deals = selectors.deal_list(user=user, filters=filters, pipeline=pipeline)
    page = Paginator(deals, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    value, weighted = selectors.pipeline_value(
        filters.apply(selectors.deals_visible_to(user))
        if pipeline is None
        else filters.apply(selectors.deals_visible_to(user).filter(pipeline=pipeline))
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter_form": form,
        "page": page,
        "pipelines": pipelines,
        "pipeline": pipeline,
        "value": value,
        "weighted": weighted,
        "query": query.urlencode(),
    }
    if request.htmx and request.htmx.target == "deal-list":
        return render(request, "sales/deal_list.html#deal-list", context)
    return render(request, "sales/deal_list.html", context)


# --- Deal page -------------------------------------------------------------------------


def _deal_page(
    request: HttpRequest, deal: Deal, *, status: int = 200, **bound: Form
) -> HttpResponse:
    user = _user(request)
    forms: dict[str, Form] = {
        "deal_form": DealForm(
            initial={
                "name": deal.name,
                "amount": deal.amount,
                "currency": deal.currency,
                "expected_close": deal.expected_close,
            }
        ),
        "touch_form": TouchForm(),
        "task_form": TaskForm(),
        **bound,
    }
    return render(
        request,
        "sales/deal.html",
        {
            "deal": deal,
            "story": selectors.deal_story(deal=deal),
            "stages": PipelineStage.objects.filter(pipeline_id=deal.pipeline_id).order_by(
                "position", "id"
            ),
            "reasons": selectors.close_reasons(),
            "tasks": selectors.tasks_visible_to(user)
            .filter(deal=deal)
            .select_related("owner")
            .order_by("done_at", "due_at"),
            "currencies": CURRENCIES,
            **forms,
        },
        status=status,
    )


@role_required(*SALES)
def deal_detail(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    return _deal_page(request, selectors.deal_get_for(user=_user(request), deal_id=deal_id))


Run = Callable[[User, dict[str, Any]], None]


def _post_form(
    request: HttpRequest,
    form_class: type[Form],
    run: Run,
    *,
    success: str,
    again: Callable[[Form], HttpResponse],
    done: Callable[[], HttpResponse],
) -> HttpResponse:
    """Validate a posted form and run one service; on an error show the page again with
    the form and its message (status 400)."""
    form = form_class(request.POST)
    if form.is_valid():
        try:
            run(_user(request), form.cleaned_data)
        except ApplicationError as exc:
            if exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            else:
                form.add_error(None, exc.message)
        else:
            messages.success(request, success)
            return done()
    return again(form)


@role_required(*SALES)
@require_POST
def deal_edit(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    deal = selectors.deal_get_for(user=_user(request), deal_id=deal_id)

    def run(user: User, data: dict[str, Any]) -> None:
        services.deal_update(deal_id=deal.pk, actor=user, **data)

    return _post_form(
        request,
        DealForm,
        run,
        success=_("Deal saved."),
        again=lambda form: _deal_page(request, deal, status=400, deal_form=form),
        done=lambda: redirect("sales:deal", deal_id=deal.pk),
    )


@role_required(*SALES)
@require_POST
def deal_touch(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    deal = selectors.deal_get_for(user=_user(request), deal_id=deal_id)

    def run(user: User, data: dict[str, Any]) -> None:
        services.touch_log(actor=user, deal_id=deal.pk, **data)

    return _post_form(
        request,
        TouchForm,
        run,
        success=_("Touch logged."),
        again=lambda form: _deal_page(request, deal, status=400, touch_form=form),
        done=lambda: redirect("sales:deal", deal_id=deal.pk),
    )


@role_required(*SALES)
@require_POST
def deal_task(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    deal = selectors.deal_get_for(user=_user(request), deal_id=deal_id)

    def run(user: User, data: dict[str, Any]) -> None:
        services.task_create(actor=user, owner=user, deal_id=deal.pk, **data)

    return _post_form(
        request,
        TaskForm,
        run,
        success=_("Task added."),
        again=lambda form: _deal_page(request, deal, status=400, task_form=form),
        done=lambda: redirect("sales:deal", deal_id=deal.pk),
    )


# --- Accounts and contacts -------------------------------------------------------------


@role_required(*SALES)
def account_list(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    query = request.GET.get("q", "")
    page = Paginator(selectors.account_list(user=user, query=query), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "q": query}
    if request.htmx and request.htmx.target == "account-list":
        return render(request, "sales/accounts.html#account-list", context)
    return render(request, "sales/accounts.html", context)


@role_required(*SALES)
def account_detail(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    user = _user(request)
    account = selectors.account_get_for(user=user, account_id=account_id)
    related = selectors.account_page(user=user, account=account)
    value, weighted = selectors.pipeline_value(
        selectors.deals_visible_to(user).filter(account=account)
    )
    return render(
        request,
        "sales/account.html",
        {"account": account, "value": value, "weighted": weighted, **related},
    )


def _contact_page(
    request: HttpRequest, contact_id: int, *, status: int = 200, **bound: Form
) -> HttpResponse:
    user = _user(request)
    contact = selectors.contact_get_for(user=user, contact_id=contact_id)
    forms: dict[str, Form] = {"touch_form": TouchForm(), "task_form": TaskForm(), **bound}
    return render(
        request,
        "sales/contact.html",
        {"contact": contact, **selectors.contact_page(user=user, contact=contact), **forms},
        status=status,
    )


@role_required(*SALES)
def contact_detail(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    return _contact_page(request, contact_id)


@role_required(*SALES)
@require_POST
def contact_touch(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = selectors.contact_get_for(user=_user(request), contact_id=contact_id)

    def run(user: User, data: dict[str, Any]) -> None:
        services.touch_log(actor=user, contact_id=contact.pk, **data)

    return _post_form(
        request,
        TouchForm,
        run,
        success=_("Touch logged."),
        again=lambda form: _contact_page(request, contact.pk, status=400, touch_form=form),
        done=lambda: redirect("sales:contact", contact_id=contact.pk),
    )


@role_required(*SALES)
@require_POST
def contact_task(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = selectors.contact_get_for(user=_user(request), contact_id=contact_id)

    def run(user: User, data: dict[str, Any]) -> None:
        services.task_create(actor=user, owner=user, contact_id=contact.pk, **data)

    return _post_form(
        request,
        TaskForm,
        run,
        success=_("Task added."),
        again=lambda form: _contact_page(request, contact.pk, status=400, task_form=form),
        done=lambda: redirect("sales:contact", contact_id=contact.pk),
    )


# --- Tasks -----------------------------------------------------------------------------


@role_required(*SALES)
@require_POST
def task_done(request: HtmxHttpRequest, task_id: int) -> HttpResponse:
    """Tick a task off. htmx swaps the row in place; a plain post goes back."""
    user = _user(request)
    task = selectors.task_get_for(user=user, task_id=task_id)
    task = services.task_complete(task_id=task.pk, actor=user)
    if request.htmx:
        return render(request, "sales/_task_row.html", {"task": task})
    return redirect(_next_url(request, reverse("sales:deals")))


# --- Pipeline and reason settings (managers and admins) --------------------------------


def _editable_pipelines(user: User) -> list[Pipeline]:
    pipelines = Pipeline.objects.prefetch_related("stages").order_by("name", "id")
    if not user.is_admin_role:
        pipelines = pipelines.filter(team_id=user.team_id) if user.team_id else pipelines.none()
    return list(pipelines)


def _with_up_orders(pipelines: list[Pipeline]) -> list[Pipeline]:
    """Give each stage the id order that its "move up" button posts."""
    for pipeline in pipelines:
        stages = list(pipeline.stages.all())
        ids = [stage.pk for stage in stages]
        for index, stage in enumerate(stages):
            order = list(ids)
            if index:
                order[index - 1], order[index] = order[index], order[index - 1]
            stage.up_order = order  # type: ignore[attr-defined]
    return pipelines


def _settings_page(request: HttpRequest, *, status: int = 200, **bound: Form) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "sales/settings.html",
        {
            "pipelines": _with_up_orders(_editable_pipelines(user)),
            "reasons": CloseReason.objects.order_by("kind", "position", "id"),
            "pipeline_form": bound.get("pipeline_form") or PipelineForm(),
            "stage_form": bound.get("stage_form") or StageForm(),
            "reason_form": bound.get("reason_form") or CloseReasonForm(),
            "failed_pipeline": request.POST.get("pipeline_id", ""),
            "team": user.team,
            "visibilities": Team.Visibility.choices,
        },
        status=status,
    )


@role_required(*ADMINS_AND_MANAGERS)
def pipeline_settings(request: HtmxHttpRequest) -> HttpResponse:
    return _settings_page(request)


def _settings_form(
    request: HttpRequest, form_class: type[Form], slot: str, run: Run, success: str
) -> HttpResponse:
    return _post_form(
        request,
        form_class,
        run,
        success=success,
        again=lambda form: _settings_page(request, status=400, **{slot: form}),
        done=lambda: redirect("sales:settings"),
    )


@role_required(*ADMINS_AND_MANAGERS)
@require_POST
def pipeline_create(request: HtmxHttpRequest) -> HttpResponse:
    def run(user: User, data: dict[str, Any]) -> None:
        pipeline_edits.pipeline_create(name=data["name"], actor=user)

    return _settings_form(request, PipelineForm, "pipeline_form", run, _("Pipeline added."))


@role_required(*ADMINS_AND_MANAGERS)
@require_POST
def stage_save(
    request: HtmxHttpRequest, pipeline_id: int, stage_id: int | None = None
) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pipeline_id)
    if pipeline not in _editable_pipelines(_user(request)):
        raise Http404
    if stage_id is not None:
        get_object_or_404(PipelineStage, pk=stage_id, pipeline=pipeline)

    def run(user: User, data: dict[str, Any]) -> None:
        pipeline_edits.stage_save(pipeline_id=pipeline.pk, stage_id=stage_id, actor=user, **data)

    return _settings_form(request, StageForm, "stage_form", run, _("Stage saved."))


@role_required(*ADMINS_AND_MANAGERS)
@require_POST
def stage_delete(request: HtmxHttpRequest, pipeline_id: int, stage_id: int) -> HttpResponse:
    user = _user(request)
    stage = get_object_or_404(PipelineStage, pk=stage_id, pipeline_id=pipeline_id)
    if stage.pipeline not in _editable_pipelines(user):
        raise Http404
    try:
        pipeline_edits.stage_delete(stage_id=stage.pk, actor=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Stage removed."))
    return redirect("sales:settings")


@role_required(*ADMINS_AND_MANAGERS)
@require_POST
def stage_reorder(request: HtmxHttpRequest, pipeline_id: int) -> HttpResponse:
    """The new order of a pipeline's stages: ``stage`` posted once per stage, in order."""
    user = _user(request)
    pipeline = get_object_or_404(Pipeline, pk=pipeline_id)
    if pipeline not in _editable_pipelines(user):
        raise Http404
    try:
        ids = [int(value) for value in request.POST.getlist("stage")]
        pipeline_edits.stage_reorder(pipeline_id=pipeline.pk, actor=user, stage_ids=ids)
    except ValueError:
        messages.error(request, _("The stages changed meanwhile; reload and try again."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Stage order saved."))
    return redirect("sales:settings")


@role_required(*ADMINS_AND_MANAGERS)
@require_POST
def team_visibility(request: HtmxHttpRequest) -> HttpResponse:
    """The manager's team: do reps see only their own deals, or the team's?"""
    user = _user(request)
    if user.team_id is None:
        raise Http404
    try:
        team_set_deal_visibility(
            team_id=user.team_id, visibility=request.POST.get("visibility", ""), actor=user
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Deal visibility saved."))
    return redirect("sales:settings")


@role_required(*ADMINS_AND_MANAGERS)
@require_POST
def reason_add(request: HtmxHttpRequest) -> HttpResponse:
    def run(user: User, data: dict[str, Any]) -> None:
        pipeline_edits.close_reason_add(actor=user, **data)

    return _settings_form(request, CloseReasonForm, "reason_form", run, _("Reason added."))


@role_required(*ADMINS_AND_MANAGERS)
@require_POST
def reason_toggle(request: HtmxHttpRequest, reason_id: int) -> HttpResponse:
    reason = get_object_or_404(CloseReason, pk=reason_id)
    try:
        pipeline_edits.close_reason_set_active(
            reason_id=reason.pk, active=not reason.is_active, actor=_user(request)
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("sales:settings")
