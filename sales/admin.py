from django.contrib import admin

from sales.models import Account, Pipeline, PipelineStage


class StageInline(admin.TabularInline):
    model = PipelineStage
    extra = 0


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "is_default")
    inlines = [StageInline]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "owner", "team")
    search_fields = ("name", "domain")
