"""The shared KPIs: one selector per KPI, each taking one :class:`KpiFilter`.

Every selector reads the rollups of ``handoff.rollups`` (never the live tables: no
full-table count per request), so the numbers are as old as the last refresh, which the
page shows. Definitions, once:

- The **waterfall** follows a cohort: the leads created in the period, and how far they
  got (MQL, SQL = handed off, accepted, opportunity = a deal, won). It counts leads: a
  lead handed off twice (recycled, or re-routed after an expiry) counts once, in the team
  and with the rep of its latest handoff, at the furthest stage any of its handoffs
  reached. Pipeline is the value of all the cohort's deals; won value of the won ones.
  Median days between stages are over the handoffs that made each step.
- **Speed to lead, rejections, team balance and SLA** follow the handoffs of the period
  (handed off in it). Open breaches and the backlog are the state now.
- Leads belong to no team until they are handed off: the team filter narrows the sales
  side (SQL onwards), not the lead and MQL counts. A rep's own numbers have no lead side.
- Periods are whole days in UTC: ``start`` and ``end`` are both included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from handoff.models import Handoff, KpiTarget, RejectReason, SlaTier
from leadflow.db import read_alias, replica_reads
from leadflow.models import Role, Team, User
from marketing.models import Campaign

ATTRIBUTION_MODELS = (
    ("first_touch", gettext_lazy("First touch")),
    ("last_touch", gettext_lazy("Last touch")),
    ("linear", gettext_lazy("Linear")),
    ("u_shaped", gettext_lazy("U-shaped (40/20/40)")),
    ("w_shaped", gettext_lazy("W-shaped (30/30/30 + 10)")),
)
# Team balance: marketing outruns sales when SQLs arrive this much faster than they are
# answered and more than a day's work waits; sales starves below one SQL a rep a day.
OUTRUN_RATIO = 1.1
STARVING_PER_REP_DAY = 1.0
VELOCITY_MONTHS = 6


@dataclass(frozen=True)
class KpiFilter:
    start: dt.date
    end: dt.date  # included
    team_id: int | None = None
    campaign_id: int | None = None
    source: str = ""
    # Whose own numbers: a rep's handoffs; a marketer's campaigns.
    rep_id: int | None = None
    campaign_ids: tuple[int, ...] | None = None

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC)

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def has_lead_side(self) -> bool:
        return self.rep_id is None

    def previous(self) -> KpiFilter:
        """The same filter over the period of the same length just before this one."""
        return replace(
            self, start=self.start - dt.timedelta(days=self.days), end=self.start - dt.timedelta(1)
        )

    def shifted(self, start: dt.date, end: dt.date) -> KpiFilter:
        return replace(self, start=start, end=end)


def filter_for(
    user: User,
    *,
    start: dt.date,
    end: dt.date,
    team_id: int | None = None,
    campaign_id: int | None = None,
    source: str = "",
) -> KpiFilter:
    """The filter a user may use: managers and admins anything; a rep their own handoffs
    (in their team); a marketer the campaigns they own."""
    rep_id = None
    campaign_ids = None
    if user.role == Role.REP and not user.is_superuser:
        team_id, rep_id = user.team_id, user.pk
    elif user.role == Role.MARKETER and not user.is_superuser:
        campaign_ids = tuple(Campaign.objects.filter(owner=user).values_list("pk", flat=True))
    return KpiFilter(
        start=start,
        end=end,
        team_id=team_id,
        campaign_id=campaign_id,
        source=source,
        rep_id=rep_id,
        campaign_ids=campaign_ids,
    )


# --- SQL helpers -----------------------------------------------------------------------


def _where(
    f: KpiFilter,
    *,
    period: str | None,
    campaign: str = "campaign_id",
    team: str | None = "team_id",
    rep: str | None = "rep_id",
) -> tuple[str, dict[str, Any]]:
    """A WHERE clause (column names are constants) and its parameters for ``f``."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    if period == "day":
        parts.append("day >= %(start)s AND day <= %(end)s")
        params |= {"start": f.start, "end": f.end}
    elif period:
        parts.append(f"{period} >= %(since)s AND {period} < %(until)s")
        params |= {"since": f.since, "until": f.until}
    if f.campaign_id is not None:
        parts.append(f"{campaign} = %(campaign)s")
        params["campaign"] = f.campaign_id
    if f.campaign_ids is not None:
        parts.append(f"{campaign} = ANY(%(campaigns)s)")
        params["campaigns"] = list(f.campaign_ids)
    if f.source:
        parts.append("source = %(source)s")
        params["source"] = f.source
    if team and f.team_id is not None:
        parts.append(f"{team} = %(team)s")
        params["team"] = f.team_id
    if rep and f.rep_id is not None:
        parts.append(f"{rep} = %(rep)s")
        params["rep"] = f.rep_id
    return " AND ".join(parts) or "TRUE", params


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The KPIs' SQL runs on the read replica when one is configured (DATABASE_REPLICA_URL):
    the figures may lag the primary by the replica's delay, as the rollups do anyway."""
    with replica_reads(), connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _one(sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    return _rows(sql, params)[0]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _pct(part: float, whole: float) -> float | None:
    return 100 * part / whole if whole else None


def _user_names(ids: Sequence[int | None]) -> dict[int | None, str]:
    found = {i for i in ids if i is not None}
    names: dict[int | None, str] = {None: _("Team pool")}
    for user in User.objects.filter(pk__in=found).only("username", "first_name", "last_name"):
        names[user.pk] = user.get_full_name() or user.username
    return names


def _team_names() -> dict[int | None, str]:
    return dict(Team.objects.values_list("pk", "name"))


def _campaign_names() -> dict[int | None, str]:
    names: dict[int | None, str] = dict(Campaign.objects.values_list("pk", "name"))
    names[None] = _("No campaign")
    return names


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


# --- Speed to lead and SLA -------------------------------------------------------------


@dataclass(frozen=True)
class Attainment:
    group: str  # "rep", "team" or "tier"
    key: str  # the id or tier, for click-through
    label: str
    accept_met: int
    accept_missed: int
    touch_met: int
    touch_missed: int

    @property
    def accept_rate(self) -> float | None:
        return _pct(self.accept_met, self.accept_met + self.accept_missed)

    @property
    def touch_rate(self) -> float | None:
        return _pct(self.touch_met, self.touch_met + self.touch_missed)


@dataclass(frozen=True)
class Speed:
    accept_median: float | None  # minutes
    accept_p90: float | None
    touch_median: float | None
    touch_p90: float | None
    attainment: list[Attainment] = field(default_factory=list)

    def by(self, group: str) -> list[Attainment]:
        return [row for row in self.attainment if row.group == group]


def kpi_speed_to_lead(f: KpiFilter) -> Speed:
    """Minutes from handoff to acceptance and to first touch (median, p90), and SLA
    attainment (met / (met + missed)) by rep, team and tier, for the period's handoffs."""
    where, params = _where(f, period="handed_off_at")
    accept, touch = _one(
        f"""
        SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY minutes_to_accept),
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY minutes_to_touch)
        FROM handoff_kpihandofffact WHERE {where}
        """,  # noqa: S608
        params,
    )
    rows = _rows(
        f"""
        SELECT grouping(rep_id), grouping(team_id), rep_id, team_id, sla_tier,
               count(*) FILTER (WHERE accept_sla = 'met'),
               count(*) FILTER (WHERE accept_sla = 'missed'),
               count(*) FILTER (WHERE touch_sla = 'met'),
               count(*) FILTER (WHERE touch_sla = 'missed')
        FROM handoff_kpihandofffact
        WHERE {where} AND (accept_sla <> '' OR touch_sla <> '')
        GROUP BY GROUPING SETS ((rep_id), (team_id), (sla_tier))
        """,  # noqa: S608
        params,
    )
    users = _user_names([row[2] for row in rows if not row[0]])
    teams = _team_names()
    attainment: list[Attainment] = []
    for no_rep, no_team, rep, team, tier, *counts in rows:
        if not no_rep:
            group, key, label = "rep", str(rep or ""), users.get(rep, "?")
        elif not no_team:
            group, key, label = "team", str(team), teams.get(team, "?")
        else:
            group, key, label = "tier", tier, str(SlaTier(tier).label)
        attainment.append(Attainment(group, key, label, *counts))
    attainment.sort(key=lambda a: (a.group, a.label))
    accept = accept or [None, None]
    touch = touch or [None, None]
    return Speed(
        accept_median=_float(accept[0]),
        accept_p90=_float(accept[1]),
        touch_median=_float(touch[0]),
        touch_p90=_float(touch[1]),
        attainment=attainment,
    )


@dataclass(frozen=True)
class Breach:
    handoff_id: int
    lead: str
    team: str
    rep: str
    clock: str
    handed_off_at: dt.datetime


def kpi_open_breaches(f: KpiFilter, *, limit: int = 50) -> tuple[int, list[Breach]]:
    """Open handoffs past a deadline now (the period does not apply): how many, and the
    oldest ``limit``."""
    where, params = _where(f, period=None)
    open_missed = f"{where} AND open_breach"
    (total,) = _one(
        f"SELECT count(*) FROM handoff_kpihandofffact WHERE {open_missed}",  # noqa: S608
        params,
    )
    rows = _rows(
        f"""
        SELECT handoff_id, team_id, rep_id, accept_sla, handed_off_at, lead_id
        FROM handoff_kpihandofffact WHERE {open_missed}
        ORDER BY handed_off_at, handoff_id LIMIT %(limit)s
        """,  # noqa: S608
        {**params, "limit": limit},
    )
    from marketing.models import Lead

    leads = {
        lead.pk: str(lead)
        for lead in Lead.objects.filter(pk__in=[r[5] for r in rows]).only(
            "first_name", "last_name", "email"
        )
    }
    users, teams = _user_names([r[2] for r in rows]), _team_names()
    breaches = [
        Breach(
            handoff_id=handoff,
            lead=leads.get(lead, "?"),
            team=teams.get(team, "?"),
            rep=users.get(rep, "?"),
            clock=_("accept") if accept == "missed" else _("first touch"),
            handed_off_at=at,
        )
        for handoff, team, rep, accept, at, lead in rows
    ]
    return total, breaches


# --- Rejections ------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    key: str  # for click-through
    label: str
    count: int


@dataclass(frozen=True)
class Rejections:
    total: int
    by_reason: list[Bucket]
    by_campaign: list[Bucket]
    by_source: list[Bucket]
    by_rule: list[Bucket]


def kpi_rejections(f: KpiFilter) -> Rejections:
    """The period's handoffs that sales rejected, by reason, campaign, source and rule."""
    where, params = _where(f, period="handed_off_at")
    rows = _rows(
        f"""
        SELECT grouping(reject_reason), grouping(campaign_id), grouping(source),
               reject_reason, campaign_id, source, rule_name, count(*)
        FROM handoff_kpihandofffact WHERE {where} AND status = 'rejected'
        GROUP BY GROUPING SETS ((reject_reason), (campaign_id), (source), (rule_name))
        ORDER BY 8 DESC
        """,  # noqa: S608
        params,
    )
    campaigns = _campaign_names()
    reasons = dict(RejectReason.choices)
    result: dict[str, list[Bucket]] = {"reason": [], "campaign": [], "source": [], "rule": []}
    for no_reason, no_campaign, no_source, reason, campaign, source, rule, count in rows:
        if not no_reason:
            result["reason"].append(Bucket(reason, str(reasons.get(reason, reason)), count))
        elif not no_campaign:
            key = "" if campaign is None else str(campaign)
            result["campaign"].append(Bucket(key, campaigns.get(campaign, "?"), count))
        elif not no_source:
            result["source"].append(Bucket(source, source or _("(none)"), count))
        else:
            result["rule"].append(Bucket(rule, rule or _("(none)"), count))
    return Rejections(
        total=sum(b.count for b in result["reason"]),
        by_reason=result["reason"],
        by_campaign=result["campaign"],
        by_source=result["source"],
        by_rule=result["rule"],
    )


# --- Campaign return -------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignReturn:
    campaign_id: int | None
    name: str
    cost: Decimal
    leads: int | None
    mqls: int | None
    sqls: int
    won: int
    pipeline: dict[str, float]  # by attribution model
    revenue: dict[str, float]

    def _per(self, count: int | None) -> Decimal | None:
        return (self.cost / count).quantize(Decimal("0.01")) if count else None

    @property
    def cost_per_lead(self) -> Decimal | None:
        return self._per(self.leads)

    @property
    def cost_per_mql(self) -> Decimal | None:
        return self._per(self.mqls)

    @property
    def cost_per_sql(self) -> Decimal | None:
        return self._per(self.sqls)

    @property
    def cost_per_won(self) -> Decimal | None:
        return self._per(self.won)


def campaign_cost_in(campaign: Campaign, start: dt.date, end: dt.date) -> Decimal:
    """The campaign's actual cost that falls in [start, end]: spread evenly over its run
    (starts_on to ends_on, or to ``end`` if still running); all of it if undated."""
    if campaign.starts_on is None:
        return campaign.cost
    run_end = campaign.ends_on or max(end, campaign.starts_on)
    run_days = (run_end - campaign.starts_on).days + 1
    overlap = (min(end, run_end) - max(start, campaign.starts_on)).days + 1
    if run_days <= 0 or overlap <= 0:
        return Decimal(0)
    return (campaign.cost * overlap / run_days).quantize(Decimal("0.01"))


def kpi_campaign_return(f: KpiFilter) -> list[CampaignReturn]:
    """Per first campaign of the period's leads: cost (the share of the period), leads,
    MQLs, SQLs and won deals, and the cohort's pipeline and revenue credited to each
    campaign under every attribution model."""
    counts: dict[int | None, dict[str, Any]] = {}

    def slot(campaign: int | None) -> dict[str, Any]:
        return counts.setdefault(campaign, {"leads": 0, "mqls": 0, "sqls": 0, "won": 0})

    if f.has_lead_side:
        where, params = _where(f, period="day", team=None, rep=None)
        for campaign, leads, mqls in _rows(
            f"SELECT campaign_id, sum(leads), sum(mqls) FROM handoff_kpileadday "  # noqa: S608
            f"WHERE {where} GROUP BY campaign_id",
            params,
        ):
            slot(campaign).update(leads=leads, mqls=mqls)
    where, params = _where(f, period="lead_created_at")
    for campaign, sqls, won in _rows(
        f"""
        SELECT campaign_id, count(*) FILTER (WHERE is_latest),
               count(*) FILTER (WHERE is_latest AND lead_won)
        FROM handoff_kpihandofffact WHERE {where} GROUP BY campaign_id
        """,  # noqa: S608
        params,
    ):
        slot(campaign).update(sqls=sqls, won=won)
    models = [name for name, _label in ATTRIBUTION_MODELS]
    sums = ", ".join(f"sum(amount * {m}), sum(amount * {m}) FILTER (WHERE won)" for m in models)
    where, params = _where(f, period="lead_created_at", campaign="lead_campaign_id")
    credit: dict[int | None, tuple[Any, ...]] = {
        row[0]: row[1:]
        for row in _rows(
            f"SELECT campaign_id, {sums} FROM handoff_kpiattribution "  # noqa: S608
            f"WHERE {where} GROUP BY campaign_id",
            params,
        )
    }
    for campaign in credit:
        slot(campaign)
    campaigns = {c.pk: c for c in Campaign.objects.filter(pk__in=[k for k in counts if k])}
    result = []
    for campaign_id, c in counts.items():
        campaign = campaigns.get(campaign_id) if campaign_id else None
        values = credit.get(campaign_id, (0,) * (2 * len(models)))
        result.append(
            CampaignReturn(
                campaign_id=campaign_id,
                name=campaign.name if campaign else _("No campaign"),
                cost=campaign_cost_in(campaign, f.start, f.end) if campaign else Decimal(0),
                leads=c["leads"] if f.has_lead_side else None,
                mqls=c["mqls"] if f.has_lead_side else None,
                sqls=c["sqls"],
                won=c["won"],
                pipeline={m: float(values[2 * i] or 0) for i, m in enumerate(models)},
                revenue={m: float(values[2 * i + 1] or 0) for i, m in enumerate(models)},
            )
        )
    result.sort(key=lambda r: (-(r.leads or 0), -r.sqls, r.name))
    return result


# --- Team balance ----------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    team_id: int
    team: str
    reps: int
    inflow_per_day: float
    handled_per_day: float
    backlog: int
    backlog_median_hours: float | None
    backlog_oldest_hours: float | None
    verdict: str  # "outrun", "starving" or "ok"
    message: str

    @property
    def queue_days(self) -> float | None:
        """How long a new SQL waits at today's handling rate (None: nothing is handled)."""
        if not self.backlog:
            return 0.0
        return self.backlog / self.handled_per_day if self.handled_per_day else None


def kpi_team_balance(f: KpiFilter, *, now: dt.datetime) -> list[Balance]:
    """Per team: SQLs handed off per day in the period against handoffs answered per day
    (accepted or rejected) in it, the backlog waiting now and its age, and a verdict."""
    where, params = _where(f, period=None)
    if f.rep_id is None:  # the daily rollup; a rep's own handoffs are few: the facts
        day_where, day_params = _where(f, period="day", rep=None)
        sql = (
            "SELECT team_id, coalesce(sum(handed), 0), coalesce(sum(answered), 0) "  # noqa: S608
            f"FROM handoff_kpihandoffday WHERE {day_where} GROUP BY team_id"
        )
    else:
        day_params = params | {"since": f.since, "until": f.until}
        sql = f"""
            SELECT team_id,
                   count(*) FILTER (WHERE handed_off_at >= %(since)s AND handed_off_at < %(until)s),
                   count(*) FILTER (WHERE answered_at >= %(since)s AND answered_at < %(until)s)
            FROM handoff_kpihandofffact WHERE {where} GROUP BY team_id
            """  # noqa: S608
    flows = {team: (inflow, handled) for team, inflow, handled in _rows(sql, day_params)}
    params["now"] = now
    backlog = {
        team: (count, median, oldest)
        for team, count, median, oldest in _rows(
            f"""
            SELECT team_id, count(*),
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY extract(epoch FROM %(now)s - handed_off_at) / 3600),
                   max(extract(epoch FROM %(now)s - handed_off_at) / 3600)
            FROM handoff_kpihandofffact
            WHERE {where} AND status = 'pending'
            GROUP BY team_id
            """,  # noqa: S608
            params,
        )
    }
    teams = Team.objects.all()
    if f.team_id is not None:
        teams = teams.filter(pk=f.team_id)
    reps_of = dict(
        User.objects.filter(role=Role.REP, is_active=True, is_away=False, team__in=teams)
        .values("team")
        .annotate(n=Count("pk"))
        .values_list("team", "n")
    )
    result = []
    for team in teams:
        inflow, handled = flows.get(team.pk, (0, 0))
        waiting, median, oldest = backlog.get(team.pk, (0, None, None))
        reps = 1 if f.rep_id is not None else reps_of.get(team.pk, 0)
        inflow_day, handled_day = inflow / f.days, handled / f.days
        verdict, message = _verdict(
            inflow_day=inflow_day, handled_day=handled_day, backlog=waiting, reps=reps
        )
        result.append(
            Balance(
                team_id=team.pk,
                team=team.name,
                reps=reps,
                inflow_per_day=inflow_day,
                handled_per_day=handled_day,
                backlog=waiting,
                backlog_median_hours=_float(median),
                backlog_oldest_hours=_float(oldest),
                verdict=verdict,
                message=message,
            )
        )
    return result


def _verdict(*, inflow_day: float, handled_day: float, backlog: int, reps: int) -> tuple[str, str]:
    # More than a day's answers wait, and more than one a rep: a few SQLs waiting at a
    # quiet time are not a backlog.
    if inflow_day > handled_day * OUTRUN_RATIO and backlog > max(handled_day, reps):
        return "outrun", _(
            "Sales cannot keep up: %(inflow).1f SQLs arrive a day, the reps answer "
            "%(handled).1f, and %(backlog)d wait. Add reps, tighten the qualification "
            "rules, or slow the campaigns."
        ) % {"inflow": inflow_day, "handled": handled_day, "backlog": backlog}
    if backlog == 0 and reps and inflow_day / reps < STARVING_PER_REP_DAY:
        return "starving", _(
            "Sales is starving: %(per_rep).1f SQLs a rep a day and nothing waiting. "
            "Marketing can send more, or loosen the qualification rules."
        ) % {"per_rep": inflow_day / reps}
    return "ok", _("Balanced: sales answers what marketing hands over.")


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


# --- Click-through ---------------------------------------------------------------------

# figure -> (the rollup condition, what the records are)
HANDOFF_FIGURES = {
    "sqls": "is_latest",
    "accepted": "is_latest AND lead_accepted",
    "opportunities": "is_latest AND lead_converted",
    "won": "is_latest AND lead_won",
    "deals": "deal_id IS NOT NULL",
    "won_deals": "deal_outcome = 'won'",
    "rejected": "status = 'rejected'",
    "accept_missed": "accept_sla = 'missed'",
    "touch_missed": "touch_sla = 'missed'",
    "breaches": "open_breach",
    "backlog": "status = 'pending'",
    "speed_accepted": "minutes_to_accept IS NOT NULL",
    "speed_touched": "minutes_to_touch IS NOT NULL",
}
# Figures of the cohort (lead created in the period); the others follow handed_off_at.
COHORT_FIGURES = {"sqls", "accepted", "opportunities", "won", "deals", "won_deals"}
# Figures that are the state now: no period.
NOW_FIGURES = {"breaches", "backlog"}
# Narrowing a figure to one bucket of a breakdown: by -> column.
BREAKDOWNS = {
    "reason": "reject_reason",
    "campaign": "campaign_id",
    "source": "source",
    "rule": "rule_name",
    "rep": "rep_id",
    "team": "team_id",
    "tier": "sla_tier",
}


def kpi_handoff_ids(
    f: KpiFilter, *, figure: str, by: str = "", key: str = "", limit: int = 200
) -> tuple[int, list[int]]:
    """The handoffs behind a handoff-side figure (optionally one bucket of a breakdown):
    how many, and the first ``limit`` ids, newest first. Raises KeyError on an unknown
    figure or breakdown."""
    condition = HANDOFF_FIGURES[figure]
    if figure in NOW_FIGURES:
        period = None
    else:
        period = "lead_created_at" if figure in COHORT_FIGURES else "handed_off_at"
    where, params = _where(f, period=period)
    if by == "touched":  # deals credited to a campaign by attribution (any model)
        credit = "campaign_id IS NULL" if key == "" else "campaign_id = %(key)s"
        where += f" AND deal_id IN (SELECT deal_id FROM handoff_kpiattribution WHERE {credit})"  # noqa: S608
        params["key"] = int(key) if key else None
    elif by:
        column = BREAKDOWNS[by]
        if key == "" and column in ("campaign_id", "rep_id"):
            where += f" AND {column} IS NULL"
        else:
            where += f" AND {column} = %(key)s"
            params["key"] = int(key) if column.endswith("_id") else key
    sql = f"FROM handoff_kpihandofffact WHERE {where} AND {condition}"
    (total,) = _one(f"SELECT count(*) {sql}", params)
    ids = [
        row[0]
        for row in _rows(
            f"SELECT handoff_id {sql} ORDER BY handed_off_at DESC LIMIT %(limit)s",
            {**params, "limit": limit},
        )
    ]
    return total, ids


def kpi_handoffs(ids: Sequence[int]) -> list[Handoff]:
    """The handoffs of ``ids`` in that order, with what the records page shows."""
    found = Handoff.objects.select_related("lead", "team", "assigned_to", "deal").in_bulk(ids)
    return [found[i] for i in ids if i in found]


def kpi_lead_ids(
    f: KpiFilter, *, figure: str, campaign: str | None = None, limit: int = 200
) -> tuple[int, list[int]]:
    """The leads behind ``leads`` or ``mqls`` of the waterfall (campaign return too): the
    rollup keeps no lead ids for plain leads, so this reads the lead table, one period
    and campaign at a time (a click, not every page view)."""
    from marketing.models import Lead

    leads = Lead.objects.filter(created_at__gte=f.since, created_at__lt=f.until)
    if figure == "mqls":
        leads = leads.filter(mql_at__isnull=False)
    elif figure != "leads":
        raise KeyError(figure)
    if f.campaign_id is not None:
        leads = leads.filter(campaign_id=f.campaign_id)
    if f.campaign_ids is not None:
        leads = leads.filter(campaign_id__in=f.campaign_ids)
    if f.source:
        leads = leads.filter(source=f.source)
    if campaign is not None:  # one row of the campaign table; "" is "no campaign"
        leads = leads.filter(campaign_id=int(campaign)) if campaign else leads.filter(campaign=None)
    return leads.count(), list(leads.order_by("-created_at").values_list("pk", flat=True)[:limit])
