"""The KPI rollups: flat tables the dashboard reads instead of the live ones.

:func:`rollups_refresh` rebuilds every rollup from the source tables in one transaction,
set-wise (``INSERT … SELECT`` with aggregates and window functions). Readers are never
blocked: until the transaction commits they keep reading the previous rows (MVCC), and
afterwards the new ones, so a page never sees half a refresh. Beat runs it every two
minutes; a transaction-level advisory lock makes an overlapping run a no-op. The page
shows the refresh time, so nobody mistakes two-minute-old numbers for live ones.

Period filters work on whole days in UTC; the lead-side rollup is per UTC day.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from handoff.models import KpiRefresh

# pg_try_advisory_xact_lock key: "KPI" in ASCII.
_LOCK = 0x4B5049

# Leads per UTC day of creation, first campaign and source; and MQLs per day they
# qualified (lead velocity counts those by month).
_LEAD_DAYS = """
INSERT INTO handoff_kpileadday (day, campaign_id, source, leads, mqls, mqls_on_day)
SELECT day, campaign_id, source, sum(leads), sum(mqls), sum(mqls_on_day)
FROM (
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day, campaign_id, source,
           count(*) AS leads, count(mql_at) AS mqls, 0 AS mqls_on_day
    FROM marketing_lead
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT (mql_at AT TIME ZONE 'UTC')::date, campaign_id, source, 0, 0, count(*)
    FROM marketing_lead
    WHERE mql_at IS NOT NULL
    GROUP BY 1, 2, 3
) AS counted
GROUP BY 1, 2, 3
"""

# Handoffs per UTC day they were handed off, and per day they were answered; from the
# handoff facts (built first), with the lead's campaign and source.
_HANDOFF_DAYS = """
INSERT INTO handoff_kpihandoffday (day, team_id, campaign_id, source, handed, answered)
SELECT day, team_id, campaign_id, source, sum(handed), sum(answered)
FROM (
    SELECT (handed_off_at AT TIME ZONE 'UTC')::date AS day, team_id, campaign_id, source,
           count(*) AS handed, 0 AS answered
    FROM handoff_kpihandofffact
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT (answered_at AT TIME ZONE 'UTC')::date, team_id, campaign_id, source, 0, count(*)
    FROM handoff_kpihandofffact
    WHERE answered_at IS NOT NULL
    GROUP BY 1, 2, 3, 4
) AS counted
GROUP BY 1, 2, 3, 4
"""

_MQL_FACTS = """
INSERT INTO handoff_kpimqlfact (lead_id, created_at, campaign_id, source, days_to_mql)
SELECT id, created_at, campaign_id, source,
       greatest(extract(epoch FROM mql_at - created_at), 0) / 86400
