from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from leadflow import ratelimit
from leadflow.models import Event, Team, User
from leadflow.services import user_access_record, user_access_snapshot


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "team", "is_away", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("LeadFlow", {"fields": ("role", "team", "timezone", "is_away")}),
    )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Save, and audit a new account or a change of role, team or admin rights."""
        before = None
        if change:
            before = user_access_snapshot(User.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)
        assert isinstance(request.user, User)
        user_access_record(
            actor=request.user, user=obj, before=before, ip=ratelimit.client_ip(request)
        )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "visibility")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "subject_type", "subject_id", "kind", "new_value", "actor")
    list_filter = ("subject_type", "kind")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


# API tokens and webhooks.
from leadflow.api import admin as api_admin  # noqa: E402, F401
