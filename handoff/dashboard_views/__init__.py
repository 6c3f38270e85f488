"""The shared KPI dashboard, its click-through records, CSV exports, targets and the
weekly alignment review.

Every table on the page is built once, as rows of cells; the page renders those rows and
the CSV export writes the same cells, so a download always says what the page says.
Charts are drawn by static/js/dashboard.js from JSON blocks built from the same KPIs.

The views live in submodules and are all importable from here:

- ``base``: who may look, today, the filters parsed from the query string, freshness.
- ``tables``: the tables as rows of cells, and the click-through links in them.
- ``charts``: the JSON blocks the charts are drawn from.
- ``panels``: the dashboard page, its panels computed, cached and warmed after a refresh.
- ``export``: one table as CSV.
- ``records``: the records behind one figure.
- ``targets``: the monthly targets page.
- ``review``: the weekly alignment review page.
"""

from handoff.dashboard_views.export import dashboard_export
from handoff.dashboard_views.panels import dashboard, dashboard_cache_warm
from handoff.dashboard_views.records import dashboard_records
from handoff.dashboard_views.review import dashboard_review
from handoff.dashboard_views.targets import dashboard_target_delete, dashboard_targets

__all__ = [
    "dashboard",
    "dashboard_cache_warm",
    "dashboard_export",
    "dashboard_records",
    "dashboard_review",
    "dashboard_target_delete",
    "dashboard_targets",
]
