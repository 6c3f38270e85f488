"""Sales' REST API: deals (create, list, get, update, stage, won, lost), accounts and
contacts (read). Every read goes through the visibility selectors."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from leadflow.api import scopes
from leadflow.api.pagination import page_serializer
from leadflow.api.schema import errors
from leadflow.api.views import Api
from leadflow.errors import ApplicationError
from sales import selectors, services
from sales.models import Account, Contact, Deal, PipelineStage

PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, required=False),
    OpenApiParameter("limit", int, required=False),
]


class DealOutput(serializers.ModelSerializer[Deal]):
    outcome = serializers.CharField(source="stage.outcome", read_only=True)

    class Meta:
        model = Deal
        fields = (
            "id",
            "name",
            "account",
            "contact",
            "pipeline",
            "stage",
            "outcome",
            "amount",
            "currency",
            "expected_close",
            "owner",
            "team",
            "lead",
            "source",
            "campaign_name",
            "close_reason",
            "created_at",
            "closed_at",
        )
        read_only_fields = fields


DEAL_OUT_EXAMPLE = OpenApiExample(
    "a deal",
    value={
        "id": 17,
        "name": "Example GmbH — 50 seats",
        "account": 5,
        "contact": 9,
        "pipeline": 1,
        "stage": 3,
        "outcome": "open",
        "amount": "24000.00",
        "currency": "EUR",
        "expected_close": "2026-12-20",
        "owner": 7,
        "team": 2,
        "lead": 42,
        "source": "google",
        "campaign_name": "Spring webinar",
        "close_reason": "",
        "created_at": "2026-11-02T10:00:00Z",
        "closed_at": None,
    },
    response_only=True,
)


class DealCreateInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    currency = serializers.CharField(max_length=3, required=False)
    expected_close = serializers.DateField(required=False, allow_null=True)
    pipeline = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    account = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="An existing account's id."
    )
    email = serializers.EmailField(help_text="The contact person's address.")
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    job_title = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DealUpdateInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    currency = serializers.CharField(max_length=3, required=False)
    expected_close = serializers.DateField(required=False, allow_null=True)


class StageInput(serializers.Serializer[Any]):
    stage = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class CloseInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=200, help_text="One of the close reasons.")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


def _deal(request: Request, deal_id: int) -> Deal:
    user = request.user
    return selectors.deal_get_for(user=user, deal_id=deal_id)  # type: ignore[arg-type]


class DealsApi(Api):
    scopes = {"GET": scopes.DEALS_READ, "POST": scopes.DEALS_WRITE}

    @extend_schema(
        operation_id="deals_list",
        summary="List the deals you may see",
        parameters=PAGE_PARAMETERS,
        responses={200: page_serializer("DealPage", DealOutput), **errors(400)},
        examples=[DEAL_OUT_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        deals = selectors.deals_visible_to(self.user()).select_related("stage")
        return self.page(request, deals, DealOutput)

    @extend_schema(
        operation_id="deals_create",
        summary="Create a deal",
        description=(
            "A deal with its contact and account (matched by email domain, or the account "
            "given); you own it, in your team's pipeline unless another is given."
        ),
        request=DealCreateInput,
        responses={201: DealOutput, **errors(400)},
        examples=[
            OpenApiExample(
                "a deal",
                value={"name": "50 seats", "amount": "24000", "email": "ana@example.com"},
                request_only=True,
            ),
            DEAL_OUT_EXAMPLE,
        ],
    )
    def post(self, request: Request) -> Response:
        data = DealCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        user = self.user()
        account_id = args.get("account")
        if account_id and not selectors.accounts_visible_to(user).filter(pk=account_id).exists():
            raise ApplicationError("No account you can see has this id.", field="account")
        conversion = services.person_convert(
            person=services.PersonInput(
                lead_id=None,
                email=args["email"],
                first_name=args.get("first_name", ""),
                last_name=args.get("last_name", ""),
                company=args.get("company", ""),
                job_title=args.get("job_title", ""),
            ),
            account_id=account_id,
            deal=services.DealInput(
                pipeline_id=args.get("pipeline"),
                name=args["name"],
                amount=args["amount"],
                currency=args.get("currency") or services.DEFAULT_CURRENCY,
                expected_close=args.get("expected_close"),
            ),
            owner=user,
            team=user.team,
            attribution=services.Attribution(),
        )
        response = Response(DealOutput(conversion.deal).data, status=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:deal", kwargs={"deal_id": conversion.deal.pk})
        return response


class DealApi(Api):
    scopes = {"GET": scopes.DEALS_READ, "PATCH": scopes.DEALS_WRITE}

    @extend_schema(
        operation_id="deals_get",
        summary="Get a deal",
        responses={200: DealOutput, **errors(404)},
        examples=[DEAL_OUT_EXAMPLE],
    )
    def get(self, request: Request, deal_id: int) -> Response:
        return Response(DealOutput(_deal(request, deal_id)).data)

    @extend_schema(
        operation_id="deals_update",
        summary="Update a deal's name, amount and expected close",
        request=DealUpdateInput,
        responses={200: DealOutput, **errors(400, 404)},
        examples=[DEAL_OUT_EXAMPLE],
    )
    def patch(self, request: Request, deal_id: int) -> Response:
        deal = _deal(request, deal_id)
        data = DealUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = {
            "name": deal.name,
            "amount": deal.amount,
            "currency": deal.currency,
            "expected_close": deal.expected_close,
            **data.validated_data,
        }
        deal = services.deal_update(deal_id=deal.pk, actor=self.user(), **args)
        return Response(DealOutput(deal).data)


class DealStageApi(Api):
    scopes = {"POST": scopes.DEALS_WRITE}

    @extend_schema(
        operation_id="deals_stage",
        summary="Move a deal to another stage",
        description="Won and lost stages need a reason from the close reasons.",
        request=StageInput,
        responses={200: DealOutput, **errors(400, 404)},
        examples=[
            OpenApiExample("next stage", value={"stage": 3}, request_only=True),
            DEAL_OUT_EXAMPLE,
        ],
    )
    def post(self, request: Request, deal_id: int) -> Response:
        deal = _deal(request, deal_id)
        data = StageInput(data=request.data)
        data.is_valid(raise_exception=True)
        deal = services.deal_move(
            deal_id=deal.pk,
            stage_id=data.validated_data["stage"],
            actor=self.user(),
            reason=data.validated_data.get("reason", ""),
            note=data.validated_data.get("note", ""),
        )
        return Response(DealOutput(deal).data)


class _DealCloseApi(Api):
    scopes = {"POST": scopes.DEALS_WRITE}
    outcome = PipelineStage.Outcome.WON

    def post(self, request: Request, deal_id: int) -> Response:
        deal = _deal(request, deal_id)
        data = CloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        stage = (
            PipelineStage.objects.filter(pipeline_id=deal.pipeline_id, outcome=self.outcome)
            .order_by("position")
            .first()
        )
        if stage is None:
            raise ApplicationError("The deal's pipeline has no such stage.")
        deal = services.deal_move(
            deal_id=deal.pk,
            stage_id=stage.pk,
            actor=self.user(),
            reason=data.validated_data["reason"],
            note=data.validated_data.get("note", ""),
        )
        return Response(DealOutput(deal).data)


class DealWonApi(_DealCloseApi):
    outcome = PipelineStage.Outcome.WON

    @extend_schema(
        operation_id="deals_won",
        summary="Mark a deal won",
        request=CloseInput,
        responses={200: DealOutput, **errors(400, 404)},
        examples=[
            OpenApiExample("won", value={"reason": "Best fit"}, request_only=True),
            DEAL_OUT_EXAMPLE,
        ],
    )
    def post(self, request: Request, deal_id: int) -> Response:
        return super().post(request, deal_id)


class DealLostApi(_DealCloseApi):
    outcome = PipelineStage.Outcome.LOST

    @extend_schema(
        operation_id="deals_lost",
        summary="Mark a deal lost",
        request=CloseInput,
        responses={200: DealOutput, **errors(400, 404)},
        examples=[
            OpenApiExample("lost", value={"reason": "Price"}, request_only=True),
            DEAL_OUT_EXAMPLE,
        ],
    )
    def post(self, request: Request, deal_id: int) -> Response:
        return super().post(request, deal_id)


class AccountOutput(serializers.ModelSerializer[Account]):
    class Meta:
        model = Account
        fields = ("id", "name", "domain", "owner", "team", "created_at")
        read_only_fields = fields


class ContactOutput(serializers.ModelSerializer[Contact]):
    class Meta:
        model = Contact
        fields = (
            "id",
            "account",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "lead",
            "created_at",
        )
        read_only_fields = fields


ACCOUNT_OUT = {
    "id": 5,
    "name": "Example GmbH",
    "domain": "example.com",
    "owner": 7,
    "team": 2,
    "created_at": "2026-11-02T10:00:00Z",
}
CONTACT_OUT = {
    "id": 9,
    "account": 5,
    "first_name": "Ana",
    "last_name": "Silva",
    "email": "ana.silva@example.com",
    "phone": "+49301234567",
    "job_title": "Head of Marketing",
    "lead": 42,
    "created_at": "2026-11-02T10:00:00Z",
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


class AccountsApi(Api):
    scopes = {"GET": scopes.DEALS_READ}

    @extend_schema(
        operation_id="accounts_list",
        summary="List the accounts you may see",
        parameters=PAGE_PARAMETERS,
        responses={200: page_serializer("AccountPage", AccountOutput), **errors(400)},
        examples=[_page_example("accounts", ACCOUNT_OUT)],
    )
    def get(self, request: Request) -> Response:
        return self.page(request, selectors.accounts_visible_to(self.user()), AccountOutput)


class AccountApi(Api):
    scopes = {"GET": scopes.DEALS_READ}

    @extend_schema(
        operation_id="accounts_get",
        summary="Get an account",
        responses={200: AccountOutput, **errors(404)},
        examples=[OpenApiExample("an account", value=ACCOUNT_OUT, response_only=True)],
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = selectors.account_get_for(user=self.user(), account_id=account_id)
        return Response(AccountOutput(account).data)


class ContactsApi(Api):
    scopes = {"GET": scopes.DEALS_READ}

    @extend_schema(
        operation_id="contacts_list",
        summary="List the contacts you may see",
        parameters=PAGE_PARAMETERS,
        responses={200: page_serializer("ContactPage", ContactOutput), **errors(400)},
        examples=[_page_example("contacts", CONTACT_OUT)],
    )
    def get(self, request: Request) -> Response:
        return self.page(request, selectors.contacts_visible_to(self.user()), ContactOutput)


class ContactApi(Api):
    scopes = {"GET": scopes.DEALS_READ}

    @extend_schema(
        operation_id="contacts_get",
        summary="Get a contact",
        responses={200: ContactOutput, **errors(404)},
        examples=[OpenApiExample("a contact", value=CONTACT_OUT, response_only=True)],
    )
    def get(self, request: Request, contact_id: int) -> Response:
        contact = selectors.contact_get_for(user=self.user(), contact_id=contact_id)
        return Response(ContactOutput(contact).data)
