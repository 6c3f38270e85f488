from django.urls import path

from sales import views

app_name = "sales"
urlpatterns = [
    path("board/", views.board, name="board"),
    path("deals/", views.deal_list, name="deals"),
    path("deals/<int:deal_id>/", views.deal_detail, name="deal"),
    path("deals/<int:deal_id>/move/", views.deal_move, name="deal_move"),
    path("deals/<int:deal_id>/edit/", views.deal_edit, name="deal_edit"),
    path("deals/<int:deal_id>/touch/", views.deal_touch, name="deal_touch"),
    path("deals/<int:deal_id>/task/", views.deal_task, name="deal_task"),
    path("accounts/", views.account_list, name="accounts"),
    path("accounts/<int:account_id>/", views.account_detail, name="account"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact"),
    path("contacts/<int:contact_id>/touch/", views.contact_touch, name="contact_touch"),
    path("contacts/<int:contact_id>/task/", views.contact_task, name="contact_task"),
    path("tasks/<int:task_id>/done/", views.task_done, name="task_done"),
    path("settings/", views.pipeline_settings, name="settings"),
    path("settings/pipelines/", views.pipeline_create, name="pipeline_create"),
    path("settings/pipelines/<int:pipeline_id>/stages/", views.stage_save, name="stage_add"),
    path(
        "settings/pipelines/<int:pipeline_id>/stages/<int:stage_id>/",
        views.stage_save,
        name="stage_save",
    ),
    path(
        "settings/pipelines/<int:pipeline_id>/stages/<int:stage_id>/delete/",
        views.stage_delete,
        name="stage_delete",
    ),
    path("settings/pipelines/<int:pipeline_id>/order/", views.stage_reorder, name="stage_reorder"),
    path("settings/visibility/", views.team_visibility, name="team_visibility"),
    path("settings/reasons/", views.reason_add, name="reason_add"),
    path("settings/reasons/<int:reason_id>/toggle/", views.reason_toggle, name="reason_toggle"),
]
