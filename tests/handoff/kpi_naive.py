"""Every KPI of handoff.kpis computed a second, naive way: Python over the ORM's rows of
the live tables (no rollups, no SQL aggregates), for the tests to compare against."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from handoff.kpis import KpiFilter
from handoff.models import Handoff
from leadflow.models import Role, Team, User
from marketing.models import Lead, Touchpoint
from sales.models import Deal

DAY = 86400.0


def percentile(values: list[float], q: float) -> float | None:
    """Postgres' percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _days(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds() / DAY


def _lead_matches(f: KpiFilter, lead: Lead) -> bool:
    if f.campaign_id is not None and lead.campaign_id != f.campaign_id:
        return False
    if f.campaign_ids is not None and lead.campaign_id not in f.campaign_ids:
        return False
    return not (f.source and lead.source != f.source)


def _handoff_matches(f: KpiFilter, h: Handoff) -> bool:
    if f.team_id is not None and h.team_id != f.team_id:
        return False
    if f.rep_id is not None and h.assigned_to_id != f.rep_id:
        return False
    return _lead_matches(f, h.lead)


def _in(at: dt.datetime | None, f: KpiFilter) -> bool:
    return at is not None and f.since <= at < f.until


def all_handoffs() -> list[Handoff]:
    return list(Handoff.objects.select_related("lead", "deal", "deal__stage"))


def _won(h: Handoff) -> bool:
    return _won_deal(h) is not None


def _won_deal(h: Handoff) -> Deal | None:
    return h.deal if h.deal is not None and h.deal.stage.outcome == "won" else None


def _won_days(h: Handoff) -> float | None:
    deal = _won_deal(h)
    if deal is None or deal.closed_at is None:
        return None
    return _days(deal.closed_at, deal.created_at)


def accept_sla(h: Handoff, now: dt.datetime) -> str:
    if h.accept_due_at is None:
        return ""
    answered = h.accepted_at or h.rejected_at
    if answered is not None:
        return "met" if answered <= h.accept_due_at else "missed"
    if h.status == "expired" or h.accept_due_at < now:
        return "missed"
    return ""


def touch_sla(h: Handoff, now: dt.datetime) -> str:
    if h.touch_due_at is None:
        return ""
    if h.first_touch_at is not None:
        return "met" if h.first_touch_at <= h.touch_due_at else "missed"
    if h.status in ("pending", "accepted") and h.touch_due_at < now:
        return "missed"
    return ""


def _cohort_leads(f: KpiFilter) -> list[Lead]:
    leads = Lead.objects.filter(created_at__gte=f.since, created_at__lt=f.until)
    return [lead for lead in leads if _lead_matches(f, lead)]


def _latest_by_lead(handoffs: list[Handoff]) -> dict[int, list[Handoff]]:
    by_lead: dict[int, list[Handoff]] = defaultdict(list)
    for h in handoffs:
        by_lead[h.lead_id].append(h)
    for rows in by_lead.values():
        rows.sort(key=lambda h: (h.handed_off_at, h.pk), reverse=True)
    return by_lead


def waterfall(f: KpiFilter) -> dict[str, Any]:
    handoffs = all_handoffs()
    by_lead = _latest_by_lead(handoffs)
    counted = [
        rows
        for rows in by_lead.values()
        if _in(rows[0].lead.created_at, f) and _handoff_matches(f, rows[0])
    ]
    rows = [h for h in handoffs if _in(h.lead.created_at, f) and _handoff_matches(f, h)]
    result: dict[str, Any] = {
        "leads": None,
        "mqls": None,
        "sqls": len(counted),
        "accepted": sum(any(h.accepted_at for h in r) for r in counted),
        "opportunities": sum(any(h.deal_id for h in r) for r in counted),
        "won": sum(any(_won(h) for h in r) for r in counted),
        "pipeline": sum((h.deal.amount for h in rows if h.deal), Decimal(0)),
        "won_value": sum((d.amount for h in rows if (d := _won_deal(h))), Decimal(0)),
        "median_lead_mql": None,
        "median_mql_sql": percentile(
            [max(_days(h.handed_off_at, h.lead.mql_at), 0) for h in rows if h.lead.mql_at], 0.5
        ),
        "median_sql_accept": percentile(
            [_days(h.accepted_at, h.handed_off_at) for h in rows if h.accepted_at], 0.5
        ),
        "median_accept_deal": percentile(
            [
                max(_days(h.deal.created_at, h.accepted_at), 0)
                for h in rows
                if h.deal and h.accepted_at
            ],
            0.5,
        ),
        "median_deal_won": percentile([w for h in rows if (w := _won_days(h)) is not None], 0.5),
    }
    if f.rep_id is None:
        leads = _cohort_leads(f)
        result["leads"] = len(leads)
        result["mqls"] = sum(1 for lead in leads if lead.mql_at)
        result["median_lead_mql"] = percentile(
            [max(_days(lead.mql_at, lead.created_at), 0) for lead in leads if lead.mql_at], 0.5
        )
    return result


