"""The ledger: corrections reconciled set-wise for a range of leads, then the leads
brought to their ledger (scores, grade, MQL, the lapse flag); the scoring locks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection

from marketing.models import ScoringConfig, ScoringRule
from marketing.scoring.rules import as_of
from marketing.scoring.sql import _decayed, _rounded, _wanted_engagement, _wanted_fit

LEAD = "marketing.lead"
# Stages from which a lead becomes an MQL: when its own activity is scored, and in a
# pass over every lead.
QUALIFIABLE_ONE = ["lead", "recycled"]
QUALIFIABLE_ALL = ["lead"]
# Advisory lock key (arbitrary, fixed): shared for one lead, exclusive for a batch.
SCORING_LOCK = 4_400_001


_RECONCILE_FIT_SQL = """
WITH wanted AS ({wanted}),
have AS (
    SELECT e.lead_id, e.rule_id, SUM(e.points) AS points
    FROM marketing_scoreentry AS e
    WHERE e.lead_id BETWEEN %(lo)s AND %(hi)s AND e.axis = 'fit'
        AND NOT e.lead_id = ANY(%(erased)s) {rule_filter}
    GROUP BY e.lead_id, e.rule_id
)
INSERT INTO marketing_scoreentry
    (lead_id, rule_id, touchpoint_id, axis, points, occurred_at, version, created_at)
SELECT COALESCE(w.lead_id, h.lead_id), COALESCE(w.rule_id, h.rule_id), NULL, 'fit',
    COALESCE(w.points, 0) - COALESCE(h.points, 0), NULL, %(version)s, now()
FROM wanted AS w FULL JOIN have AS h ON h.lead_id = w.lead_id AND h.rule_id = w.rule_id
WHERE COALESCE(w.points, 0) <> COALESCE(h.points, 0)
"""

_RECONCILE_ENGAGEMENT_SQL = """
WITH wanted AS ({wanted}),
have AS (
    SELECT e.touchpoint_id, e.rule_id, MIN(e.lead_id) AS lead_id,
        MIN(e.occurred_at) AS occurred_at, SUM(e.points) AS points
    FROM marketing_scoreentry AS e
    WHERE e.lead_id BETWEEN %(lo)s AND %(hi)s AND e.axis = 'engagement'
        AND NOT e.lead_id = ANY(%(erased)s) {rule_filter}
    GROUP BY e.touchpoint_id, e.rule_id
)
INSERT INTO marketing_scoreentry
    (lead_id, rule_id, touchpoint_id, axis, points, occurred_at, version, created_at)
SELECT COALESCE(w.lead_id, h.lead_id), COALESCE(w.rule_id, h.rule_id),
    COALESCE(w.touchpoint_id, h.touchpoint_id), 'engagement',
    COALESCE(w.points, 0) - COALESCE(h.points, 0), COALESCE(w.occurred_at, h.occurred_at),
    %(version)s, now()
