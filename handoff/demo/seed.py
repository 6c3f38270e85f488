"""The entry point: ``seed_demo`` tells the story (``_Demo``) and writes it, then adds the
month's targets and the clocks of the handoffs still open."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from django.db import connection, models, transaction
from django.utils import timezone

from handoff import rollups
from handoff.demo.cast import ADMIN_USERNAME, DEMO_LEADS, SEED, _Cast
from handoff.demo.handoffs import _Handoffs
from handoff.demo.writing import _copy
from handoff.models import Handoff, KpiTarget, SlaTier, TeamRouting
from leadflow.models import Team, User
from marketing import scoring
from sales.models import PipelineStage


@transaction.atomic
def seed_demo(*, leads: int = DEMO_LEADS, now: datetime | None = None) -> dict[str, int] | None:
    """Load the demo data set unless the demo admin exists (then return None).

    Returns the number of rows written, by kind. The same ``now`` gives the same data: the
    random generator is seeded with ``SEED``.
    """
    if User.objects.filter(username=ADMIN_USERNAME).exists():
        return None
    with connection.cursor() as cursor:
        counts = _Demo(cursor, random.Random(SEED), now or timezone.now()).build(leads)
    counts["targets"] = _targets(now or timezone.now())
    counts["sla_clocks"] = _open_clocks(now or timezone.now())
    # The dashboard reads rollups: build them now rather than at beat's first tick.
    rollups.rollups_refresh(now=now)
    # The story scored engagement without decay; the worker decays it to today.
    scoring.decay_start()
    return counts


# The clocks of the handoffs still open, at their story's deadlines, so that beat warns and
# breaches them live. Those already past due are recorded as missed, breach included, with
# no notification: they are history, not news, on a demo's first start.
_OPEN_CLOCKS_SQL = """
WITH clocks AS (
    SELECT h.id AS handoff_id, k.kind, h.assigned_to_id AS rep_id, k.due_at,
        k.due_at - make_interval(mins => COALESCE(p.warn_minutes,
            CASE h.sla_tier WHEN 'hot' THEN %(hot_warn)s ELSE %(standard_warn)s END)) AS warn_at,
        h.team_id
    FROM handoff_handoff AS h
    LEFT JOIN handoff_slapolicy AS p ON p.tier = h.sla_tier
    CROSS JOIN LATERAL (VALUES ('accept', h.accept_due_at), ('touch', h.touch_due_at))
        AS k(kind, due_at)
    WHERE h.status IN ('pending', 'accepted') AND k.due_at IS NOT NULL
        AND (k.kind = 'accept' AND h.status = 'pending'
             OR k.kind = 'touch' AND h.first_touch_at IS NULL)
), made AS (
    INSERT INTO handoff_sladeadline
        (handoff_id, kind, rep_id, due_at, warn_at, warned_at, state, closed_at, created_at)
    SELECT handoff_id, kind, rep_id, due_at, warn_at,
        CASE WHEN warn_at <= %(now)s THEN LEAST(warn_at, %(now)s) END,
        CASE WHEN due_at <= %(now)s THEN 'breached' ELSE 'open' END,
        CASE WHEN due_at <= %(now)s THEN due_at END, %(now)s
    FROM clocks
    RETURNING id, handoff_id, kind, rep_id, due_at, state
), breaches AS (
    INSERT INTO handoff_slabreach
        (deadline_id, handoff_id, kind, team_id, rep_id, due_at, breached_at, rerouted_to_id)
    SELECT m.id, m.handoff_id, m.kind, h.team_id, m.rep_id, m.due_at,
        m.due_at + interval '1 minute', NULL
    FROM made AS m JOIN handoff_handoff AS h ON h.id = m.handoff_id
    WHERE m.state = 'breached'
)
SELECT count(*) FROM made
"""


def _open_clocks(now: datetime) -> int:
    from handoff.sla import DEFAULT_POLICIES

    # A tier without its row in force warns as its default policy does.
    warn = {
        "hot_warn": DEFAULT_POLICIES[SlaTier.HOT].warn_minutes,
        "standard_warn": DEFAULT_POLICIES[SlaTier.STANDARD].warn_minutes,
    }
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_CLOCKS_SQL, {"now": now, **warn})
        return int(cursor.fetchone()[0])


# This month's targets (the measure, for everybody, then per team by name): a little
# above the demo's pace, so the dashboard shows some ahead and some behind.
TARGETS: tuple[tuple[str, int, dict[str, int]], ...] = (
    (KpiTarget.Metric.MQLS, 350, {}),
    (KpiTarget.Metric.SQLS, 330, {"Sales East": 240, "Sales West": 100}),
    (KpiTarget.Metric.PIPELINE, 5_000_000, {"Sales East": 3_500_000, "Sales West": 1_500_000}),
    (KpiTarget.Metric.WON, 1_200_000, {"Sales East": 850_000, "Sales West": 350_000}),
)


def _targets(now: datetime) -> int:
    month = now.date().replace(day=1)
    admin = User.objects.get(username=ADMIN_USERNAME)
    teams = dict(Team.objects.values_list("name", "pk"))
    rows = [
        KpiTarget(month=month, team_id=team, metric=metric, value=value, set_by=admin)
        for metric, total, per_team in TARGETS
        for team, value in [(None, total), *((teams[n], v) for n, v in per_team.items())]
    ]
    return len(KpiTarget.objects.bulk_create(rows))


class _Demo(_Cast, _Handoffs):
    """Tells the story in memory, then writes it: marketing lead by lead up to each lead's
    MQL moment, then sales working the MQLs in the order they arrived, so round-robin turns
    follow the clock."""

    def build(self, lead_count: int) -> dict[str, int]:
        self._cast()
        self._campaigns()
        self._rules()
        self.companies = self._make_companies(lead_count * 2 // 7)
        mqls = [
            lead for lead in map(self._lead, self._creation_times(lead_count)) if lead.model.mql_at
        ]
        for lead in sorted(mqls, key=lambda lead: lead.model.mql_at or self.now):
            self._sales(lead)
        TeamRouting.objects.bulk_create(
            TeamRouting(team_id=team_id, last_rep=rep) for team_id, rep in self.last_rep.items()
        )
        return self._write()

    def _write(self) -> dict[str, int]:
        # Sorted, so event ids follow time as they would have.
        events = sorted(self.events, key=lambda event: event.created_at)
        tables: dict[str, Sequence[models.Model]] = {
            "leads": [lead.model for lead in self.leads],
            "touchpoints": [touch for lead in self.leads for touch in lead.touches],
            "score entries": [entry for lead in self.leads for entry in lead.entries],
            "accounts": self.accounts,
            "contacts": self.contacts,
            "deals": self.deals,
            "handoffs": self.handoffs,
            "sales touches": self.touches,
            "events": events,
        }
        counts = {"users": len(self.users), "teams": len(self.teams)}
        counts["campaigns"] = counts["forms"] = len(self.campaigns)
        counts |= {name: _copy(self.cursor, rows) for name, rows in tables.items()}
        counts["MQLs"] = sum(lead.model.mql_at is not None for lead in self.leads)
        for status in Handoff.Status:
            counts[f"handoffs {status}"] = sum(h.status == status for h in self.handoffs)
        for outcome in PipelineStage.Outcome:
            counts[f"deals {outcome}"] = sum(d.stage.outcome == outcome for d in self.deals)
        # Fresh planner statistics for the first dashboard after seeding.
        self.cursor.execute(
            "ANALYZE marketing_lead, marketing_touchpoint, marketing_scoreentry, "
            "handoff_handoff, sales_deal, leadflow_event"
        )
        return counts
