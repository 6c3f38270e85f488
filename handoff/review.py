"""The weekly alignment review: last week against the week before, from the KPIs.

The page and the Monday email digest are built from :func:`weekly_review`, so they say
the same thing. The digest goes to each team's managers on Monday morning in the team's
time zone: beat asks every hour (:func:`weekly_reviews_send`) and the notification's
dedupe key (team and week) makes it once per team and week, whatever beat does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from handoff import kpis
from leadflow.models import NotificationKind, Role, Team, User
from leadflow.notifications import notification_send

# Monday, from this hour (team's local time) on, the digest is due.
DIGEST_HOUR = 7
DIGEST_KIND = NotificationKind.WEEKLY_REVIEW


@dataclass(frozen=True)
class Move:
    label: str
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def percent(self) -> float | None:
        if self.change is None or not self.before:
            return None
        return 100 * self.change / self.before


@dataclass(frozen=True)
class Review:
    week_start: dt.date
    week_end: dt.date
    filter: kpis.KpiFilter
    moves: list[Move]
    leak: kpis.Stage | None  # the sales-side step that lost the most
    rejections: kpis.Rejections
    open_breaches: int
    sql_campaigns: list[kpis.CampaignReturn]  # produced SQLs, most first
    lead_only_campaigns: list[kpis.CampaignReturn]  # leads but no SQL
    breaches_by_rep: list[kpis.Attainment]


def week_of(day: dt.date) -> dt.date:
    """The Monday of the week before the one ``day`` is in: the week under review."""
    return day - dt.timedelta(days=day.weekday() + 7)


def weekly_review(f: kpis.KpiFilter) -> Review:
    """Review of the week ``f.start`` (a Monday) to ``f.end`` against the week before."""
    before = f.previous()
    now_w, then_w = kpis.kpi_waterfall(f), kpis.kpi_waterfall(before)
    now_s, then_s = kpis.kpi_speed_to_lead(f), kpis.kpi_speed_to_lead(before)
    moves = [
        Move(stage.label, _n(then_w.count(stage.key)), _n(stage.count))
        for stage in now_w.stages
        if stage.count is not None
    ]
    moves += [
        Move(_("Pipeline created"), float(then_w.pipeline), float(now_w.pipeline)),
        Move(_("Won value"), float(then_w.won_value), float(now_w.won_value)),
        Move(_("Median minutes to accept"), then_s.accept_median, now_s.accept_median),
        Move(_("Median minutes to first touch"), then_s.touch_median, now_s.touch_median),
    ]
    # The handoff itself: handed off → accepted → opportunity (won takes longer than a week).
    sales_steps = [
        s for s in now_w.stages if s.key in ("accepted", "opportunities") and s.drop_off is not None
    ]
    leak = max(sales_steps, key=lambda s: s.drop_off or 0, default=None)
    campaigns = kpis.kpi_campaign_return(f)
    total_breaches, _rows = kpis.kpi_open_breaches(f, limit=0)
    return Review(
        week_start=f.start,
        week_end=f.end,
        filter=f,
        moves=moves,
        leak=leak,
        rejections=kpis.kpi_rejections(f),
        open_breaches=total_breaches,
        sql_campaigns=sorted((c for c in campaigns if c.sqls), key=lambda c: (-c.sqls, c.name)),
        lead_only_campaigns=[c for c in campaigns if (c.leads or 0) and not c.sqls],
        breaches_by_rep=sorted(
            (a for a in now_s.by("rep") if a.accept_missed or a.touch_missed),
            key=lambda a: -(a.accept_missed + a.touch_missed),
        ),
    )


def _n(value: int | None) -> float | None:
    return None if value is None else float(value)


def _digest_due(team: Team, now: dt.datetime) -> dt.date | None:
    """The week to send if it is Monday morning (or later that Monday) for the team."""
    local = now.astimezone(ZoneInfo(team.timezone or "UTC"))
    if local.weekday() != 0 or local.hour < DIGEST_HOUR:
        return None
    return week_of(local.date())


def weekly_review_send(*, team: Team, now: dt.datetime) -> int:
    """Email the team's managers last week's review if it is due; how many were told."""
    week = _digest_due(team, now)
    if week is None:
        return 0
    f = kpis.KpiFilter(start=week, end=week + dt.timedelta(days=6), team_id=team.pk)
    review = weekly_review(f)
    url = f"{reverse('handoff:review')}?team={team.pk}&week={week.isoformat()}"
    sent = 0
    for manager in User.objects.filter(role=Role.MANAGER, team=team, is_active=True):
        subject = _("Weekly alignment review for %(team)s, week of %(week)s") % {
            "team": team.name,
            "week": week.isoformat(),
        }
        body = render_to_string("dashboard/review_email.txt", {"review": review, "team": team})
        told = notification_send(
            user=manager,
            kind=DIGEST_KIND,
            subject=subject,
            body=body,
            url=url,
            dedupe_key=f"{DIGEST_KIND}:{team.pk}:{week.isoformat()}",
        )
        sent += told is not None
    return sent


def weekly_reviews_send(*, now: dt.datetime | None = None) -> int:
    """Beat, hourly: every team whose Monday morning it is gets last week's digest."""
    now = now or timezone.now()
    return sum(weekly_review_send(team=team, now=now) for team in Team.objects.all())
