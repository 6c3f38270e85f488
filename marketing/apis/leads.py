"""Leads over the API: the lead serializers and examples, list (filtered, keyset pages),
get, create, update, upsert by external id or email, and the batch of up to 1,000."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from leadflow.api import scopes
from leadflow.api.errors import error_body
from leadflow.api.pagination import page_serializer
from leadflow.api.schema import errors
from leadflow.api.views import Api
from marketing import selectors, upserts
from marketing.models import Grade, Lead, Stage


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
