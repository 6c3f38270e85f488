"""The shared KPI dashboard, its click-through records, CSV exports, targets and the
weekly alignment review.

Every table on the page is built once, here, as rows of cells; the page renders those
rows and the CSV export writes the same cells, so a download always says what the page
says. Charts are drawn by static/js/dashboard.js from JSON blocks built from the same KPIs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from handoff import kpis, review, rollups, targets
from handoff.dashboard_forms import DEFAULT_DAYS, KpiFilterForm, TargetForm
from handoff.models import KpiTarget, RejectReason
from leadflow import csv_export, ratelimit
from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.models import Role, Team, User
from leadflow.permissions import MANAGERS, role_required
from leadflow.services import audit_record
from marketing.models import Campaign, Lead

logger = logging.getLogger(__name__)

VIEWERS = (Role.MANAGER, Role.MARKETER, Role.REP)
# A computed page lives this long in the cache (beat refreshes the rollups every 2 min).
CACHE_SECONDS = 600
# Older numbers than this are shown as stale (beat refreshes every two minutes).
STALE_AFTER = dt.timedelta(minutes=5)


def _user(request: HtmxHttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


# --- Filters ---------------------------------------------------------------------------


@dataclass
class Filters:
    form: KpiFilterForm
    kpi: kpis.KpiFilter
    query: str  # the filters as a query string, for links and exports


def _filters(request: HtmxHttpRequest, data: QueryDict | None = None) -> Filters:
    user = _user(request)
    data = request.GET if data is None else data
    is_rep = user.role == Role.REP and not user.is_superuser
    teams = [] if is_rep else list(Team.objects.values_list("pk", "name"))
    campaigns = Campaign.objects.order_by("name")
    if user.role == Role.MARKETER and not user.is_superuser:
        campaigns = campaigns.filter(owner=user)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT source FROM handoff_kpileadday WHERE source <> '' ORDER BY 1"
        )
        sources = [row[0] for row in cursor.fetchall()]
    # Always bound, with the default period when none is asked, so the page shows it.
    data = data.copy()
    data.setdefault("period", str(DEFAULT_DAYS))
    form = KpiFilterForm(
        data,
        teams=teams,
        campaigns=list(campaigns.values_list("pk", "name")),
        sources=sources,
    )
    start, end = form.dates(_today())
    kpi = kpis.filter_for(
        user,
        start=start,
        end=end,
        team_id=form.value("team"),
        campaign_id=form.value("campaign"),
        source=form.value("source") or "",
    )
    # The filters as they were understood, for the links and exports of the page.
    clean = form.cleaned_data if form.is_valid() else {}
    keep = {k: clean.get(k) for k in ("period", "team", "campaign", "source")}
    if clean.get("period") == "custom":
        keep |= {"start": clean["start"].isoformat(), "end": clean["end"].isoformat()}
    query = urlencode({k: v for k, v in keep.items() if v not in (None, "")})
    return Filters(form=form, kpi=kpi, query=query)


# --- Tables ----------------------------------------------------------------------------


@dataclass
class Cell:
    text: str
    url: str = ""

    def __html__(self) -> str:
        if self.url:
            return format_html('<a href="{}">{}</a>', self.url, self.text)
        return conditional_escape(self.text)


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    empty: str = ""
    export_url: str = ""

    def body_html(self) -> SafeString:
        """The rows as HTML, built here rather than by a template loop: the page has a
        few hundred cells and the template engine would be most of its server time."""
        return mark_safe(  # noqa: S308 -- every cell is escaped by Cell.__html__
            "".join(
                "<tr>" + "".join(f"<td>{cell.__html__()}</td>" for cell in row) + "</tr>"
                for row in self.rows
            )
        )


def _int(value: int | None) -> str:
    return "—" if value is None else str(value)


def _num(value: float | Decimal | None, places: int = 1) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def _money(value: float | Decimal | None) -> str:
    return _num(value, 2)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


class Links:
    """Click-through URLs: the records behind a figure, under the page's filters."""

    def __init__(self, query: str) -> None:
        self.query = query

    def __call__(self, figure: str, by: str = "", key: object = "") -> str:
        extra = {"figure": figure} | ({"by": by, "key": "" if key is None else key} if by else {})
        sep = "&" if self.query else ""
        return f"{reverse('handoff:dashboard_records')}?{self.query}{sep}{urlencode(extra)}"


