"""CSV import jobs over the API: upload and start, poll progress, fetch rejected rows."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from leadflow import uploads
from leadflow.api import scopes
from leadflow.api.schema import errors
from leadflow.api.views import Api
from marketing import imports
from marketing.models import Campaign, ImportJob

IMPORT_OUT = {
    "id": 17,
    "original_name": "hubspot-export.csv",
    "status": "running",
    "mode": "update",
    "campaign": None,
    "mapping": {"Email": "email", "First Name": "first_name", "Company Name": "company"},
    "total_rows": 120000,
    "processed_rows": 50000,
    "percent": 41,
    "created_count": 41000,
    "updated_count": 8500,
    "skipped_count": 0,
    "error_count": 500,
    "error_message": "",
    "errors_url": None,
    "created_at": "2026-11-27T09:00:00Z",
    "started_at": "2026-11-27T09:00:02Z",
    "finished_at": None,
}


class ImportOutput(serializers.ModelSerializer[ImportJob]):
    percent = serializers.IntegerField(read_only=True)
    errors_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = (
            "id",
            "original_name",
            "status",
            "mode",
            "campaign",
            "mapping",
            "total_rows",
            "processed_rows",
            "percent",
            "created_count",
            "updated_count",
            "skipped_count",
            "error_count",
            "error_message",
            "errors_url",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields

    def get_errors_url(self, job: ImportJob) -> str | None:
        if not job.errors_file:
            return None
        return reverse("api:import-errors", kwargs={"job_id": job.pk})


class ImportInput(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="A CSV file; its columns are recognised by header.")
    mode = serializers.ChoiceField(choices=ImportJob.Mode.choices, required=False)
    campaign = serializers.IntegerField(required=False, min_value=1)


def _job_for(job_id: int) -> ImportJob:
    job = imports.import_get(job_id=job_id)
    if job is None:
        raise Http404
    return job


class ImportsApi(Api):
    scopes = {"POST": scopes.LEADS_WRITE}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """Refuse a file too large before its body is read (after auth and rate limit)."""
        super().initial(request, *args, **kwargs)
        max_bytes = settings.LEADFLOW_MAX_IMPORT_BYTES
        if uploads.upload_too_large(request, max_bytes=max_bytes):
            error = exceptions.APIException(imports.import_too_large_message(), code="too_large")
            error.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            raise error

    @extend_schema(
        operation_id="imports_create",
        summary="Import a CSV file",
        description=(
            "Upload (multipart) and start at once with the detected column mapping; poll "
            "the job for progress."
        ),
        request={"multipart/form-data": ImportInput},
        responses={202: ImportOutput, **errors(400, 413)},
        examples=[
            OpenApiExample(
                "queued",
                value={
                    **IMPORT_OUT,
                    "status": "queued",
                    "processed_rows": 0,
                    "percent": 0,
                    "created_count": 0,
                    "updated_count": 0,
                    "error_count": 0,
                    "started_at": None,
                },
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload: UploadedFile = data.validated_data["file"]
        campaign = None
        if "campaign" in data.validated_data:
            campaign = Campaign.objects.filter(pk=data.validated_data["campaign"]).first()
            if campaign is None:
                raise serializers.ValidationError({"campaign": [_("No campaign has this id.")]})
        mode = data.validated_data.get("mode", ImportJob.Mode.UPDATE)
        job = imports.import_create(
            created_by=self.user(), upload=upload, campaign=campaign, mode=mode
        )
        job = imports.import_start(job_id=job.pk, mapping=job.mapping, mode=mode, campaign=campaign)
        response = Response(ImportOutput(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("api:import", kwargs={"job_id": job.pk})
        return response


class ImportApi(Api):
    scopes = {"GET": scopes.LEADS_WRITE}

    @extend_schema(
        operation_id="imports_get",
        summary="An import job's progress and result",
        responses={200: ImportOutput, **errors(404)},
        examples=[OpenApiExample("running", value=IMPORT_OUT, response_only=True)],
    )
    def get(self, request: Request, job_id: int) -> Response:
        return Response(ImportOutput(_job_for(job_id)).data)


class ImportErrorsApi(Api):
    scopes = {"GET": scopes.LEADS_WRITE}

    @extend_schema(
        operation_id="imports_errors",
        summary="The rows an import rejected, as CSV",
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            **errors(404),
        },
    )
    def get(self, request: Request, job_id: int) -> Any:
        job = _job_for(job_id)
        if not job.errors_file:
            raise Http404
        return FileResponse(
            job.errors_file.open("rb"),
            as_attachment=True,
            filename=f"rejected-{job.pk}.csv",
            content_type="text/csv",
        )
