from django.urls import path

from handoff import dashboard_views, qualification_views, views

app_name = "handoff"
urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("today/", views.today, name="today"),
    path("queue/claim-next/", views.claim_next, name="claim_next"),
    path("queue/away/", views.away, name="away"),
    path("team/", views.team, name="team"),
    path("team/settings/", views.team_settings, name="team_settings"),
    path("handoffs/<int:handoff_id>/reassign/", views.reassign, name="reassign"),
    path("rejections/", views.rejections, name="rejections"),
    path("handoffs/<int:handoff_id>/", views.detail, name="detail"),
    path("handoffs/<int:handoff_id>/claim/", views.claim, name="claim"),
    path("handoffs/<int:handoff_id>/accept/", views.accept, name="accept"),
    path("handoffs/<int:handoff_id>/reject/", views.reject, name="reject"),
    path("handoffs/<int:handoff_id>/touch/", views.log_touch, name="touch"),
    path("handoffs/<int:handoff_id>/convert/", views.convert, name="convert"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/records/", dashboard_views.dashboard_records, name="dashboard_records"),
    path(
        "dashboard/export/<slug:table>.csv",
        dashboard_views.dashboard_export,
        name="dashboard_export",
    ),
    path("dashboard/targets/", dashboard_views.dashboard_targets, name="dashboard_targets"),
    path(
        "dashboard/targets/<int:target_id>/delete/",
        dashboard_views.dashboard_target_delete,
        name="dashboard_target_delete",
    ),
    path("dashboard/review/", dashboard_views.dashboard_review, name="review"),
    path("qualification/", qualification_views.qualification_rules, name="qualification"),
    path(
        "qualification/new/",
        qualification_views.qualification_rule,
        name="qualification_rule_new",
    ),
    path(
        "qualification/<int:rule_id>/",
        qualification_views.qualification_rule,
        name="qualification_rule",
    ),
    path(
        "qualification/<int:rule_id>/move/",
        qualification_views.qualification_rule_move,
        name="qualification_rule_move",
    ),
    path("leads/<int:lead_id>/export/", views.lead_export, name="lead_export"),
    path("leads/<int:lead_id>/erase/", views.lead_erase, name="lead_erase"),
    path("leads/<int:lead_id>/merge/<int:other_id>/", views.lead_merge, name="lead_merge"),
]
