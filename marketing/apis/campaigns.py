"""Campaigns (list, get, create, update) and capture forms (list, get) over the API."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from leadflow.api import scopes
from leadflow.api.pagination import page_serializer
from leadflow.api.schema import errors
from leadflow.api.views import Api
from marketing import services
from marketing.models import Campaign, Channel, Form


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