def _waterfall_table(w: kpis.Waterfall, link: Links) -> Table:
    table = Table(
        "waterfall",
        _("Waterfall"),
        [
            _("Stage"),
            _("Count"),
            _("Conversion"),
            _("Drop-off"),
            _("Median days from the step before"),
        ],
    )
    for stage in w.stages:
        table.rows.append(
            [
                Cell(stage.label),
                Cell(_int(stage.count), link(stage.key) if stage.count is not None else ""),
                Cell(_percent(stage.conversion)),
                Cell(_percent(stage.drop_off)),
                Cell(_num(stage.median_days)),
            ]
        )
    return table


def _attainment_table(speed: kpis.Speed, link: Links) -> Table:
    table = Table(
        "sla",
        _("SLA attainment"),
        [
            _("By"),
            _("Name"),
            _("Accept: met"),
            _("Accept: missed"),
            _("Accept: attainment"),
            _("First touch: met"),
            _("First touch: missed"),
            _("First touch: attainment"),
        ],
        empty=_("No SLA clock ran out in this period yet."),
    )
    groups = {"rep": _("Rep"), "team": _("Team"), "tier": _("Tier")}
    for row in speed.attainment:
        table.rows.append(
            [
                Cell(groups[row.group]),
                Cell(row.label),
                Cell(str(row.accept_met)),
                Cell(str(row.accept_missed), link("accept_missed", row.group, row.key)),
                Cell(_percent(row.accept_rate)),
                Cell(str(row.touch_met)),
                Cell(str(row.touch_missed), link("touch_missed", row.group, row.key)),
                Cell(_percent(row.touch_rate)),
            ]
        )
    return table


