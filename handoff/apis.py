"""Handoff's REST API: handoffs (list, get, claim, accept, reject) and the shared KPIs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from handoff import selectors
from leadflow.api import scopes
from leadflow.api.schema import errors
from leadflow.api.views import Api
from leadflow.models import Role, Team

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
