"""The funnel: the waterfall of the period's cohort of leads (counts, conversion, drop-off
and median days between stages), and month by month the lead velocity and the progress
on the month's targets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from handoff.kpis.base import KpiFilter, _float, _one, _rows, _where
from handoff.models import KpiTarget

VELOCITY_MONTHS = 6


# --- Waterfall -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    count: int | None
    conversion: float | None = None  # % of the stage before
    drop_off: float | None = None  # % of the stage before that went no further
    median_days: float | None = None  # from the stage before


@dataclass(frozen=True)
class Waterfall:
    stages: list[Stage]
    pipeline: Decimal
    won_value: Decimal

    def count(self, key: str) -> int | None:
        return next(s.count for s in self.stages if s.key == key)


def kpi_waterfall(f: KpiFilter) -> Waterfall:
    """The cohort of leads created in the period, stage by stage."""
    leads = mqls = None
    lead_to_mql = None
    if f.has_lead_side:
        where, params = _where(f, period="day", team=None, rep=None)
        leads, mqls = _one(
            f"SELECT coalesce(sum(leads), 0), coalesce(sum(mqls), 0) "  # noqa: S608
            f"FROM handoff_kpileadday WHERE {where}",
            params,
        )
        where, params = _where(f, period="created_at", team=None, rep=None)
        (lead_to_mql,) = _one(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_mql) "  # noqa: S608
            f"FROM handoff_kpimqlfact WHERE {where}",
            params,
        )
    where, params = _where(f, period="lead_created_at")
    row = _one(
        f"""
        SELECT count(*) FILTER (WHERE is_latest),
               count(*) FILTER (WHERE is_latest AND lead_accepted),
               count(*) FILTER (WHERE is_latest AND lead_converted),
               count(*) FILTER (WHERE is_latest AND lead_won),
               coalesce(sum(deal_amount), 0),
               coalesce(sum(deal_amount) FILTER (WHERE deal_outcome = 'won'), 0),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY days_mql_to_sql),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY days_sql_to_accept),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY days_accept_to_deal),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY days_deal_to_won)
        FROM handoff_kpihandofffact WHERE {where}
        """,  # noqa: S608 -- the clause is built from constants; values are parameters
        params,
    )
    sqls, accepted, deals, won, pipeline, won_value, *medians = row
    steps: list[tuple[str, str, int | None, float | None]] = [
        ("leads", _("Leads"), leads, None),
        ("mqls", "MQL", mqls, _float(lead_to_mql)),
        ("sqls", "SQL", sqls, _float(medians[0])),
        ("accepted", _("Accepted"), accepted, _float(medians[1])),
        ("opportunities", _("Opportunities"), deals, _float(medians[2])),
        ("won", _("Won"), won, _float(medians[3])),
    ]
    stages: list[Stage] = []
    before: int | None = None
    for key, label, count, median in steps:
        conversion = drop = None
        if before and count is not None:
            conversion = 100 * count / before
            drop = 100 - conversion
        stages.append(Stage(key, label, count, conversion, drop, median))
        before = count
    return Waterfall(stages=stages, pipeline=Decimal(pipeline), won_value=Decimal(won_value))


# --- Lead velocity ---------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    month: dt.date
    mqls: int | None
    sqls: int
    mql_growth: float | None  # % over the month before
    sql_growth: float | None
    partial: bool  # the month is not over yet


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def kpi_lead_velocity(f: KpiFilter, *, today: dt.date) -> list[Month]:
    """MQLs and SQLs per calendar month (UTC) for the months up to the period's end, and
    each month's growth over the one before (the lead velocity rate)."""
    first = _month_start(f.end, VELOCITY_MONTHS)
    last = _month_start(f.end, -1)
    window = f.shifted(first, last - dt.timedelta(days=1))
    mqls: dict[dt.date, int] = {}
    if f.has_lead_side:
        where, params = _where(window, period="day", team=None, rep=None)
        mqls = dict(
            _rows(
                "SELECT date_trunc('month', day)::date, sum(mqls_on_day) "  # noqa: S608
                f"FROM handoff_kpileadday WHERE {where} GROUP BY 1",
                params,
            )
        )
    if f.rep_id is None:
        where, params = _where(window, period="day", rep=None)
        sql = (
            "SELECT date_trunc('month', day)::date, sum(handed) "  # noqa: S608
            f"FROM handoff_kpihandoffday WHERE {where} GROUP BY 1"
        )
    else:
        where, params = _where(window, period="handed_off_at")
        sql = (
            "SELECT (date_trunc('month', handed_off_at AT TIME ZONE 'UTC'))::date, "  # noqa: S608
            f"count(*) FROM handoff_kpihandofffact WHERE {where} GROUP BY 1"
        )
    sqls = dict(_rows(sql, params))
    months: list[Month] = []
    for back in range(VELOCITY_MONTHS, -1, -1):
        month = _month_start(f.end, back)
        m, s = (int(mqls.get(month, 0)) if f.has_lead_side else None), int(sqls.get(month, 0))
        before = months[-1] if months else None
        months.append(
            Month(
                month=month,
                mqls=m,
                sqls=s,
                mql_growth=_growth(before.mqls, m) if before else None,
                sql_growth=_growth(before.sqls, s) if before else None,
                partial=_month_start(today) <= month,
            )
        )
    return months[1:]  # the first month only gave the base of the second's growth


