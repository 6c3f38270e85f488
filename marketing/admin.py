from django.contrib import admin

from marketing.models import Campaign, Form, Lead, ScoringRule


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "owner", "budget", "cost", "starts_on", "ends_on")
    list_filter = ("channel",)
    search_fields = ("name", "utm_campaign")


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):
    list_display = ("name", "campaign", "fast_track", "is_active", "key")
    list_filter = ("fast_track", "is_active")


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "axis", "field", "operator", "value", "points", "is_active")
    list_filter = ("axis", "is_active")


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("email", "company", "stage", "grade", "engagement_score", "created_at")
    list_filter = ("stage", "grade")
    search_fields = ("email", "last_name", "company")
    # Stage, owner and score change only through the services, which write the events.
    readonly_fields = (
        "stage",
        "owner",
        "fit_score",
        "engagement_score",
        "grade",
        "mql_at",
        "sql_at",
        "scored_at",
    )
