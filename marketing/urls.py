from django.urls import path

from marketing import views

app_name = "marketing"
urlpatterns = [
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("leads/", views.leads, name="leads"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead"),
    path("f/<str:key>/", views.public_form, name="public_form"),
]
