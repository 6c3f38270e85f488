from django.urls import path

from marketing import scoring_views, views

app_name = "marketing"
urlpatterns = [
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
    path("leads/", views.leads, name="leads"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead"),
    path("scoring/", scoring_views.scoring_page, name="scoring"),
    path("scoring/rules/new/", scoring_views.scoring_rule, name="scoring_rule_new"),
    path("scoring/rules/<int:rule_id>/", scoring_views.scoring_rule, name="scoring_rule"),
    path("scoring/jobs/<int:job_id>/", scoring_views.scoring_job, name="scoring_job"),
    path("f/<str:key>/", views.public_form, name="public_form"),
    path(
        "f/<str:key>/definition/",
        views.public_form_definition,
        name="public_form_definition",
    ),
    path("forms/<int:form_id>/", views.form_edit, name="form_edit"),
    path("leads/duplicates/", views.duplicates_list, name="duplicates"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("imports/", views.imports_page, name="imports"),
    path("imports/<int:job_id>/", views.import_detail, name="import"),
    path("imports/<int:job_id>/preview/", views.import_preview, name="import_preview"),
    path("imports/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:job_id>/retry/", views.import_retry, name="import_retry"),
    path("imports/<int:job_id>/rejected.csv", views.import_report, name="import_report"),
]
