"""/api/v1/: every endpoint of the API, and its schema and docs."""

from django.urls import path

from handoff import apis as handoff_apis
from leadflow.api.views import RedocView, SchemaView, SwaggerView, docs_view
from marketing import apis as marketing_apis
from sales import apis as sales_apis

app_name = "api"

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", docs_view(SwaggerView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", docs_view(RedocView.as_view(url_name="api:schema")), name="redoc"),
    # Marketing
    path("leads/", marketing_apis.LeadsApi.as_view(), name="leads"),
    path("leads/upsert/", marketing_apis.LeadUpsertApi.as_view(), name="lead-upsert"),
    path("leads/batch/", marketing_apis.LeadBatchApi.as_view(), name="lead-batch"),
    path("leads/<int:lead_id>/", marketing_apis.LeadApi.as_view(), name="lead"),
    path("activities/", marketing_apis.ActivitiesApi.as_view(), name="activities"),
    path("campaigns/", marketing_apis.CampaignsApi.as_view(), name="campaigns"),
    path("campaigns/<int:campaign_id>/", marketing_apis.CampaignApi.as_view(), name="campaign"),
    path("forms/", marketing_apis.FormsApi.as_view(), name="forms"),
    path("forms/<int:form_id>/", marketing_apis.FormApi.as_view(), name="form"),
    path("imports/", marketing_apis.ImportsApi.as_view(), name="imports"),
    path("imports/<int:job_id>/", marketing_apis.ImportApi.as_view(), name="import"),
    path(
        "imports/<int:job_id>/errors/",
        marketing_apis.ImportErrorsApi.as_view(),
        name="import-errors",
    ),
    # Handoff
    path("handoffs/", handoff_apis.HandoffsApi.as_view(), name="handoffs"),
    path("handoffs/<int:handoff_id>/", handoff_apis.HandoffApi.as_view(), name="handoff"),
    path(
        "handoffs/<int:handoff_id>/claim/",
        handoff_apis.HandoffClaimApi.as_view(),
        name="handoff-claim",
    ),
    path(
        "handoffs/<int:handoff_id>/accept/",
        handoff_apis.HandoffAcceptApi.as_view(),
        name="handoff-accept",
    ),
    path(
        "handoffs/<int:handoff_id>/reject/",
        handoff_apis.HandoffRejectApi.as_view(),
        name="handoff-reject",
    ),
    path("kpis/", handoff_apis.KpisApi.as_view(), name="kpis"),
    # Sales
    path("deals/", sales_apis.DealsApi.as_view(), name="deals"),
    path("deals/<int:deal_id>/", sales_apis.DealApi.as_view(), name="deal"),
    path("deals/<int:deal_id>/stage/", sales_apis.DealStageApi.as_view(), name="deal-stage"),
    path("deals/<int:deal_id>/won/", sales_apis.DealWonApi.as_view(), name="deal-won"),
    path("deals/<int:deal_id>/lost/", sales_apis.DealLostApi.as_view(), name="deal-lost"),
    path("accounts/", sales_apis.AccountsApi.as_view(), name="accounts"),
    path("accounts/<int:account_id>/", sales_apis.AccountApi.as_view(), name="account"),
    path("contacts/", sales_apis.ContactsApi.as_view(), name="contacts"),
    path("contacts/<int:contact_id>/", sales_apis.ContactApi.as_view(), name="contact"),
]