FROM marketing_lead
WHERE mql_at IS NOT NULL
ORDER BY created_at
"""

# Rows go in by time, so a period's rows sit together on disk (fewer pages per scan).
# Durations clamp at zero (greatest() skips NULLs, hence the CASEs: no stage, no time).
# SLA outcomes come from the handoff's own deadlines: the accept clock stops at an answer
# (accepted or rejected), the touch clock at the first touch. An expired handoff missed
# its accept deadline; a clock still running past its deadline has missed it too.
_HANDOFF_FACTS = """
INSERT INTO handoff_kpihandofffact (
    handoff_id, lead_id, lead_created_at, handed_off_at, team_id, rep_id, campaign_id,
    source, sla_tier, rule_name, status, reject_reason, answered_at,
    days_mql_to_sql, days_sql_to_accept, days_accept_to_deal, days_deal_to_won,
    minutes_to_accept, minutes_to_touch, accept_sla, touch_sla,
    deal_id, deal_created_at, deal_amount, deal_outcome, deal_closed_at,
    is_latest, lead_accepted, lead_converted, lead_won, open_breach
)
SELECT h.id, h.lead_id, l.created_at, h.handed_off_at, h.team_id, h.assigned_to_id,
       l.campaign_id, l.source, h.sla_tier, h.rule_name, h.status, h.reject_reason,
       coalesce(h.accepted_at, h.rejected_at),
       CASE WHEN l.mql_at IS NOT NULL
            THEN greatest(extract(epoch FROM h.handed_off_at - l.mql_at), 0) / 86400 END,
       extract(epoch FROM h.accepted_at - h.handed_off_at) / 86400,
       CASE WHEN d.id IS NOT NULL AND h.accepted_at IS NOT NULL
            THEN greatest(extract(epoch FROM d.created_at - h.accepted_at), 0) / 86400 END,
       CASE WHEN s.outcome = 'won'
            THEN extract(epoch FROM d.closed_at - d.created_at) / 86400 END,
       extract(epoch FROM h.accepted_at - h.handed_off_at) / 60,
       extract(epoch FROM h.first_touch_at - h.handed_off_at) / 60,
       CASE WHEN h.accept_due_at IS NULL THEN ''
            WHEN coalesce(h.accepted_at, h.rejected_at) IS NOT NULL THEN
                CASE WHEN coalesce(h.accepted_at, h.rejected_at) <= h.accept_due_at
                     THEN 'met' ELSE 'missed' END
            WHEN h.status = 'expired' OR h.accept_due_at < %(now)s THEN 'missed'
            ELSE '' END,
       CASE WHEN h.touch_due_at IS NULL THEN ''
            WHEN h.first_touch_at IS NOT NULL THEN
                CASE WHEN h.first_touch_at <= h.touch_due_at THEN 'met' ELSE 'missed' END
            WHEN h.status IN ('pending', 'accepted') AND h.touch_due_at < %(now)s
                THEN 'missed'
            ELSE '' END,
       d.id, d.created_at, d.amount, coalesce(s.outcome, ''), d.closed_at,
       row_number() OVER (PARTITION BY h.lead_id ORDER BY h.handed_off_at DESC, h.id DESC) = 1,
       bool_or(h.accepted_at IS NOT NULL) OVER (PARTITION BY h.lead_id),
       bool_or(d.id IS NOT NULL) OVER (PARTITION BY h.lead_id),
       coalesce(bool_or(s.outcome = 'won') OVER (PARTITION BY h.lead_id), false),
       h.status IN ('pending', 'accepted') AND coalesce(
           (h.accept_due_at < %(now)s AND h.accepted_at IS NULL AND h.rejected_at IS NULL)
           OR coalesce(h.accepted_at, h.rejected_at) > h.accept_due_at
           OR (h.touch_due_at < %(now)s AND h.first_touch_at IS NULL)
           OR h.first_touch_at > h.touch_due_at,
           false
       )
