"""/api/v1/: every endpoint of the API, and its schema and docs."""

from django.urls import path

from handoff import apis as handoff_apis
from leadflow.api.views import RedocView, SchemaView, SwaggerView
from marketing import apis as marketing_apis

app_name = "api"

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", RedocView.as_view(url_name="api:schema"), name="redoc"),
    # Marketing
    path("leads/", marketing_apis.LeadsApi.as_view(), name="leads"),
    path("leads/upsert/", marketing_apis.LeadUpsertApi.as_view(), name="lead-upsert"),
    path("leads/batch/", marketing_apis.LeadBatchApi.as_view(), name="lead-batch"),
    path("leads/<int:lead_id>/", marketing_apis.LeadApi.as_view(), name="lead"),
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
    # Handoff: the shared KPIs
    path("kpis/", handoff_apis.KpisApi.as_view(), name="kpis"),
]
