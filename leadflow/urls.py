from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from leadflow import views
from leadflow.auth import LoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("notifications/", views.notification_inbox, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path(
        "notifications/<int:notification_id>/open/",
        views.notification_open,
        name="notification_open",
    ),
    path(
        "notifications/settings/",
        views.notification_preferences,
        name="notification_preferences",
    ),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="leadflow/login.html", authentication_form=LoginForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("leadflow.api.urls")),
    path("", include("marketing.urls")),
    path("", include("handoff.urls")),
    path("sales/", include("sales.urls")),
]

# Under /api/ these answer in the API's error shape; elsewhere Django's pages.
handler404 = "leadflow.api.errors.api_page_not_found"
handler500 = "leadflow.api.errors.api_server_error"