def _period_handoffs(f: KpiFilter) -> list[Handoff]:
    return [h for h in all_handoffs() if _in(h.handed_off_at, f) and _handoff_matches(f, h)]


def speed(f: KpiFilter, now: dt.datetime) -> dict[str, Any]:
    rows = _period_handoffs(f)
    accept = [(h.accepted_at - h.handed_off_at).total_seconds() / 60 for h in rows if h.accepted_at]
    touch = [
        (h.first_touch_at - h.handed_off_at).total_seconds() / 60 for h in rows if h.first_touch_at
    ]
    attainment: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for h in rows:
        a, t = accept_sla(h, now), touch_sla(h, now)
        if not (a or t):
            continue
        for key in (
            ("rep", str(h.assigned_to_id or "")),
            ("team", str(h.team_id)),
            ("tier", h.sla_tier),
        ):
            slot = attainment[key]
            slot[0] += a == "met"
            slot[1] += a == "missed"
            slot[2] += t == "met"
            slot[3] += t == "missed"
    return {
        "accept": (percentile(accept, 0.5), percentile(accept, 0.9)),
        "touch": (percentile(touch, 0.5), percentile(touch, 0.9)),
        "attainment": {k: tuple(v) for k, v in attainment.items()},
    }


def open_breaches(f: KpiFilter, now: dt.datetime) -> set[int]:
    return {
        h.pk
        for h in all_handoffs()
        if h.status in ("pending", "accepted")
        and "missed" in (accept_sla(h, now), touch_sla(h, now))
        and _handoff_matches(f, h)
    }


def rejections(f: KpiFilter) -> dict[str, Counter[Any]]:
    rows = [h for h in _period_handoffs(f) if h.status == "rejected"]
    return {
        "reason": Counter(h.reject_reason for h in rows),
        "campaign": Counter(h.lead.campaign_id for h in rows),
        "source": Counter(h.lead.source for h in rows),
        "rule": Counter(h.rule_name for h in rows),
    }


MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped")


def _weights(n: int, m: int) -> list[dict[str, float]]:
    """Per position (1-based) of n touches, m the W-shaped MQL touch."""
    result = []
    middle_u = [p for p in range(1, n + 1) if p not in (1, n)]
    keys_w = {1, m, n}
    middle_w = [p for p in range(1, n + 1) if p not in keys_w]
    for p in range(1, n + 1):
        u = 0.4 * (p == 1) + 0.4 * (p == n)
        u += 0.2 * ((1 / len(middle_u)) if p in middle_u else 0) if middle_u else 0.2 / n
        w = 0.3 * (p == 1) + 0.3 * (p == m) + 0.3 * (p == n)
        w += 0.1 * ((1 / len(middle_w)) if p in middle_w else 0) if middle_w else 0.1 / n
        result.append(
            {
                "first_touch": float(p == 1),
                "last_touch": float(p == n),
                "linear": 1 / n,
                "u_shaped": u,
                "w_shaped": w,
            }
        )
    return result


