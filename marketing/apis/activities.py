"""Activities over the API: record a touchpoint of a lead, named by id, email or
external id; the caller's own id makes retries harmless."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from leadflow.api import scopes
from leadflow.api.schema import errors
from leadflow.api.views import Api
from marketing import services
from marketing.models import Campaign, Lead, Touchpoint

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
