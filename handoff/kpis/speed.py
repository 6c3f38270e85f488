"""How sales answers the handoffs: speed to lead and SLA attainment over the period's
handoffs, the open breaches now, and the team balance (SQLs handed over against SQLs
answered, and the backlog waiting now)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils.translation import gettext as _

from handoff.kpis.base import (
    KpiFilter,
    _float,
    _one,
    _pct,
    _rows,
    _team_names,
    _user_names,
    _where,
)
from handoff.models import SlaTier
from leadflow.models import Role, Team, User

# Team balance: marketing outruns sales when SQLs arrive this much faster than they are
# answered and more than a day's work waits; sales starves below one SQL a rep a day.
OUTRUN_RATIO = 1.1
STARVING_PER_REP_DAY = 1.0


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