def _breaches_table(breaches: list[kpis.Breach]) -> Table:
    table = Table(
        "breaches",
        _("Open breaches"),
        [_("Handoff"), _("Lead"), _("Team"), _("Rep"), _("Missed"), _("Handed off")],
        empty=_("No open handoff is past a deadline."),
    )
    for b in breaches:
        table.rows.append(
            [
                Cell(f"#{b.handoff_id}", reverse("handoff:detail", args=[b.handoff_id])),
                Cell(b.lead),
                Cell(b.team),
                Cell(b.rep),
                Cell(b.clock),
                Cell(b.handed_off_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
            ]
        )
    return table


def _rejections_table(r: kpis.Rejections, link: Links) -> Table:
    table = Table(
        "rejections",
        _("Rejections"),
        [_("By"), _("Value"), _("Rejected")],
        empty=_("Sales rejected nothing in this period."),
    )
    for by, label, buckets in (
        ("reason", _("Reason"), r.by_reason),
        ("campaign", _("Campaign"), r.by_campaign),
        ("source", _("Source"), r.by_source),
        ("rule", _("Rule"), r.by_rule),
    ):
        for b in buckets:
            table.rows.append(
                [Cell(label), Cell(b.label), Cell(str(b.count), link("rejected", by, b.key))]
            )
    return table


def _campaign_table(rows: list[kpis.CampaignReturn], link: Links) -> Table:
    table = Table(
        "campaigns",
        _("Campaign return"),
        [
            _("Campaign"),
            _("Cost in period"),
            _("Leads"),
            "MQL",
            "SQL",
            _("Won deals"),
            _("Cost per lead"),
            _("Cost per MQL"),
            _("Cost per SQL"),
            _("Cost per won deal"),
        ],
        empty=_("No campaign brought leads in this period."),
    )
    for c in rows:
        key = "" if c.campaign_id is None else c.campaign_id
        leads_url = f"{link('leads')}&campaign_row={key}"
        mqls_url = f"{link('mqls')}&campaign_row={key}"
        table.rows.append(
            [
                Cell(c.name),
                Cell(_money(c.cost)),
                Cell(_int(c.leads), leads_url if c.leads is not None else ""),
                Cell(_int(c.mqls), mqls_url if c.mqls is not None else ""),
                Cell(str(c.sqls), link("sqls", "campaign", key)),
                Cell(str(c.won), link("won", "campaign", key)),
                Cell(_money(c.cost_per_lead)),
                Cell(_money(c.cost_per_mql)),
                Cell(_money(c.cost_per_sql)),
                Cell(_money(c.cost_per_won)),
            ]
        )
    return table


def _attribution_table(rows: list[kpis.CampaignReturn], link: Links) -> Table:
    models = kpis.ATTRIBUTION_MODELS
    table = Table(
        "attribution",
        _("Pipeline and revenue by attribution model"),
        [
            _("Campaign"),
            *(_("Pipeline: %(model)s") % {"model": label} for _m, label in models),
            *(_("Revenue: %(model)s") % {"model": label} for _m, label in models),
        ],
        empty=_("No deal came from the leads of this period yet."),
    )
    for c in rows:
        if not any(c.pipeline.values()):
            continue
        key = "" if c.campaign_id is None else c.campaign_id
        table.rows.append(
            [
                Cell(c.name, link("deals", "touched", key)),
                *(Cell(_money(c.pipeline[m])) for m, _label in models),
                *(Cell(_money(c.revenue[m])) for m, _label in models),
            ]
        )
    return table


def _balance_table(rows: list[kpis.Balance], link: Links) -> Table:
    table = Table(
        "balance",
        _("Team balance"),
        [
            _("Team"),
            _("Reps working"),
            _("SQLs a day"),
            _("Answered a day"),
            _("Backlog"),
            _("Median wait, hours"),
            _("Oldest wait, hours"),
            _("Projected queue time, days"),
            _("Verdict"),
        ],
    )
    for b in rows:
        queue = b.queue_days
        table.rows.append(
            [
                Cell(b.team),
                Cell(str(b.reps)),
                Cell(_num(b.inflow_per_day)),
                Cell(_num(b.handled_per_day)),
                Cell(str(b.backlog), link("backlog", "team", b.team_id)),
                Cell(_num(b.backlog_median_hours)),
                Cell(_num(b.backlog_oldest_hours)),
                Cell("∞" if queue is None else _num(queue)),
                Cell(b.message),
            ]
        )
    return table


def _velocity_table(months: list[kpis.Month]) -> Table:
    table = Table(
        "velocity",
        _("Lead velocity"),
        [_("Month"), "MQL", _("MQL growth"), "SQL", _("SQL growth")],
    )
    for m in months:
        label = m.month.strftime("%Y-%m") + (" " + _("(so far)") if m.partial else "")
        table.rows.append(
            [
                Cell(label),
                Cell(_int(m.mqls)),
                Cell(_percent(m.mql_growth)),
                Cell(str(m.sqls)),
                Cell(_percent(m.sql_growth)),
            ]
        )
    return table


def _targets_table(progress: list[kpis.TargetProgress]) -> Table:
    table = Table(
        "targets",
        _("Targets"),
        [
            _("Measure"),
            _("Target"),
            pgettext("a target's progress", "Done"),
            _("Progress"),
            _("On a steady pace by today"),
        ],
        empty=_("No targets for this month. A manager sets them under Targets."),
    )
    for t in progress:
        table.rows.append(
            [
                Cell(t.label),
                Cell(_num(t.target, 0)),
                Cell(_num(t.actual, 0)),
                Cell(_percent(t.percent)),
                Cell(_num(t.expected, 0)),
            ]
        )
    return table


# --- The page --------------------------------------------------------------------------


def _panels(k: kpis.KpiFilter, query: str, refreshed_at: dt.datetime | None) -> dict[str, Any]:
    """Every panel's KPIs, tables, chart data and HTML for the filters, from the cache when
    this filter was already computed since the last refresh of the rollups.

    The numbers change only when the rollups do, so the key holds the refresh time: the
    next refresh makes every entry unreachable (they expire soon after). Ages (the
    backlog's) are as of the refresh, like everything else on the page. Without Redis the
    panels are computed every time.
    """
    key = (
        "kpi-panels:"
        + hashlib.sha256(
            repr((k, query, refreshed_at, _today(), get_language())).encode()
        ).hexdigest()
    )
    if refreshed_at is None:  # nothing built yet: nothing worth keeping
        return _rendered(_compute_panels(k, query, now=timezone.now()))
    try:
        cached = cache.get(key)
    except Exception:  # Redis is down: compute
        logger.warning("the dashboard cache is unavailable", exc_info=True)
        cached = None
    if cached is not None:
        return cast(dict[str, Any], cached)
    panels = _rendered(_compute_panels(k, query, now=refreshed_at))
    try:
        cache.set(key, panels, timeout=CACHE_SECONDS)
    except Exception:
        logger.warning("the dashboard cache is unavailable", exc_info=True)
    return panels


def dashboard_cache_warm() -> int:
    """After a refresh: compute the default view (the last 90 days, all teams and each
    team alone) in every language, so the first manager to open the dashboard after a
    refresh finds it warm. Returns how many views were computed.

    The cache keys must be the ones a request makes: the same filter and query string as
    ``_filters`` builds for a manager who picked only the period and maybe a team.
    """
    refreshed_at = rollups.rollups_refreshed_at()
    if refreshed_at is None:
        return 0
    today = _today()
    start = today - dt.timedelta(days=DEFAULT_DAYS - 1)
    warmed = 0
    for team_id in [None, *Team.objects.values_list("pk", flat=True)]:
        query = urlencode({"period": str(DEFAULT_DAYS)} | ({"team": team_id} if team_id else {}))
        k = kpis.KpiFilter(start=start, end=today, team_id=team_id)
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                _panels(k, query, refreshed_at)
            warmed += 1
    return warmed


def _rendered(panels: dict[str, Any]) -> dict[str, Any]:
    """The panels with their HTML, rendered once and kept with them: a warm page then
    renders only its frame (filters and freshness) around it."""
    html = render_to_string("dashboard/_panels.html", panels)
    return panels | {"panels_html": mark_safe(html)}  # noqa: S308 -- the template escaped it


def _compute_panels(k: kpis.KpiFilter, query: str, *, now: dt.datetime) -> dict[str, Any]:
    link = Links(query)
    waterfall = kpis.kpi_waterfall(k)
    speed = kpis.kpi_speed_to_lead(k)
    breach_count, breaches = kpis.kpi_open_breaches(k, limit=20)
    rejections = kpis.kpi_rejections(k)
    campaigns = kpis.kpi_campaign_return(k)
    balance = kpis.kpi_team_balance(k, now=now)
    velocity = kpis.kpi_lead_velocity(k, today=_today())
    month, progress = kpis.kpi_targets(k, today=_today())
    tables = {
        t.key: t
        for t in (
            _waterfall_table(waterfall, link),
            _attainment_table(speed, link),
            _breaches_table(breaches),
            _rejections_table(rejections, link),
            _campaign_table(campaigns, link),
            _attribution_table(campaigns, link),
            _balance_table(balance, link),
            _velocity_table(velocity),
            _targets_table(progress),
        )
    }
    for table in tables.values():
        url = reverse("handoff:dashboard_export", args=[table.key])
        table.export_url = f"{url}?{query}" if query else url
    return {
        "waterfall": waterfall,
        "speed": speed,
        "breach_count": breach_count,
        "rejections": rejections,
        "campaigns": campaigns,
        "balance": balance,
        "velocity": velocity,
        "target_month": month,
        "targets": progress,
        "tables": tables,
        "cards": [(s, link(s.key)) for s in waterfall.stages if s.count is not None],
        "links": {
            stage.key: link(stage.key) for stage in waterfall.stages if stage.count is not None
        }
        | {
            "breaches": link("breaches"),
            "deals": link("deals"),
            "won_deals": link("won_deals"),
            "rejected": link("rejected"),
            "speed_accepted": link("speed_accepted"),
            "speed_touched": link("speed_touched"),
        },
        "charts": _charts(waterfall, speed, rejections, campaigns, balance, velocity, link),
    }


def _charts(
    waterfall: kpis.Waterfall,
    speed: kpis.Speed,
    rejections: kpis.Rejections,
    campaigns: list[kpis.CampaignReturn],
    balance: list[kpis.Balance],
    velocity: list[kpis.Month],
    link: Links,
) -> dict[str, Any]:
    stages = [s for s in waterfall.stages if s.count is not None]
    credited = [c for c in campaigns if any(c.pipeline.values())][:10]
    return {
        "waterfall": {
            "type": "bar",
            "labels": [s.label for s in stages],
            "datasets": [{"label": _("Count"), "data": [s.count for s in stages]}],
            "links": [link(s.key) for s in stages],
        },
        "speed": {
            "type": "bar",
            "labels": [_("To accept"), _("To first touch")],
            "datasets": [
                {"label": _("Median, minutes"), "data": [speed.accept_median, speed.touch_median]},
                {"label": _("p90, minutes"), "data": [speed.accept_p90, speed.touch_p90]},
            ],
            "links": [link("speed_accepted"), link("speed_touched")],
        },
        "rejections": {
            "type": "doughnut",
            "labels": [b.label for b in rejections.by_reason],
            "datasets": [{"label": _("Rejected"), "data": [b.count for b in rejections.by_reason]}],
            "links": [link("rejected", "reason", b.key) for b in rejections.by_reason],
        },
        "attribution": {
            "type": "bar",
            "labels": [c.name for c in credited],
            "datasets": [
                {"label": str(label), "data": [round(c.pipeline[m], 2) for c in credited]}
                for m, label in kpis.ATTRIBUTION_MODELS
            ],
            "links": [link("deals", "touched", c.campaign_id or "") for c in credited],
        },
        "balance": {
            "type": "bar",
            "labels": [b.team for b in balance],
            "datasets": [
                {"label": _("SQLs a day"), "data": [round(b.inflow_per_day, 2) for b in balance]},
                {
                    "label": _("Answered a day"),
                    "data": [round(b.handled_per_day, 2) for b in balance],
                },
                {"label": _("Backlog"), "data": [b.backlog for b in balance]},
            ],
            "links": [link("backlog", "team", b.team_id) for b in balance],
        },
        "velocity": {
            "type": "line",
            "labels": [m.month.strftime("%Y-%m") for m in velocity],
            "datasets": [
                *(
                    [{"label": "MQL", "data": [m.mqls for m in velocity]}]
                    if velocity and velocity[0].mqls is not None
                    else []
                ),
                {"label": "SQL", "data": [m.sqls for m in velocity]},
            ],
        },
    }


def _freshness(refreshed_at: dt.datetime | None) -> dict[str, Any]:
    now = timezone.now()
    return {
        "refreshed_at": refreshed_at,
        "age_minutes": None
        if refreshed_at is None
        else int((now - refreshed_at).total_seconds() // 60),
        "stale": refreshed_at is None or now - refreshed_at > STALE_AFTER,
    }


def _first_refresh(refreshed_at: dt.datetime | None) -> None:
    """Never built (a fresh install): ask the worker to build the rollups now rather than
    wait for beat. The page says so and polls."""
    if refreshed_at is None:
        from handoff.tasks import kpi_rollups_refresh
        from leadflow.services import enqueue_on_commit

        enqueue_on_commit(kpi_rollups_refresh)


@role_required(*VIEWERS)
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    f = _filters(request)
    refreshed_at = rollups.rollups_refreshed_at()
    _first_refresh(refreshed_at)
    context = {
        "filters": f,
        "form": f.form,
        "kpi": f.kpi,
        "is_manager": user.role in (Role.MANAGER, Role.ADMIN) or user.is_superuser,
        "own_view": f.kpi.rep_id is not None or f.kpi.campaign_ids is not None,
        **_freshness(refreshed_at),
        **_panels(f.kpi, f.query, refreshed_at),
    }
    if request.htmx and request.htmx.target == "panels":
        return render(request, "dashboard/dashboard.html#panels", context)
    return render(request, "dashboard/dashboard.html", context)


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


def _figure_title(figure: str, by: str, key: str) -> str:
    """What the records page lists, in words: "Rejected · Reason: No budget"."""
    figures = {
        "leads": _("Leads"),
        "mqls": "MQL",
        "sqls": "SQL",
        "accepted": _("Accepted"),
        "opportunities": _("Opportunities"),
        "won": _("Won"),
        "deals": _("Deals (pipeline)"),
        "won_deals": _("Won deals"),
        "rejected": _("Rejected"),
        "accept_missed": _("Accept deadline missed"),
        "touch_missed": _("First-touch deadline missed"),
        "breaches": _("Open breaches"),
        "backlog": _("Backlog"),
        "speed_accepted": _("Accepted (speed to lead)"),
        "speed_touched": _("Touched (speed to lead)"),
    }
    title = figures.get(figure, figure)
    if not by:
        return title
    value = key or "—"
    if by in ("campaign", "touched"):
        value = (
            str(Campaign.objects.filter(pk=key).first() or _("No campaign"))
            if key
            else _("No campaign")
        )
    elif by == "team" and key.isdigit():
        value = str(Team.objects.filter(pk=key).first() or key)
    elif by == "rep":
        rep = User.objects.filter(pk=key).first() if key.isdigit() else None
        value = (rep.get_full_name() or rep.username) if rep else _("Team pool")
    elif by == "reason":
        value = str(dict(RejectReason.choices).get(key, key))
    labels = {
        "campaign": _("Campaign"),
        "touched": _("Credited to campaign"),
        "team": _("Team"),
        "rep": _("Rep"),
        "reason": _("Reason"),
        "source": _("Source"),
        "rule": _("Rule"),
        "tier": _("Tier"),
    }
    return f"{title} · {labels.get(by, by)}: {value}"


@role_required(*VIEWERS)
def dashboard_records(request: HtmxHttpRequest) -> HttpResponse:
    """The records behind one figure of the dashboard, under the same filters."""
    user = _user(request)
    f = _filters(request)
    figure = request.GET.get("figure", "")
    by, key = request.GET.get("by", ""), request.GET.get("key", "")
    leads: list[Lead] = []
    handoffs: list[Any] = []
    try:
        if figure in ("leads", "mqls"):
            if not f.kpi.has_lead_side:
                raise KeyError(figure)
            total, ids = kpis.kpi_lead_ids(
                f.kpi, figure=figure, campaign=request.GET.get("campaign_row")
            )
            found = Lead.objects.select_related("campaign").in_bulk(ids)
            leads = [found[i] for i in ids if i in found]
        else:
            total, ids = kpis.kpi_handoff_ids(f.kpi, figure=figure, by=by, key=key)
            handoffs = kpis.kpi_handoffs(ids)
    except (KeyError, ValueError):
        return render(
            request,
            "dashboard/records.html",
            {"error": _("This figure is not known; go back to the dashboard."), "filters": f},
            status=400,
        )
    context = {
        "filters": f,
        "title": _figure_title(figure, by, key),
        "figure": figure,
        "by": by,
        "key": key,
        "total": total,
        "leads": leads,
        "handoffs": handoffs,
        "shown": len(leads) + len(handoffs),
        # The handoff page opens for a rep's own, a manager's team's, or an admin.
        "sales_links": user.role != Role.MARKETER,
        "team_only": None if user.is_admin_role else user.team_id,
    }
    return render(request, "dashboard/records.html", context)


# --- Targets ---------------------------------------------------------------------------


@role_required(*MANAGERS)
@require_http_methods(["GET", "POST"])
def dashboard_targets(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    teams = list(Team.objects.values_list("pk", "name"))
    status = 200
    if request.method == "POST":
        form = TargetForm(request.POST, teams=teams)
        if form.is_valid():
            data = form.cleaned_data
            try:
                targets.target_set(
                    user=user,
                    month=data["month"],
                    team_id=data["team"],
                    metric=data["metric"],
                    value=data["value"],
                )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Target saved."))
                return redirect("handoff:dashboard_targets")
        status = 400
    else:
        form = TargetForm(
            teams=teams,
            initial={"month": _today().strftime("%Y-%m"), "team": user.team_id},
        )
    current = _today().replace(day=1)
    context = {
        "form": form,
        "targets": KpiTarget.objects.filter(month__gte=current - dt.timedelta(days=62))
        .select_related("team")
        .order_by("-month", "team__name", "metric"),
    }
    return render(request, "dashboard/targets.html", context, status=status)


@role_required(*MANAGERS)
@require_POST
def dashboard_target_delete(request: HtmxHttpRequest, target_id: int) -> HttpResponse:
    try:
        targets.target_delete(user=_user(request), target_id=target_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Target removed."))
    return redirect("handoff:dashboard_targets")


# --- Weekly alignment review -----------------------------------------------------------


@role_required(Role.MANAGER, Role.MARKETER)
def dashboard_review(request: HtmxHttpRequest) -> HttpResponse:
    """Last week (or ``week``, a Monday) against the week before, for a team or all."""
    user = _user(request)
    week = review.week_of(_today())
    error = ""
    if request.GET.get("week"):
        try:
            asked = dt.date.fromisoformat(request.GET["week"])
        except ValueError:
            error = _("The week must be a date like 2026-11-16.")
        else:
            week = asked - dt.timedelta(days=asked.weekday())
    team_id: int | None = None
    raw_team = request.GET.get(
        "team", "" if user.role == Role.MARKETER else str(user.team_id or "")
    )
    if raw_team:
        try:
            team_id = int(raw_team)
        except ValueError:
            error = _("Pick a team from the list.")
        if team_id is not None and not Team.objects.filter(pk=team_id).exists():
            team_id, error = None, _("Pick a team from the list.")
    f = kpis.filter_for(user, start=week, end=week + dt.timedelta(days=6), team_id=team_id)
    context = {
        "review": review.weekly_review(f),
        "teams": Team.objects.all(),
        "team_id": team_id,
        "error": error,
        "previous_week": week - dt.timedelta(days=7),
        "next_week": week + dt.timedelta(days=7) if week < review.week_of(_today()) else None,
        **_freshness(rollups.rollups_refreshed_at()),
    }
    return render(request, "dashboard/review.html", context, status=400 if error else 200)
