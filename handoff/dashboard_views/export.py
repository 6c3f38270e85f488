"""CSV export: one table of the dashboard with the page's filters, the same cells."""

from __future__ import annotations

from django.http import Http404, HttpResponse

from handoff import rollups
from handoff.dashboard_views.base import VIEWERS, _filters, _user
from handoff.dashboard_views.panels import _panels
from leadflow import csv_export, ratelimit
from leadflow.http import HtmxHttpRequest
from leadflow.permissions import role_required
from leadflow.services import audit_record


@role_required(*VIEWERS)
def dashboard_export(request: HtmxHttpRequest, table: str) -> HttpResponse:
    """One table of the page as CSV, with the page's filters: the same cells."""
    f = _filters(request)
    tables = _panels(f.kpi, f.query, rollups.rollups_refreshed_at())["tables"]
    if table not in tables:
        raise Http404
    data = tables[table]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{data.key}-{f.kpi.start.isoformat()}-{f.kpi.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    audit_record(
        actor=_user(request),
        action="kpi.export",
        subject_type="handoff.dashboard",
        detail={"table": table, "query": request.GET.urlencode()[:500]},
        ip=ratelimit.client_ip(request),
    )
    writer = csv_export.writer(response)
    writer.writerow(data.headers)
    for row in data.rows:
        writer.writerow([cell.text for cell in row])
    return response
