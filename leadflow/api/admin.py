"""The admin's pages for API tokens and webhooks (in /admin/, where users and teams are).

A token is shown once, in the message after it is created; only its hash is kept.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leadflow.api import tokens, webhooks
from leadflow.api.models import ApiToken, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from leadflow.api.scopes import SCOPES, scopes_for_role
from leadflow.errors import ApplicationError
from leadflow.models import User


def _admin_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("scopes"),
        choices=[(name, f"{name} — {label}") for name, label in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiToken
        fields = ("name", "kind", "user", "scopes", "expires_at", "rate_per_minute", "rate_per_day")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user = data.get("user")
        if user is not None:
            beyond = sorted(set(data.get("scopes") or []) - scopes_for_role(user))
            if beyond:
                self.add_error(
                    "scopes",
                    _("%(user)s's role does not allow “%(scope)s”.")
                    % {"user": user.get_username(), "scope": beyond[0]},
                )
        return data


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = (
        "name",
        "prefix",
        "user",
        "kind",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("kind",)
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        if obj is None:
            return ()
        return (
            "name",
            "kind",
            "user",
            "prefix",
            "scopes",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "rate_per_minute",
            "rate_per_day",
            "created_by",
            "created_at",
        )

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        if obj is None:
            return ApiTokenForm.Meta.fields
        return self.get_readonly_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return
        made = tokens.token_create(
            created_by=_admin_user(request),
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            kind=form.cleaned_data["kind"],
            expires_at=form.cleaned_data["expires_at"],
            rate_per_minute=form.cleaned_data["rate_per_minute"],
            rate_per_day=form.cleaned_data["rate_per_day"],
        )
        # The admin's "added" message and redirect name this object: make it the token.
        obj.pk, obj.prefix, obj.key_hash = made.token.pk, made.token.prefix, made.token.key_hash
        messages.warning(
            request,
            _("Copy the token now, it is not shown again: %(token)s") % {"token": made.raw},
        )

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            tokens.token_revoke(token_id=token.pk, actor=_admin_user(request))
        messages.success(request, _("Revoked."))


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("events"),
        choices=[(name, f"{name} — {label}") for name, label in webhooks.EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "event_types", "is_active")

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"])
        try:
            webhooks.url_check(url)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return url


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ("event_type", "status", "attempts", "last_status_code", "last_error", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ("-created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).order_by("-created_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "event_types", "is_active", "consecutive_failures", "disabled_reason")
    readonly_fields = (
        "secret",
        "previous_secret_expires_at",
        "consecutive_failures",
        "failing_since",
        "disabled_at",
        "disabled_reason",
    )
    inlines = [WebhookDeliveryInline]
    actions = ["rotate_secret"]

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> Any:
        fields = list(WebhookEndpointForm.Meta.fields)
        return fields if obj is None else [*fields, *self.readonly_fields]

    def get_inlines(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> Any:
        return self.inlines if obj is not None else []

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            webhooks.endpoint_update(
                endpoint_id=obj.pk,
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
                is_active=data["is_active"],
            )
            return
        made = webhooks.endpoint_create(
            created_by=_admin_user(request),
            url=data["url"],
            event_types=data["event_types"],
            description=data["description"],
        )
        obj.pk = made.pk

    @admin.action(description=gettext_lazy("Rotate the secret (the old one signs for 24 h)"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhooks.endpoint_secret_rotate(endpoint_id=endpoint.pk, actor=_admin_user(request))
        messages.success(request, _("New secrets made; both sign for the next 24 hours."))


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("started_at", "status_code", "error", "response_excerpt", "duration_ms")
    readonly_fields = fields
    extra = 0
    max_num = 0

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    )
    list_filter = ("status", "event_type", "endpoint")
    readonly_fields = (
        "endpoint",
        "event_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    )
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Redeliver"))
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            webhooks.delivery_redeliver(delivery_id=delivery.pk, actor=_admin_user(request))
        messages.success(request, _("Queued again."))