def attribution(f: KpiFilter) -> dict[tuple[int, int | None], dict[str, float]]:
    """(deal, campaign) -> credited value under each model, for the cohort's deals."""
    credit: dict[tuple[int, int | None], dict[str, float]] = defaultdict(
        lambda: dict.fromkeys(MODELS, 0.0)
    )
    for h in all_handoffs():
        if not h.deal or not _in(h.lead.created_at, f) or not _handoff_matches(f, h):
            continue
        deal = h.deal
        touches = sorted(
            Touchpoint.objects.filter(lead_id=h.lead_id, created_at__lte=deal.created_at),
            key=lambda t: (t.created_at, t.pk),
        )
        if not touches:
            for model in MODELS:
                credit[(deal.pk, None)][model] += float(deal.amount)
            continue
        mql = h.lead.mql_at
        by_mql = [i + 1 for i, t in enumerate(touches) if mql and t.created_at <= mql]
        m = by_mql[-1] if by_mql else 1
        for touch, weights in zip(touches, _weights(len(touches), m), strict=True):
            for model in MODELS:
                credit[(deal.pk, touch.campaign_id)][model] += weights[model] * float(deal.amount)
    return credit


def campaign_counts(f: KpiFilter) -> dict[int | None, dict[str, int]]:
    counts: dict[int | None, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("leads", "mqls", "sqls", "won"), 0)
    )
    if f.rep_id is None:
        for lead in _cohort_leads(f):
            counts[lead.campaign_id]["leads"] += 1
            counts[lead.campaign_id]["mqls"] += bool(lead.mql_at)
    for rows in _latest_by_lead(all_handoffs()).values():
        latest = rows[0]
        if _in(latest.lead.created_at, f) and _handoff_matches(f, latest):
            counts[latest.lead.campaign_id]["sqls"] += 1
            counts[latest.lead.campaign_id]["won"] += any(_won(h) for h in rows)
    return counts


def balance(f: KpiFilter, now: dt.datetime) -> dict[int, dict[str, Any]]:
    result = {}
    handoffs = [h for h in all_handoffs() if _handoff_matches(f, h)]
    teams = Team.objects.all() if f.team_id is None else Team.objects.filter(pk=f.team_id)
    for team in teams:
        mine = [h for h in handoffs if h.team_id == team.pk]
        waiting = [
            (now - h.handed_off_at).total_seconds() / 3600 for h in mine if h.status == "pending"
        ]
        reps = User.objects.filter(role=Role.REP, is_active=True, is_away=False, team=team).count()
        result[team.pk] = {
            "inflow": sum(_in(h.handed_off_at, f) for h in mine),
            "handled": sum(_in(h.accepted_at or h.rejected_at, f) for h in mine),
            "backlog": len(waiting),
            "median_hours": percentile(waiting, 0.5),
            "oldest_hours": max(waiting) if waiting else None,
            "reps": 1 if f.rep_id is not None else reps,
        }
    return result


def velocity(f: KpiFilter) -> dict[dt.date, tuple[int | None, int]]:
    mqls: Counter[dt.date] = Counter()
    sqls: Counter[dt.date] = Counter()
    for lead in Lead.objects.filter(mql_at__isnull=False):
        if _lead_matches(f, lead) and lead.mql_at:
            mqls[lead.mql_at.astimezone(dt.UTC).date().replace(day=1)] += 1
    for h in all_handoffs():
        if _handoff_matches(f, h):
            sqls[h.handed_off_at.astimezone(dt.UTC).date().replace(day=1)] += 1
    months = {*mqls, *sqls}
    return {m: (mqls[m] if f.rep_id is None else None, sqls[m]) for m in months}


def month_actuals(f: KpiFilter, month: dt.date) -> dict[str, Decimal]:
    nxt = (month + dt.timedelta(days=32)).replace(day=1)
    since = dt.datetime.combine(month, dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(nxt, dt.time(), tzinfo=dt.UTC)

    def inside(at: dt.datetime | None) -> bool:
        return at is not None and since <= at < until

    handoffs = [h for h in all_handoffs() if _handoff_matches(f, h)]
    result = {
        "sqls": Decimal(sum(inside(h.handed_off_at) for h in handoffs)),
        "pipeline": sum(
            (h.deal.amount for h in handoffs if h.deal and inside(h.deal.created_at)), Decimal(0)
        ),
        "won": sum(
            (d.amount for h in handoffs if (d := _won_deal(h)) and inside(d.closed_at)),
            Decimal(0),
        ),
    }
    if f.rep_id is None:
        result["mqls"] = Decimal(
            sum(
                1
                for lead in Lead.objects.filter(mql_at__gte=since, mql_at__lt=until)
                if _lead_matches(f, lead)
            )
        )
    return result