FROM wanted AS w
FULL JOIN have AS h ON h.touchpoint_id = w.touchpoint_id AND h.rule_id = w.rule_id
WHERE COALESCE(w.points, 0) <> COALESCE(h.points, 0)
"""

# The leads of the scope brought to their ledger: scores, grade, MQL, the lapse flag.
# ``totals`` is either the ledger's sums or (what-if) the wanted points' sums.
_JUDGE_SQL = """
fresh AS (
    SELECT l.id, l.fit_score AS old_fit, l.engagement_score AS old_engagement,
        l.grade AS old_grade, l.stage, l.fast_tracked, l.engagement_lapsed_at,
        COALESCE(t.fit, 0) AS fit, COALESCE(t.engagement, 0) AS engagement
    FROM marketing_lead AS l LEFT JOIN totals AS t ON t.lead_id = l.id
    WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.erased_at IS NULL {scope_filter}
), graded AS (
    SELECT *, CASE WHEN fit >= %(grade_a)s THEN 'A' WHEN fit >= %(grade_b)s THEN 'B'
        WHEN fit >= %(grade_c)s THEN 'C' ELSE 'D' END AS grade
    FROM fresh
), judged AS (
    SELECT *,
        fast_tracked OR (grade <= %(mql_grade)s AND engagement >= %(mql_engagement)s)
            AS qualifies
    FROM graded
), decided AS (
    SELECT *,
        -- A recycled lead (sales sent it back) qualifies again only on scoring for a new
        -- activity of its own, never in a pass over every lead (decay, a rule change).
        stage = ANY(%(qualifiable)s) AND qualifies AS becomes_mql,
        -- An MQL nobody handed off yet goes back to "lead" when it no longer qualifies;
        -- a lead already with sales keeps its stage and is only flagged.
        stage = 'mql' AND NOT qualifies AS falls_back,
        stage IN ('mql', 'sql', 'opportunity') AND NOT qualifies
            AND engagement_lapsed_at IS NULL AS lapses,
        engagement_lapsed_at IS NOT NULL AND qualifies AS recovers
    FROM judged
)
"""

# ``scope``: the leads of the range, or (after a rule change) only those the change's
# corrections touched, found through score_entry_lead_idx: the others cannot have moved.
_APPLY_SQL = """
WITH scope AS MATERIALIZED (
    SELECT l.id FROM marketing_lead AS l
    WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.erased_at IS NULL AND (
        cardinality(%(corrected_rules)s::bigint[]) = 0 OR EXISTS (
            SELECT 1 FROM marketing_scoreentry AS c
            WHERE c.lead_id = l.id AND c.lead_id BETWEEN %(lo)s AND %(hi)s
                AND c.rule_id = ANY(%(corrected_rules)s::bigint[]) AND c.version = %(version)s
        )
    )
), totals AS (
    SELECT e.lead_id,
        SUM(e.points) FILTER (WHERE e.axis = 'fit') AS fit,
        {engagement} AS engagement
    FROM marketing_scoreentry AS e JOIN scope ON scope.id = e.lead_id
    -- The range again, so the ledger is read by score_entry_lead_idx, not whole.
    WHERE e.lead_id BETWEEN %(lo)s AND %(hi)s
    GROUP BY e.lead_id
), {judge}, updated AS (
    UPDATE marketing_lead AS l SET
        fit_score = d.fit,
        engagement_score = d.engagement,
        grade = d.grade,
        stage = CASE WHEN d.becomes_mql THEN 'mql' WHEN d.falls_back THEN 'lead'
            ELSE l.stage END,
        mql_at = CASE WHEN d.becomes_mql THEN now() ELSE l.mql_at END,
        engagement_lapsed_at = CASE WHEN d.lapses THEN now() WHEN d.recovers THEN NULL
            ELSE l.engagement_lapsed_at END,
        scored_at = CASE WHEN %(mark_scored)s THEN now() ELSE l.scored_at END,
        updated_at = now()
    FROM decided AS d
    WHERE l.id = d.id AND l.id BETWEEN %(lo)s AND %(hi)s AND (
        %(mark_scored)s OR d.becomes_mql OR d.falls_back OR d.lapses OR d.recovers
        OR (d.fit, d.engagement, d.grade) <> (d.old_fit, d.old_engagement, d.old_grade)
    )
    RETURNING l.id, d.old_fit, d.old_engagement, d.old_grade, d.fit, d.engagement, d.grade,
        d.stage, d.becomes_mql, d.falls_back, d.lapses, d.fast_tracked
), score_events AS (
    INSERT INTO leadflow_event (subject_type, subject_id, kind, actor_id, rule, reason,
        old_value, new_value, created_at)
    SELECT %(subject)s, id, 'score', NULL, %(rule)s, '',
        format('%%s %%s/%%s', old_grade, old_fit, old_engagement),
        format('%%s %%s/%%s', grade, fit, engagement), now()
    FROM updated
    WHERE %(score_events)s AND (fit, engagement, grade) <> (old_fit, old_engagement, old_grade)
), stage_events AS (
    INSERT INTO leadflow_event (subject_type, subject_id, kind, actor_id, rule, reason,
        old_value, new_value, created_at)
    SELECT %(subject)s, id, 'stage', NULL,
        CASE WHEN becomes_mql THEN 'scoring: MQL thresholds' ELSE %(rule)s END,
        CASE WHEN becomes_mql AND fast_tracked THEN 'fast track'
            WHEN becomes_mql THEN format('grade %%s, engagement %%s ≥ %%s', grade, engagement,
                %(mql_engagement)s)
            ELSE format('no longer qualifies: grade %%s, engagement %%s', grade, engagement)
        END,
        stage, CASE WHEN becomes_mql THEN 'mql' ELSE 'lead' END, now()
    FROM updated WHERE becomes_mql OR falls_back
), lapse_events AS (
    INSERT INTO leadflow_event (subject_type, subject_id, kind, actor_id, rule, reason,
        old_value, new_value, created_at)
    SELECT %(subject)s, id, 'score', NULL, 'scoring: below threshold',
        format('engagement %%s < %%s or grade %%s: flagged, stage kept', engagement,
            %(mql_engagement)s, grade),
        format('%%s %%s/%%s', old_grade, old_fit, old_engagement),
        format('%%s %%s/%%s', grade, fit, engagement), now()
    FROM updated WHERE lapses AND stage <> 'mql'
)
SELECT id, becomes_mql, (fit, engagement, grade) <> (old_fit, old_engagement, old_grade)
FROM updated
"""


@dataclass(frozen=True)
class RunResult:
    leads_changed: int
    new_mql_ids: list[int]


def _params(cfg: ScoringConfig, *, lo: int, hi: int, today: date) -> dict[str, Any]:
    return {
        "lo": lo,
        "hi": hi,
        "today": today,
        "half_life": cfg.half_life_days,
        "grade_a": cfg.grade_a,
        "grade_b": cfg.grade_b,
        "grade_c": cfg.grade_c,
        "mql_grade": cfg.mql_min_grade,
        "mql_engagement": cfg.mql_min_engagement,
        "subject": LEAD,
    }


def active_rules() -> list[ScoringRule]:
    return list(ScoringRule.objects.filter(is_active=True))


def _erased_ids(lo: int, hi: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM marketing_lead WHERE id BETWEEN %s AND %s AND erased_at IS NOT NULL",
            [lo, hi],
        )
        return [row[0] for row in cursor.fetchall()]


def ledger_reconcile(
    *,
    lo: int,
    hi: int,
    rules: Sequence[ScoringRule],
    rule_ids: list[int] | None,
    version: int,
    erased: list[int] | None = None,
) -> None:
    """Write the ledger corrections of leads ``lo``..``hi`` for the rules ``rule_ids``
    (None: every rule). One statement per axis over the whole range: a re-score runs it
    once over every lead, so each table is read once, not once per batch."""
    params: dict[str, Any] = {
        "lo": lo,
        "hi": hi,
        "erased": _erased_ids(lo, hi) if erased is None else erased,
        "version": version,
        "rule_ids": rule_ids or [],
    }
    rule_filter = "" if rule_ids is None else "AND e.rule_id = ANY(%(rule_ids)s)"
    wanted = [r for r in rules if rule_ids is None or r.pk in rule_ids]
    axes = (
        set(ScoringRule.Axis.values)
        if rule_ids is None
        else set(ScoringRule.objects.filter(pk__in=rule_ids).values_list("axis", flat=True))
    )
    with connection.cursor() as cursor:
        if ScoringRule.Axis.FIT in axes:
            fit = _wanted_fit([r for r in wanted if r.axis == ScoringRule.Axis.FIT])
            cursor.execute(
                _RECONCILE_FIT_SQL.format(wanted=fit.sql, rule_filter=rule_filter),
                {**params, **fit.params},
            )
        if ScoringRule.Axis.ENGAGEMENT in axes:
            engagement = _wanted_engagement(
                [r for r in wanted if r.axis == ScoringRule.Axis.ENGAGEMENT]
            )
            cursor.execute(
                _RECONCILE_ENGAGEMENT_SQL.format(wanted=engagement.sql, rule_filter=rule_filter),
                {**params, **engagement.params},
            )


def roomy_memory() -> None:
    """Set-wise passes hash hundreds of thousands of rows: give this transaction the
    memory to do it in RAM rather than in temporary files."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # Compiling these statements costs more than it saves: they are I/O and writes.
        cursor.execute("SET LOCAL jit = off")


