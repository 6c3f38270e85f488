"""The dashboard's tables as rows of cells, and the click-through links in them.

Every table is built once, here; the page renders those rows and the CSV export writes the
same cells, so a download always says what the page says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from handoff import kpis


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