def _growth(before: int | None, after: int | None) -> float | None:
    if before is None or after is None or not before:
        return None
    return 100 * (after - before) / before


# --- Targets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetProgress:
    metric: str
    label: str
    target: Decimal
    actual: Decimal
    expected: Decimal  # where a steady pace would be today

    @property
    def percent(self) -> float:
        return float(100 * self.actual / self.target)

    @property
    def on_pace(self) -> bool:
        return self.actual >= self.expected


def kpi_targets(f: KpiFilter, *, today: dt.date) -> tuple[dt.date, list[TargetProgress]]:
    """The targets of the month the period ends in, for the filter's team (or everybody),
    with what was done in that month: MQLs reached, SQLs handed off, pipeline created and
    value won (the campaign and source filters apply; a rep's own numbers have no MQLs)."""
    month = _month_start(f.end)
    following = _month_start(f.end, -1)
    targets = KpiTarget.objects.filter(month=month)
    if f.team_id is None:
        targets = targets.filter(team__isnull=True)
    else:
        targets = targets.filter(team_id=f.team_id)
    if not targets:
        return month, []
    span = f.shifted(month, following - dt.timedelta(days=1))
    actual: dict[str, Decimal] = {}
    if f.has_lead_side:
        where, params = _where(span, period="day", team=None, rep=None)
        (mqls,) = _one(
            "SELECT coalesce(sum(mqls_on_day), 0) FROM handoff_kpileadday "  # noqa: S608
            f"WHERE {where}",
            params,
        )
        actual["mqls"] = Decimal(mqls)
    where, params = _where(span, period=None)
    params |= {"since": span.since, "until": span.until}
    sqls, pipeline, won = _one(
        f"""
        SELECT count(*) FILTER (WHERE handed_off_at >= %(since)s),
               coalesce(sum(deal_amount) FILTER (
                   WHERE deal_created_at >= %(since)s AND deal_created_at < %(until)s), 0),
               coalesce(sum(deal_amount) FILTER (
                   WHERE deal_outcome = 'won' AND deal_closed_at >= %(since)s
                     AND deal_closed_at < %(until)s), 0)
        FROM handoff_kpihandofffact
        WHERE {where} AND handed_off_at < %(until)s
        """,  # noqa: S608 -- a deal of the month may come from a handoff of any month before
        params,
    )
    actual |= {"sqls": Decimal(sqls), "pipeline": Decimal(pipeline), "won": Decimal(won)}
    days_in_month = (following - month).days
    elapsed = min(max((today - month).days + 1, 0), days_in_month)
    labels = dict(KpiTarget.Metric.choices)
    return month, [
        TargetProgress(
            metric=t.metric,
            label=str(labels[t.metric]),
            target=t.value,
            actual=actual[t.metric],
            expected=(t.value * elapsed / days_in_month).quantize(Decimal("0.01")),
        )
        for t in sorted(targets, key=lambda t: list(labels).index(t.metric))
        if t.metric in actual
    ]
