from django.contrib import admin
from django.http import HttpRequest

from handoff.models import (
    BusinessHours,
    Holiday,
    QualificationRule,
    RepWeight,
    RoutingRule,
    SlaBreach,
    SlaPolicy,
    TeamRouting,
)


@admin.register(QualificationRule)
class QualificationRuleAdmin(admin.ModelAdmin):
    list_display = (
        "position",
        "name",
        "fast_track_only",
        "max_grade",
        "min_engagement",
        "sla_tier",
        "team",
        "is_active",
    )
    list_display_links = ("name",)
    list_editable = ("position", "is_active")


# --- Routing and SLA settings (edited by admins) -----------------------------------------


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = (
        "position",
        "name",
        "kind",
        "countries",
        "min_company_size",
        "max_company_size",
        "team",
        "is_active",
    )
    list_display_links = ("name",)
    list_editable = ("position", "is_active")


@admin.register(TeamRouting)
class TeamRoutingAdmin(admin.ModelAdmin):
    list_display = ("team", "strategy", "max_open_per_rep", "reroute_on_breach")
    exclude = ("last_rep",)


@admin.register(RepWeight)
class RepWeightAdmin(admin.ModelAdmin):
    list_display = ("user", "weight")
    exclude = ("credit",)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("tier", "accept_minutes", "touch_minutes", "business_time", "warn_minutes")


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ("team", "weekday", "opens", "closes")
    list_filter = ("team",)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("team", "date", "name")
    list_filter = ("team",)


@admin.register(SlaBreach)
class SlaBreachAdmin(admin.ModelAdmin):
    list_display = ("handoff", "kind", "team", "rep", "due_at", "breached_at", "rerouted_to")
    list_filter = ("team", "kind")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
