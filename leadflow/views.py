from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from leadflow.models import Role, User


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
