"""CSV import pages: upload and the recent imports, the column mapping with its live
preview, the running job's progress, a retry, and the report of rejected rows."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from leadflow import ratelimit, uploads
from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.permissions import MARKETING, role_required
from leadflow.services import audit_record
from marketing import imports
from marketing.forms import ImportMappingForm, ImportUploadForm
from marketing.models import ImportJob
from marketing.views.base import _user


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
