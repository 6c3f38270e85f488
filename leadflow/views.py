from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow import notifications
from leadflow.models import NotificationKind, Role, User


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to where its work is."""
    user = request.user
    assert isinstance(user, User)
    if user.role == Role.MARKETER:
        return redirect("marketing:campaigns")
    if user.role == Role.REP:
        return redirect("handoff:queue")
    return redirect("handoff:dashboard")


@require_GET
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness plus a database round trip; load balancers poll it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# --- Notifications: the bell, the inbox and the preferences -------------------------------


def _me(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The bell's unread count; the top bar polls it."""
    count = notifications.notification_unread_count(user=_me(request))
    return render(request, "leadflow/_bell.html", {"unread": count})


@login_required
@require_http_methods(["GET", "POST"])
def notification_inbox(request: HttpRequest) -> HttpResponse:
    """The latest notifications; POST marks them all read."""
    user = _me(request)
    if request.method == "POST":
        notifications.notification_mark_read(user=user)
        return redirect("notifications")
    items = list(notifications.notification_inbox(user=user)[:100])
    return render(
        request,
        "leadflow/notifications.html",
        {"items": items, "unread": sum(1 for n in items if n.read_at is None)},
    )


@login_required
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read and go where it points (only ever a local page)."""
    user = _me(request)
    item = notifications.notification_inbox(user=user).filter(pk=notification_id).first()
    if item is None:
        raise Http404
    notifications.notification_mark_read(user=user, notification_id=item.pk)
    safe = url_has_allowed_host_and_scheme(item.url, allowed_hosts=None)
    return redirect(item.url if item.url and safe else "notifications")


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request: HttpRequest) -> HttpResponse:
    """Per event: in the app, by email, both or neither."""
    user = _me(request)
    if request.method == "POST":
        notifications.notification_preferences_set(
            user=user,
            choices={
                kind: (f"{kind}:app" in request.POST, f"{kind}:email" in request.POST)
                for kind in NotificationKind.values
            },
        )
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notification_preferences")
    return render(
        request,
        "leadflow/notification_preferences.html",
        {"rows": notifications.notification_preferences_for(user=user), "email": user.email},
    )
