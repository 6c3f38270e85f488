"""What a token may do: scopes, and the most each role may hold."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from leadflow.models import Role, User

LEADS_READ = "leads:read"
LEADS_WRITE = "leads:write"
ACTIVITIES_WRITE = "activities:write"
HANDOFFS_READ = "handoffs:read"
HANDOFFS_WRITE = "handoffs:write"
DEALS_READ = "deals:read"
DEALS_WRITE = "deals:write"
KPIS_READ = "kpis:read"

SCOPES = {
    LEADS_READ: _("Read leads, campaigns, forms and import jobs"),
    LEADS_WRITE: _("Create and change leads and campaigns; import CSV files"),
    ACTIVITIES_WRITE: _("Send activities (page views, email clicks, webinars)"),
    HANDOFFS_READ: _("Read handoffs (mine and my team's)"),
    HANDOFFS_WRITE: _("Claim, accept and reject handoffs"),
    DEALS_READ: _("Read deals, accounts and contacts"),
    DEALS_WRITE: _("Create and change deals; mark them won or lost"),
    KPIS_READ: _("Read the dashboard's numbers"),
}

# The most a person of each role may do through the API: what the browser lets them do.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.MARKETER: frozenset({LEADS_READ, LEADS_WRITE, ACTIVITIES_WRITE, KPIS_READ}),
    Role.REP: frozenset({HANDOFFS_READ, HANDOFFS_WRITE, DEALS_READ, DEALS_WRITE, KPIS_READ}),
    Role.MANAGER: frozenset(SCOPES),
    Role.ADMIN: frozenset(SCOPES),
}


def scopes_for_role(user: User) -> frozenset[str]:
    if user.is_superuser:
        return frozenset(SCOPES)
    return ROLE_SCOPES.get(user.role, frozenset())
