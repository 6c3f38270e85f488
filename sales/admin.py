from django.contrib import admin

from sales.models import Account, CloseReason, Pipeline, PipelineStage, Task


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


@admin.register(CloseReason)
class CloseReasonAdmin(admin.ModelAdmin):
    list_display = ("label", "kind", "position", "is_active")
    list_filter = ("kind", "is_active")


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "due_at", "remind_at", "reminded_at", "done_at")
    list_filter = ("done_at",)
    raw_id_fields = ("owner", "created_by", "deal", "contact", "account")
