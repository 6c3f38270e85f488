from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from leadflow.models import Role

# (url name, label, roles that see it); admins see everything.
NAVIGATION = [
    ("marketing:campaigns", _("Campaigns"), {Role.MARKETER, Role.MANAGER}),
    ("marketing:leads", _("Leads"), {Role.MARKETER, Role.MANAGER}),
    ("marketing:imports", _("Import"), {Role.MARKETER, Role.MANAGER}),
    ("marketing:duplicates", _("Duplicates"), {Role.MARKETER, Role.MANAGER}),
    ("marketing:scoring", _("Scoring"), {Role.MARKETER, Role.MANAGER}),
    ("handoff:qualification", _("Qualification"), {Role.MARKETER, Role.MANAGER}),
    ("handoff:queue", _("My queue"), {Role.REP, Role.MANAGER}),
    ("handoff:today", _("Today"), {Role.REP, Role.MANAGER}),
    ("sales:board", _("Pipeline"), {Role.REP, Role.MANAGER}),
    ("sales:deals", _("Deals"), {Role.REP, Role.MANAGER}),
    ("handoff:team", _("My team"), {Role.MANAGER}),
    ("handoff:rejections", _("Rejections"), {Role.MARKETER, Role.MANAGER}),
    ("handoff:dashboard", _("Dashboard"), {Role.MANAGER, Role.MARKETER, Role.REP}),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"nav_items": []}
    is_admin = user.is_superuser or user.role == Role.ADMIN
    items = [
        {"url_name": name, "label": label}
        for name, label, roles in NAVIGATION
        if is_admin or user.role in roles
    ]
    return {"nav_items": items}