FROM handoff_handoff h
JOIN marketing_lead l ON l.id = h.lead_id
LEFT JOIN sales_deal d ON d.id = h.deal_id
LEFT JOIN sales_pipelinestage s ON s.id = d.stage_id
ORDER BY h.handed_off_at
"""

# Attribution of each deal that came from a handoff, over the lead's touchpoints up to the
# deal's creation, ordered by time. Key touches: the first, the last before the deal, and
# (W-shaped) the last one at or before the MQL moment (the first, if none). Each model
# gives its key touches their share and spreads the rest evenly over the other touches,
# or over all touches when there are no others, so a deal's weights always sum to 1.
# A deal whose lead has no touchpoint is credited whole to "no campaign".
_ATTRIBUTION = """
WITH deals AS (
    SELECT d.id AS deal_id, d.amount, d.created_at AS deal_created_at,
           s.outcome = 'won' AS won, l.id AS lead_id, l.created_at AS lead_created_at,
           l.mql_at, l.campaign_id AS lead_campaign_id, l.source,
           h.team_id, h.assigned_to_id AS rep_id
    FROM handoff_handoff h
    JOIN sales_deal d ON d.id = h.deal_id
    JOIN sales_pipelinestage s ON s.id = d.stage_id
    JOIN marketing_lead l ON l.id = h.lead_id
),
touches AS (
    SELECT dl.deal_id, t.campaign_id,
           row_number() OVER (PARTITION BY dl.deal_id ORDER BY t.created_at, t.id) AS rn,
           count(*) OVER (PARTITION BY dl.deal_id) AS n,
           t.created_at <= dl.mql_at AS by_mql
    FROM deals dl
    JOIN marketing_touchpoint t
      ON t.lead_id = dl.lead_id AND t.created_at <= dl.deal_created_at
),
keyed AS (
    SELECT *, coalesce(max(rn) FILTER (WHERE by_mql) OVER (PARTITION BY deal_id), 1) AS m
    FROM touches
),
counted AS (
    -- k: how many distinct key touches the W-shaped model has (first, MQL, last).
    SELECT *, 1 + (n > 1)::int + (m NOT IN (1, n))::int AS k FROM keyed
),
weighted AS (
    SELECT deal_id, campaign_id,
           (rn = 1)::int::float8 AS first_touch,
           (rn = n)::int::float8 AS last_touch,
           1.0::float8 / n AS linear,
           0.4 * (rn = 1)::int + 0.4 * (rn = n)::int
             + 0.2 * CASE WHEN n <= 2 THEN 1.0::float8 / n
                          WHEN rn NOT IN (1, n) THEN 1.0::float8 / (n - 2)
                          ELSE 0 END AS u_shaped,
           0.3 * (rn = 1)::int + 0.3 * (rn = m)::int + 0.3 * (rn = n)::int
             + 0.1 * CASE WHEN n = k THEN 1.0::float8 / n
                          WHEN rn NOT IN (1, m, n) THEN 1.0::float8 / (n - k)
                          ELSE 0 END AS w_shaped
    FROM counted
    UNION ALL
    SELECT dl.deal_id, NULL, 1, 1, 1, 1, 1
    FROM deals dl
    WHERE NOT EXISTS (
        SELECT 1 FROM marketing_touchpoint t
        WHERE t.lead_id = dl.lead_id AND t.created_at <= dl.deal_created_at
    )
)
INSERT INTO handoff_kpiattribution (
    deal_id, campaign_id, lead_created_at, team_id, rep_id, lead_campaign_id, source,
    amount, won, first_touch, last_touch, linear, u_shaped, w_shaped
)
SELECT dl.deal_id, w.campaign_id, dl.lead_created_at, dl.team_id, dl.rep_id,
       dl.lead_campaign_id, dl.source, dl.amount, dl.won,
       sum(w.first_touch), sum(w.last_touch), sum(w.linear), sum(w.u_shaped),
       sum(w.w_shaped)
FROM weighted w
JOIN deals dl ON dl.deal_id = w.deal_id
GROUP BY dl.deal_id, w.campaign_id, dl.lead_created_at, dl.team_id, dl.rep_id,
         dl.lead_campaign_id, dl.source, dl.amount, dl.won
"""

_TABLES = (
    "handoff_kpileadday",
    "handoff_kpihandoffday",
    "handoff_kpimqlfact",
    "handoff_kpihandofffact",
    "handoff_kpiattribution",
)


@transaction.atomic
def rollups_refresh(*, now: datetime | None = None) -> bool:
    """Rebuild every rollup; False if another refresh is running (it will do)."""
    now = now or timezone.now()
    began = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK])
        if not cursor.fetchone()[0]:
            return False
        # DELETE, not TRUNCATE: TRUNCATE would lock the readers out until commit.
        for table in _TABLES:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 -- constant names
        cursor.execute(_LEAD_DAYS)
        cursor.execute(_MQL_FACTS)
        cursor.execute(_HANDOFF_FACTS, {"now": now})
        cursor.execute(_HANDOFF_DAYS)
        cursor.execute(_ATTRIBUTION)
    took = int((time.monotonic() - began) * 1000)
    KpiRefresh.objects.update_or_create(pk=1, defaults={"refreshed_at": now, "took_ms": took})
    return True


def rollups_vacuum() -> None:
    """After a refresh, outside its transaction: reclaim the deleted rows at once (each
    refresh replaces every row) and refresh the planner's statistics and the visibility
    map, so the dashboard's scans stay small and index-only where they can."""
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(_TABLES)}")


def rollups_refreshed_at() -> datetime | None:
    """When the numbers on the dashboard were computed (None: never yet)."""
    return KpiRefresh.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
