"""Handoff's REST API: handoffs (list, get, claim, accept, reject) and the shared KPIs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from handoff import selectors, services
from handoff.models import Handoff, RejectReason
from leadflow.api import scopes
from leadflow.api.pagination import page_serializer
from leadflow.api.schema import errors
from leadflow.api.views import Api
from leadflow.models import Role, Team

# --- Handoffs -------------------------------------------------------------------------------


class HandoffOutput(serializers.ModelSerializer[Handoff]):
    lead_email = serializers.EmailField(source="lead.email", read_only=True, allow_null=True)
    lead_name = serializers.CharField(source="lead.full_name", read_only=True)
    company = serializers.CharField(source="lead.company", read_only=True)

    class Meta:
        model = Handoff
        fields = (
            "id",
            "lead",
            "lead_email",
            "lead_name",
            "company",
            "rule_name",
            "score_snapshot",
            "sla_tier",
            "team",
            "assigned_to",
            "routing_reason",
            "status",
            "reject_reason",
            "reject_note",
            "deal",
            "handed_off_at",
            "accept_due_at",
            "touch_due_at",
            "assigned_at",
            "accepted_at",
            "rejected_at",
            "first_touch_at",
            "converted_at",
        )
        read_only_fields = fields


HANDOFF_EXAMPLE = OpenApiExample(
    "a handoff",
    value={
        "id": 12,
        "lead": 42,
        "lead_email": "ana.silva@example.com",
        "lead_name": "Ana Silva",
        "company": "Example GmbH",
        "rule_name": "Hot: demo requests",
        "score_snapshot": {"fit": 45, "engagement": 60},
        "sla_tier": "hot",
        "team": 1,
        "assigned_to": 7,
        "routing_reason": "round robin",
        "status": "pending",
        "reject_reason": "",
        "reject_note": "",
        "deal": None,
        "handed_off_at": "2026-11-27T09:00:00Z",
        "accept_due_at": "2026-11-27T09:15:00Z",
        "touch_due_at": "2026-11-27T10:00:00Z",
        "assigned_at": "2026-11-27T09:00:01Z",
        "accepted_at": None,
        "rejected_at": None,
        "first_touch_at": None,
        "converted_at": None,
    },
    response_only=True,
)


class HandoffFilter(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=Handoff.Status.choices, required=False)
    mine = serializers.BooleanField(required=False, help_text="Only those assigned to me.")
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200)


class RejectInput(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=RejectReason.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class HandoffsApi(Api):
    scopes = {"GET": scopes.HANDOFFS_READ}

    @extend_schema(
        operation_id="handoffs_list",
        summary="List my handoffs and my team's",
        description="A rep sees theirs and the team pool; a manager the team's.",
        parameters=[HandoffFilter],
        responses={200: page_serializer("HandoffPage", HandoffOutput), **errors(400)},
        examples=[HANDOFF_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        query = HandoffFilter(data=request.query_params)
        query.is_valid(raise_exception=True)
        handoffs = selectors.handoffs_visible_to(self.user()).select_related("lead")
        if "status" in query.validated_data:
            handoffs = handoffs.filter(status=query.validated_data["status"])
        if query.validated_data.get("mine"):
            handoffs = handoffs.filter(assigned_to=self.user())
        return self.page(request, handoffs, HandoffOutput)


class HandoffApi(Api):
    scopes = {"GET": scopes.HANDOFFS_READ}

    @extend_schema(
        operation_id="handoffs_get",
        summary="Get a handoff",
        responses={200: HandoffOutput, **errors(404)},
        examples=[HANDOFF_EXAMPLE],
    )
    def get(self, request: Request, handoff_id: int) -> Response:
        handoff = selectors.handoff_get_for(user=self.user(), handoff_id=handoff_id)
        return Response(HandoffOutput(handoff).data)


def _visible(api: Api, handoff_id: int) -> Handoff:
    return selectors.handoff_get_for(user=api.user(), handoff_id=handoff_id)


def _fresh(handoff_id: int) -> Response:
    return Response(HandoffOutput(Handoff.objects.select_related("lead").get(pk=handoff_id)).data)


class HandoffClaimApi(Api):
    scopes = {"POST": scopes.HANDOFFS_WRITE}

    @extend_schema(
        operation_id="handoffs_claim",
        summary="Claim a handoff from the team pool",
        description="Of two reps claiming at once, one gets it; the other gets 409.",
        request=None,
        responses={200: HandoffOutput, **errors(404, 409)},
        examples=[HANDOFF_EXAMPLE],
    )
    def post(self, request: Request, handoff_id: int) -> Response:
        handoff = _visible(self, handoff_id)
        services.handoff_claim(handoff_id=handoff.pk, user=self.user())
        return _fresh(handoff.pk)


class HandoffAcceptApi(Api):
    scopes = {"POST": scopes.HANDOFFS_WRITE}

    @extend_schema(
        operation_id="handoffs_accept",
        summary="Accept a handoff assigned to me",
        request=None,
        responses={200: HandoffOutput, **errors(404, 409)},
        examples=[HANDOFF_EXAMPLE],
    )
    def post(self, request: Request, handoff_id: int) -> Response:
        handoff = _visible(self, handoff_id)
        services.handoff_accept(handoff_id=handoff.pk, user=self.user())
        return _fresh(handoff.pk)


class HandoffRejectApi(Api):
    scopes = {"POST": scopes.HANDOFFS_WRITE}

    @extend_schema(
        operation_id="handoffs_reject",
        summary="Reject a handoff with a reason",
        description="The lead goes back to marketing as recycled.",
        request=RejectInput,
        responses={200: HandoffOutput, **errors(400, 404, 409)},
        examples=[
            OpenApiExample(
                "bad timing", value={"reason": "bad_timing", "note": "Q3"}, request_only=True
            ),
            HANDOFF_EXAMPLE,
        ],
    )
    def post(self, request: Request, handoff_id: int) -> Response:
        handoff = _visible(self, handoff_id)
        data = RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.handoff_reject(
            handoff_id=handoff.pk,
            user=self.user(),
            reason=data.validated_data["reason"],
            note=data.validated_data.get("note", ""),
        )
        return _fresh(handoff.pk)


# --- KPIs -----------------------------------------------------------------------------------


class KpiFilter(serializers.Serializer[Any]):
    period = serializers.IntegerField(
        required=False, min_value=1, max_value=3660, help_text="Days back from now (90)."
    )
    team = serializers.IntegerField(required=False, min_value=1)


class KpiOutput(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    team = serializers.IntegerField(allow_null=True)
    leads = serializers.IntegerField()
    mqls = serializers.IntegerField()
    sqls = serializers.IntegerField()
    accepted = serializers.IntegerField()
    opportunities = serializers.IntegerField()
    won = serializers.IntegerField()
    won_value = serializers.FloatField()
    median_accept_minutes = serializers.FloatField(allow_null=True)
    conversion = serializers.DictField(child=serializers.FloatField(allow_null=True))


class KpisApi(Api):
    scopes = {"GET": scopes.KPIS_READ}

    @extend_schema(
        operation_id="kpis_get",
        summary="The dashboard's numbers",
        description=(
            "The funnel of leads created in the period, as the dashboard shows it, with the "
            "same filters; a rep always gets their own team's numbers."
        ),
        parameters=[KpiFilter],
        responses={200: KpiOutput, **errors(400)},
        examples=[
            OpenApiExample(
                "90 days",
                value={
                    "start": "2026-08-29T12:00:00Z",
                    "end": "2026-11-27T12:00:00Z",
                    "team": None,
                    "leads": 5000,
                    "mqls": 1400,
                    "sqls": 900,
                    "accepted": 700,
                    "opportunities": 300,
                    "won": 80,
                    "won_value": 1200000.0,
                    "median_accept_minutes": 12.5,
                    "conversion": {
                        "mqls": 28.0,
                        "sqls": 64.3,
                        "accepted": 77.8,
                        "opportunities": 42.9,
                        "won": 26.7,
                    },
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        query = KpiFilter(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = self.user()
        team_id = query.validated_data.get("team")
        if user.role == Role.REP:
            team_id = user.team_id
        elif team_id is not None and not Team.objects.filter(pk=team_id).exists():
            raise serializers.ValidationError({"team": ["No team has this id."]})
        end = timezone.now()
        start = end - timedelta(days=query.validated_data.get("period", 90))
        funnel = selectors.dashboard_funnel(start=start, end=end, team_id=team_id)
        return Response(
            {
                "start": start,
                "end": end,
                "team": team_id,
                "leads": funnel.leads,
                "mqls": funnel.mqls,
                "sqls": funnel.sqls,
                "accepted": funnel.accepted,
                "opportunities": funnel.opportunities,
                "won": funnel.won,
                "won_value": funnel.won_value,
                "median_accept_minutes": funnel.median_accept_minutes,
                "conversion": funnel.conversion,
            }
        )
