"""Marketing's REST API: leads (list, get, create, update, upsert, batch), campaigns,
forms and CSV import jobs. Thin: parse, call one service or selector, render."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from leadflow import uploads
from leadflow.api import scopes
from leadflow.api.errors import error_body
from leadflow.api.pagination import page_serializer
from leadflow.api.schema import errors
from leadflow.api.views import Api
from marketing import imports, selectors, services, upserts
from marketing.models import Campaign, Channel, Form, Grade, ImportJob, Lead, Stage, Touchpoint

# --- Leads -------------------------------------------------------------------------------


class LeadOutput(serializers.ModelSerializer[Lead]):
    class Meta:
        model = Lead
        fields = (
            "id",
            "email",
            "external_id",
            "phone",
            "first_name",
            "last_name",
            "company",
            "job_title",
            "company_size",
            "country",
            "stage",
            "owner",
            "campaign",
            "source",
            "fit_score",
            "engagement_score",
            # Set when sales sent the lead back; engagement counts only activity since.
            "engagement_reset_at",
            "score",
            "grade",
            "created_at",
            "updated_at",
            "mql_at",
            "sql_at",
        )
        read_only_fields = fields


class LeadInput(serializers.Serializer[Any]):
    """The fields an integration sends; on update and upsert, only those sent change."""

    email = serializers.EmailField(required=False, allow_null=True, max_length=254)
    external_id = serializers.CharField(required=False, allow_null=True, max_length=100)
    phone = serializers.CharField(
        required=False, allow_null=True, help_text="Any format; stored as E.164."
    )
    first_name = serializers.CharField(required=False, allow_null=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_null=True, max_length=100)
    company = serializers.CharField(required=False, allow_null=True, max_length=200)
    job_title = serializers.CharField(required=False, allow_null=True, max_length=200)
    company_size = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=10_000_000
    )
    country = serializers.CharField(
        required=False, allow_null=True, help_text="A two-letter code or a country's name."
    )
    source = serializers.CharField(  # type: ignore[assignment]  # the lead's field
        required=False, allow_null=True, max_length=100
    )
    campaign = serializers.IntegerField(
        required=False, allow_null=True, help_text="The id of the lead's first campaign."
    )


class ItemResultOutput(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "error"])
    id = serializers.IntegerField(allow_null=True)
    code = serializers.CharField(allow_blank=True)
    errors = serializers.DictField(  # type: ignore[assignment]  # the result's key
        child=serializers.ListField(child=serializers.CharField())
    )


class BatchInput(serializers.Serializer[Any]):
    items = serializers.ListField(child=LeadInput(), min_length=1, max_length=upserts.MAX_BATCH)


class BatchOutput(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # the count's key
    results = ItemResultOutput(many=True)


LEAD_EXAMPLE = OpenApiExample(
    "a lead",
    value={
        "email": "ana.silva@example.com",
        "external_id": "crm-00042",
        "first_name": "Ana",
        "last_name": "Silva",
        "company": "Example GmbH",
        "job_title": "Head of Marketing",
        "company_size": 250,
        "country": "DE",
        "phone": "+49 30 1234567",
        "source": "partner-portal",
    },
    request_only=True,
)
LEAD_OUT_EXAMPLE = OpenApiExample(
    "a lead",
    value={
        "id": 42,
        "email": "ana.silva@example.com",
        "external_id": "crm-00042",
        "phone": "+49301234567",
        "first_name": "Ana",
        "last_name": "Silva",
        "company": "Example GmbH",
        "job_title": "Head of Marketing",
        "company_size": 250,
        "country": "DE",
        "stage": "sql",
        "owner": 7,
        "campaign": 3,
        "source": "partner-portal",
        "fit_score": 45,
        "engagement_score": 60,
        "score": 105,
        "grade": "A",
        "created_at": "2026-11-02T09:14:00Z",
        "updated_at": "2026-11-03T10:00:00Z",
        "mql_at": "2026-11-02T09:20:00Z",
        "sql_at": "2026-11-02T09:20:01Z",
    },
    response_only=True,
)

LeadPageOutput = page_serializer("LeadPage", LeadOutput)


class LeadFilter(serializers.Serializer[Any]):
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    campaign = serializers.IntegerField(required=False, min_value=1)
    source = serializers.CharField(  # type: ignore[assignment]  # the lead's field
        required=False, max_length=100
    )
    owner = serializers.IntegerField(required=False, min_value=1)
    grade = serializers.ChoiceField(choices=Grade.choices, required=False)
    created_from = serializers.DateField(required=False)
    created_to = serializers.DateField(required=False)
    q = serializers.CharField(required=False, max_length=200)
    sort = serializers.ChoiceField(choices=list(selectors.LEAD_SORTS), required=False)
    cursor = serializers.CharField(required=False, max_length=500)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200)


def _refused(result: upserts.ItemResult) -> Response:
    first = next(iter(result.errors.values()), [""])[0]
    code = {"conflict": 409, "suppressed": 422}.get(result.code, 400)
    fields = {name: list(messages) for name, messages in result.errors.items()}
    fields.pop("non_field_errors", None)
    return Response(error_body(result.code or "invalid", first, fields), status=code)


def _lead_response(lead_id: int, code: int) -> Response:
    lead = Lead.objects.get(pk=lead_id)
    response = Response(LeadOutput(lead).data, status=code)
    response["Location"] = reverse("api:lead", kwargs={"lead_id": lead_id})
    return response


class LeadsApi(Api):
    scopes = {"GET": scopes.LEADS_READ, "POST": scopes.LEADS_WRITE}

    @extend_schema(
        operation_id="leads_list",
        summary="List leads",
        description=(
            "Newest first (or `sort=score`), filtered; page with the `next` link (keyset "
            "cursor: stable while leads arrive). Pull the SQLs with `?stage=sql`."
        ),
        parameters=[LeadFilter],
        responses={200: LeadPageOutput, **errors(400)},
        examples=[LEAD_OUT_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        query = LeadFilter(data=request.query_params)
        query.is_valid(raise_exception=True)
        args = query.validated_data
        created_from: date | None = args.get("created_from")
        leads = selectors.lead_list(
            stage=args.get("stage", ""),
            campaign_id=args.get("campaign"),
            source=args.get("source", ""),
            owner_id=args.get("owner"),
            grade=args.get("grade", ""),
            created_from=created_from,
            created_to=args.get("created_to"),
            search=args.get("q", ""),
        )
        page = selectors.lead_page(
            leads=leads,
            sort=args.get("sort", selectors.LEAD_SORT_DEFAULT),
            cursor=args.get("cursor", ""),
            size=args.get("limit", selectors.LEAD_PAGE_SIZE),
        )

        def link(cursor: str) -> str | None:
            if not cursor:
                return None
            params = request.query_params.copy()
            params["cursor"] = cursor
            return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

        return Response(
            {
                "next": link(page.next_cursor),
                "previous": link(page.prev_cursor),
                "results": LeadOutput(page.leads, many=True).data,
            }
        )

    @extend_schema(
        operation_id="leads_create",
        summary="Create a lead",
        description=(
            "A new lead; 409 if the email or external id is known already (use upsert to "
            "update instead). Scored at once by a worker."
        ),
        request=LeadInput,
        responses={201: LeadOutput, **errors(400, 409, 422)},
        examples=[LEAD_EXAMPLE, LEAD_OUT_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        result = upserts.lead_upsert_many(
            items=[request.data],
            actor=self.user(),
            rule=_rule(request),
            create_only=True,
            score_now=True,
        )[0]
        if result.status == upserts.Status.ERROR or result.id is None:
            return _refused(result)
        return _lead_response(result.id, status.HTTP_201_CREATED)


def _rule(request: Request) -> str:
    token = request.auth
    name = getattr(token, "name", "")
    return f"api: {name}" if name else "api"


class LeadApi(Api):
    scopes = {"GET": scopes.LEADS_READ, "PATCH": scopes.LEADS_WRITE}

    @extend_schema(
        operation_id="leads_get",
        summary="Get a lead",
        responses={200: LeadOutput, **errors(404)},
        examples=[LEAD_OUT_EXAMPLE],
    )
    def get(self, request: Request, lead_id: int) -> Response:
        lead = Lead.objects.filter(pk=lead_id).first()
        if lead is None:
            raise Http404
        return Response(LeadOutput(lead).data)

    @extend_schema(
        operation_id="leads_update",
        summary="Update a lead",
        description="Changes only the fields sent. Stage, owner and scores are not editable.",
        request=LeadInput,
        responses={200: LeadOutput, **errors(400, 404, 409, 422)},
        examples=[LEAD_EXAMPLE, LEAD_OUT_EXAMPLE],
    )
    def patch(self, request: Request, lead_id: int) -> Response:
        try:
            lead = upserts.lead_update(lead_id=lead_id, data=request.data, actor=self.user())
        except Lead.DoesNotExist as exc:
            raise Http404 from exc
        except upserts.LeadInputError as exc:
            return _refused(exc.result)
        return Response(LeadOutput(lead).data)


class LeadUpsertApi(Api):
    scopes = {"POST": scopes.LEADS_WRITE}

    @extend_schema(
        operation_id="leads_upsert",
        summary="Create or update a lead by external id or email",
        description=(
            "Matches the external id first, then the email; updates the fields sent, or "
            "creates the lead (201)."
        ),
        request=LeadInput,
        responses={200: LeadOutput, 201: LeadOutput, **errors(400, 409, 422)},
        examples=[LEAD_EXAMPLE, LEAD_OUT_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        result = upserts.lead_upsert_many(
            items=[request.data], actor=self.user(), rule=_rule(request), score_now=True
        )[0]
        if result.status == upserts.Status.ERROR or result.id is None:
            return _refused(result)
        created = result.status == upserts.Status.CREATED
        return _lead_response(result.id, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class LeadBatchApi(Api):
    scopes = {"POST": scopes.LEADS_WRITE}

    @extend_schema(
        operation_id="leads_batch",
        summary="Upsert up to 1,000 leads",
        description=(
            "Each item is an upsert; each gets a result in `results`, in order. A bad item "
            "never fails the others. Scoring follows within a minute."
        ),
        request=BatchInput,
        responses={200: BatchOutput, **errors(400, 413)},
        examples=[
            OpenApiExample(
                "two leads",
                value={"items": [{"email": "ana@example.com"}, {"external_id": "crm-7"}]},
                request_only=True,
            ),
            OpenApiExample(
                "results",
                value={
                    "created": 1,
                    "updated": 0,
                    "errors": 1,
                    "results": [
                        {"index": 0, "status": "created", "id": 42, "code": "", "errors": {}},
                        {
                            "index": 1,
                            "status": "error",
                            "id": None,
                            "code": "invalid",
                            "errors": {"email": ["Enter a valid email address."]},
                        },
                    ],
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items:
            raise serializers.ValidationError({"items": [_("Send a list of 1 to 1,000 leads.")]})
        results = upserts.lead_upsert_many(items=items, actor=self.user(), rule=_rule(request))
        counts = {"created": 0, "updated": 0, "error": 0}
        for result in results:
            counts[result.status] += 1
        return Response(
            {
                "created": counts["created"],
                "updated": counts["updated"],
                "errors": counts["error"],
                "results": [
                    {
                        "index": r.index,
                        "status": r.status,
                        "id": r.id,
                        "code": r.code,
                        "errors": r.errors,
                    }
                    for r in results
                ],
            }
        )


# --- Campaigns and forms -------------------------------------------------------------------


class CampaignOutput(serializers.ModelSerializer[Campaign]):
    class Meta:
        model = Campaign
        fields = (
            "id",
            "name",
            "channel",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "budget",
            "cost",
            "starts_on",
            "ends_on",
            "owner",
            "created_at",
        )
        read_only_fields = fields


class CampaignInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=Channel.choices)
    utm_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=100, required=False, allow_blank=True)
    budget = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0)
    cost = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)


CAMPAIGN_OUT = {
    "id": 3,
    "name": "Spring webinar",
    "channel": "webinar",
    "utm_source": "newsletter",
    "utm_medium": "email",
    "utm_campaign": "spring-webinar",
    "budget": "5000.00",
    "cost": "3200.00",
    "starts_on": "2026-03-01",
    "ends_on": "2026-04-30",
    "owner": 2,
    "created_at": "2026-02-20T10:00:00Z",
}
FORM_OUT = {
    "id": 5,
    "name": "Demo request",
    "key": "Xk3v9QpL2wZa",
    "campaign": 3,
    "title": "Book a demo",
    "fields": [{"name": "email", "required": True}, {"name": "company", "required": False}],
    "fast_track": True,
    "is_active": True,
    "hosted_url": "/f/Xk3v9QpL2wZa/",
    "created_at": "2026-02-21T09:00:00Z",
}
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


def _page_example(name: str, row: dict[str, Any]) -> OpenApiExample:
    return OpenApiExample(
        name,
        value={
            "next": "https://crm.example.com/api/v1/…?cursor=cD0yMDI2",
            "previous": None,
            "results": [row],
        },
        response_only=True,
    )


_CAMPAIGN_FIELDS = (
    "name",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "budget",
    "cost",
    "starts_on",
    "ends_on",
)
CAMPAIGN_OUT_EXAMPLE = OpenApiExample("a campaign", value=CAMPAIGN_OUT, response_only=True)
CAMPAIGN_EXAMPLE = OpenApiExample(
    "a campaign",
    value={"name": "Spring webinar", "channel": "webinar", "utm_source": "newsletter"},
    request_only=True,
)


class CampaignsApi(Api):
    scopes = {"GET": scopes.LEADS_READ, "POST": scopes.LEADS_WRITE}

    @extend_schema(
        operation_id="campaigns_list",
        summary="List campaigns",
        parameters=[
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("limit", int, required=False),
        ],
        responses={200: page_serializer("CampaignPage", CampaignOutput), **errors(400)},
        examples=[_page_example("campaigns", CAMPAIGN_OUT)],
    )
    def get(self, request: Request) -> Response:
        return self.page(request, Campaign.objects.all(), CampaignOutput)

    @extend_schema(
        operation_id="campaigns_create",
        summary="Create a campaign",
        request=CampaignInput,
        responses={201: CampaignOutput, **errors(400)},
        examples=[CAMPAIGN_EXAMPLE, CAMPAIGN_OUT_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        data = CampaignInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_create(owner=self.user(), **data.validated_data)
        return Response(CampaignOutput(campaign).data, status=status.HTTP_201_CREATED)


class CampaignApi(Api):
    scopes = {"GET": scopes.LEADS_READ, "PATCH": scopes.LEADS_WRITE}

    def _get(self, campaign_id: int) -> Campaign:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise Http404
        return campaign

    @extend_schema(
        operation_id="campaigns_get",
        summary="Get a campaign",
        responses={200: CampaignOutput, **errors(404)},
        examples=[CAMPAIGN_OUT_EXAMPLE],
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        return Response(CampaignOutput(self._get(campaign_id)).data)

    @extend_schema(
        operation_id="campaigns_update",
        summary="Update a campaign",
        description="Fields left out keep their value.",
        request=CampaignInput(partial=True),
        responses={200: CampaignOutput, **errors(400, 404)},
        examples=[CAMPAIGN_EXAMPLE, CAMPAIGN_OUT_EXAMPLE],
    )
    def patch(self, request: Request, campaign_id: int) -> Response:
        campaign = self._get(campaign_id)
        data = CampaignInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        current = {name: getattr(campaign, name) for name in _CAMPAIGN_FIELDS}
        campaign = services.campaign_update(
            campaign_id=campaign.pk, **{**current, **data.validated_data}
        )
        return Response(CampaignOutput(campaign).data)


class FormOutput(serializers.ModelSerializer[Form]):
    hosted_url = serializers.SerializerMethodField()

    class Meta:
        model = Form
        fields = (
            "id",
            "name",
            "key",
            "campaign",
            "title",
            "fields",
            "fast_track",
            "is_active",
            "hosted_url",
            "created_at",
        )
        read_only_fields = fields

    def get_hosted_url(self, form: Form) -> str:
        return f"/f/{form.key}/"


class FormsApi(Api):
    scopes = {"GET": scopes.LEADS_READ}

    @extend_schema(
        operation_id="forms_list",
        summary="List capture forms",
        parameters=[
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("limit", int, required=False),
        ],
        responses={200: page_serializer("FormPage", FormOutput), **errors(400)},
        examples=[_page_example("forms", FORM_OUT)],
    )
    def get(self, request: Request) -> Response:
        return self.page(request, Form.objects.all(), FormOutput)


class FormApi(Api):
    scopes = {"GET": scopes.LEADS_READ}

    @extend_schema(
        operation_id="forms_get",
        summary="Get a capture form",
        responses={200: FormOutput, **errors(404)},
        examples=[OpenApiExample("a form", value=FORM_OUT, response_only=True)],
    )
    def get(self, request: Request, form_id: int) -> Response:
        form = Form.objects.filter(pk=form_id).first()
        if form is None:
            raise Http404
        return Response(FormOutput(form).data)


# --- CSV import jobs --------------------------------------------------------------------------


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


# --- Activities ---------------------------------------------------------------------------

ACTIVITY_KINDS = [(value, label) for value, label in Touchpoint.Kind.choices if value != "import"]


class ActivityInput(serializers.Serializer[Any]):
    lead = serializers.IntegerField(required=False, min_value=1, help_text="The lead's id…")
    email = serializers.EmailField(required=False, help_text="…or its email…")
    external_id = serializers.CharField(
        required=False, max_length=100, help_text="…or its external id."
    )
    kind = serializers.ChoiceField(choices=ACTIVITY_KINDS)
    occurred_at = serializers.DateTimeField(
        required=False, help_text="When it happened, with its time zone (default: now)."
    )
    url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    event_name = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="For a custom event."
    )
    campaign = serializers.IntegerField(required=False, min_value=1)
    id = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Your id of the activity: sending it twice records it once.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(attrs.get(name) for name in ("lead", "email", "external_id")):
            raise serializers.ValidationError(
                {"lead": [_("Name the lead by its id, email or external id.")]}
            )
        return attrs


class ActivityOutput(serializers.ModelSerializer[Touchpoint]):
    occurred_at = serializers.DateTimeField(source="created_at", read_only=True)
    url = serializers.CharField(source="landing_page", read_only=True)

    class Meta:
        model = Touchpoint
        fields = ("id", "lead", "kind", "occurred_at", "url", "event_name", "campaign")
        read_only_fields = fields


class ActivitiesApi(Api):
    scopes = {"POST": scopes.ACTIVITIES_WRITE}

    @extend_schema(
        operation_id="activities_create",
        summary="Record an activity of a lead",
        description=(
            "A page view, email open or click, webinar, event or custom event; engagement "
            "rules score it within seconds. Send your own `id` to make retries harmless."
        ),
        request=ActivityInput,
        responses={201: ActivityOutput, **errors(400, 404)},
        examples=[
            OpenApiExample(
                "pricing page",
                value={
                    "email": "ana.silva@example.com",
                    "kind": "pricing_view",
                    "url": "https://www.example.com/pricing",
                    "occurred_at": "2026-11-27T09:14:00Z",
                    "id": "web-7f3a",
                },
                request_only=True,
            ),
            OpenApiExample(
                "recorded",
                value={
                    "id": 981,
                    "lead": 42,
                    "kind": "pricing_view",
                    "occurred_at": "2026-11-27T09:14:00Z",
                    "url": "https://www.example.com/pricing",
                    "event_name": "",
                    "campaign": None,
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = ActivityInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        leads = Lead.objects.filter(erased_at=None)
        if args.get("lead"):
            leads = leads.filter(pk=args["lead"])
        elif args.get("email"):
            leads = leads.filter(email=services.normalize_email(args["email"]))
        else:
            leads = leads.filter(external_id=args["external_id"].strip())
        lead_id = leads.values_list("pk", flat=True).first()
        if lead_id is None:
            raise Http404
        if args.get("campaign") and not Campaign.objects.filter(pk=args["campaign"]).exists():
            raise serializers.ValidationError({"campaign": [_("No campaign has this id.")]})
        principal = getattr(request.auth, "pk", None) or f"user-{self.user().pk}"
        touch = services.activity_record(
            lead_id=lead_id,
            kind=args["kind"],
            occurred_at=args.get("occurred_at"),
            url=args.get("url", ""),
            event_name=args.get("event_name", ""),
            campaign_id=args.get("campaign"),
            dedupe_key=f"api:{principal}:{args['id']}" if args.get("id") else None,
        )
        return Response(ActivityOutput(touch).data, status=status.HTTP_201_CREATED)
