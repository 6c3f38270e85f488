from django.contrib import admin

from handoff.models import QualificationRule


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