def ledger_run(
    *,
    lo: int,
    hi: int,
    rules: Sequence[ScoringRule],
    cfg: ScoringConfig,
    reconcile_rule_ids: Iterable[int] | None = (),
    version: int = 0,
    rule: str = "scoring",
    score_events: bool = True,
    mark_scored: bool = False,
    only_corrected_by: list[int] | None = None,
) -> RunResult:
    """Reconcile the ledger of leads ``lo``..``hi`` and bring the leads to it.

    ``reconcile_rule_ids``: None reconciles every rule, an empty list none (decay, a
    change of settings), else only the rules named (a rule change: the others are already
    right). ``only_corrected_by``: rule ids whose corrections of ``version`` are already
    written; only the leads they touched are brought to their ledger. Returns the leads
    whose score changed and those that became MQL. Runs inside the caller's transaction;
    the caller holds the scoring lock.
    """
    erased = _erased_ids(lo, hi)
    ids = None if reconcile_rule_ids is None else list(reconcile_rule_ids)
    if ids is None or ids:
        ledger_reconcile(
            lo=lo,
            hi=hi,
            rules=rules,
            rule_ids=ids,
            version=version,
            erased=erased,
        )
    params = {
        **_params(cfg, lo=lo, hi=hi, today=as_of(cfg)),
        "erased": erased,
        "rule": rule[:200],
        "score_events": score_events,
        "mark_scored": mark_scored,
        "qualifiable": QUALIFIABLE_ONE if mark_scored else QUALIFIABLE_ALL,
        "corrected_rules": only_corrected_by or [],
        "version": version,
    }
    with connection.cursor() as cursor:
        engagement_sum = _rounded(
            "SUM("
            + _decayed("e.points", "e.occurred_at")
            + ") FILTER (WHERE e.axis = 'engagement')"
        )
        cursor.execute(
            _APPLY_SQL.format(
                engagement=engagement_sum,
                judge=_JUDGE_SQL.strip().format(scope_filter="AND l.id IN (SELECT id FROM scope)"),
            ),
            params,
        )
        rows = cursor.fetchall()
    return RunResult(
        leads_changed=sum(1 for row in rows if row[2]),
        new_mql_ids=[row[0] for row in rows if row[1]],
    )


def lock_for_one_lead() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [SCORING_LOCK])


def lock_for_batch() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCORING_LOCK])
