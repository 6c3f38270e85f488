"""Scoring: rules compiled into SQL, a ledger reconciled set-wise, decay, grades and MQLs.

One definition serves every path. ``_wanted_*`` compile the active rules into the points
each lead and each activity should carry; scoring one lead, re-scoring every lead after a
rule change, the daily decay and the what-if preview all run that same SQL, over one lead,
a range of leads, or (for the preview) without writing anything.

The ledger (``ScoreEntry``) holds deltas: scoring writes, per (lead, rule, activity), the
difference between what the rules give and what the ledger already sums to, so a second
run writes nothing and a rule change writes exactly its corrections. A lead's fit is the
sum of its fit rows; its engagement is the sum of its engagement rows, each halved every
``half_life_days`` since the day of its activity. Decay factors are whole days (UTC), so
a score is stable within a day, and the arithmetic is exact: each factor is an integer of
billionths, summed as integers and rounded once (half away from zero).

Concurrency: scoring one lead takes a shared advisory lock, a re-score batch the exclusive
one, so a batch never reconciles a lead while its scoring task does the same. Capture
takes neither and keeps running during a re-score.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Max, Min, Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from leadflow import bus
from leadflow.errors import ApplicationError
from leadflow.freemail import FREEMAIL_DOMAINS
from leadflow.models import User
from leadflow.services import enqueue_on_commit
from marketing.models import (
    Grade,
    Lead,
    RescoreJob,
    ScoreEntry,
    ScoringChange,
    ScoringConfig,
    ScoringRule,
    Touchpoint,
)

logger = logging.getLogger(__name__)

LEAD = "marketing.lead"
# Fit rules may read these lead fields; "number" fields take the numeric operators.
FIT_FIELDS = {
    "job_title": "text",
    "company": "text",
    "company_size": "number",
    "country": "text",
    "source": "text",
    "email": "text",
}
TEXT_OPERATORS = ("eq", "in", "matches", "freemail")
NUMBER_OPERATORS = ("eq", "in", "gte", "lte", "between")
# Activities that say "talk to me now": they make an MQL and a hot handoff at once.
FAST_TRACK_KINDS = (Touchpoint.Kind.DEMO_REQUEST, Touchpoint.Kind.CONTACT_SALES)
# Decay factors are integers of this many parts, so sums are exact and order-free.
DECAY_SCALE = 1_000_000_000
# Stands for "no cap" in the capped-points arithmetic.
NO_CAP = 2**31 - 1
# Stages from which a lead becomes an MQL: when its own activity is scored, and in a
# pass over every lead.
QUALIFIABLE_ONE = ["lead", "recycled"]
QUALIFIABLE_ALL = ["lead"]
# Advisory lock key (arbitrary, fixed): shared for one lead, exclusive for a batch.
SCORING_LOCK = 4_400_001


def config() -> ScoringConfig:
    """The rule set's settings (one row, made by migration 0006)."""
    cfg, _created = ScoringConfig.objects.get_or_create(pk=1)
    return cfg


def as_of(cfg: ScoringConfig) -> date:
    """The day engagement is decayed to (see ``ScoringConfig.decay_as_of``)."""
    return cfg.decay_as_of or timezone.now().date()


def grade_for(fit: int, *, cfg: ScoringConfig | None = None) -> str:
    cfg = cfg or config()
    for grade, minimum in ((Grade.A, cfg.grade_a), (Grade.B, cfg.grade_b), (Grade.C, cfg.grade_c)):
        if fit >= minimum:
            return grade
    return Grade.D


def decay_factor(days: int, half_life_days: int) -> int:
    """The factor, in billionths, of points ``days`` old (as SQL computes it)."""
    return round(0.5 ** (max(days, 0) / half_life_days) * DECAY_SCALE)


def sql_regex(pattern: str) -> str:
    """A Python-style pattern as Postgres reads it: ``\\b`` is a word boundary there ``\\y``."""
    return pattern.replace(r"\b", r"\y")


# --- Validation ---------------------------------------------------------------------------


def _number(text: str, *, field_name: str = "value") -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ApplicationError(
            _("“%(value)s” is not a number.") % {"value": text}, field=field_name
        ) from None


def _pattern_check(pattern: str, *, field_name: str) -> None:
    """The pattern must compile in Python and in Postgres (where it runs)."""
    try:
        re.compile(pattern)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT '' ~* %s", [sql_regex(pattern)])
    except Exception:
        raise ApplicationError(
            _("“%(pattern)s” is not a valid pattern.") % {"pattern": pattern}, field=field_name
        ) from None


def rule_clean(rule: ScoringRule) -> ScoringRule:
    """Check a rule before it is saved or previewed; normalise its value. Raises
    ApplicationError naming the field at fault."""
    rule.name = rule.name.strip()
    rule.value = rule.value.strip()
    rule.pattern = rule.pattern.strip()
    if not rule.name:
        raise ApplicationError(_("The rule needs a name."), field="name")
    if rule.axis == ScoringRule.Axis.FIT:
        _fit_clean(rule)
    elif rule.axis == ScoringRule.Axis.ENGAGEMENT:
        _engagement_clean(rule)
    else:
        raise ApplicationError(_("Choose fit or engagement."), field="axis")
    if abs(rule.points) > 1000:
        raise ApplicationError(_("Points must be between -1000 and 1000."), field="points")
    return rule


def _fit_clean(rule: ScoringRule) -> None:
    rule.cap = rule.period_cap = None
    rule.pattern = ""
    if rule.operator == ScoringRule.Operator.FREEMAIL:
        rule.field, rule.value = "email", ""
        return
    kind = FIT_FIELDS.get(rule.field)
    if kind is None:
        raise ApplicationError(_("Choose a lead field."), field="field")
    allowed = NUMBER_OPERATORS if kind == "number" else TEXT_OPERATORS
    if rule.operator not in allowed:
        raise ApplicationError(_("This condition does not apply to that field."), field="operator")
    if not rule.value:
        raise ApplicationError(_("Enter a value to compare with."), field="value")
    if rule.operator == ScoringRule.Operator.MATCHES:
        _pattern_check(rule.value, field_name="value")
    elif rule.operator == ScoringRule.Operator.BETWEEN:
        low, sep, high = rule.value.partition("..")
        if not sep or _number(low) > _number(high):
            raise ApplicationError(_("Write a range as “10..500” (lowest first)."), field="value")
    elif kind == "number":
        for item in rule.value.split(","):
            _number(item)
    if rule.operator == ScoringRule.Operator.IN:
        rule.value = ",".join(item.strip() for item in rule.value.split(",") if item.strip())


def _engagement_clean(rule: ScoringRule) -> None:
    rule.operator, rule.field = ScoringRule.Operator.KIND, ""
    if rule.value not in Touchpoint.Kind.values:
        raise ApplicationError(_("Choose an activity."), field="value")
    if rule.pattern:
        _pattern_check(rule.pattern, field_name="pattern")
    if (rule.cap is not None or rule.period_cap is not None) and rule.points <= 0:
        raise ApplicationError(_("Only rules that give points can be capped."), field="cap")
    if rule.period_days < 1 or rule.period_days > 365:
        raise ApplicationError(_("A period is 1 to 365 days."), field="period_days")


def config_clean(cfg: ScoringConfig) -> ScoringConfig:
    if not cfg.grade_a > cfg.grade_b > cfg.grade_c:
        raise ApplicationError(_("Grade bands must fall: A above B above C."), field="grade_b")
    if not 1 <= cfg.half_life_days <= 3650:
        raise ApplicationError(_("The half-life is 1 to 3650 days."), field="half_life_days")
    if cfg.mql_min_grade not in Grade.values:
        raise ApplicationError(_("Choose a grade."), field="mql_min_grade")
    return cfg


# --- Rules compiled into SQL ---------------------------------------------------------------


@dataclass
class Query:
    """A fragment of SQL with its parameters (named ``%(name)s``, unique per fragment)."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)


def _fit_predicate(rule: ScoringRule, n: int) -> Query:
    """The SQL condition on lead ``l`` under which ``rule`` gives its points."""
    key = f"fit{n}"
    if rule.operator == ScoringRule.Operator.FREEMAIL:
        return Query(
            f"split_part(lower(l.email), '@', 2) = ANY(%({key})s::text[])",
            {key: sorted(FREEMAIL_DOMAINS)},
        )
    column = f"l.{rule.field}"  # a name from FIT_FIELDS (rule_clean), never user text
    if FIT_FIELDS[rule.field] == "number":
        if rule.operator == ScoringRule.Operator.BETWEEN:
            low, _sep, high = rule.value.partition("..")
            return Query(
                f"{column} BETWEEN %({key}a)s::numeric AND %({key}b)s::numeric",
                {f"{key}a": float(low), f"{key}b": float(high)},
            )
        if rule.operator in (ScoringRule.Operator.EQ, ScoringRule.Operator.IN):
            numbers = [float(item) for item in rule.value.split(",")]
            return Query(f"{column} = ANY(%({key})s::numeric[])", {key: numbers})
        sign = ">=" if rule.operator == ScoringRule.Operator.GTE else "<="
        return Query(f"{column} {sign} %({key})s::numeric", {key: float(rule.value)})
    if rule.operator == ScoringRule.Operator.MATCHES:
        return Query(f"{column} <> '' AND {column} ~* %({key})s", {key: sql_regex(rule.value)})
    values = [item.strip().lower() for item in rule.value.split(",")]
    if rule.operator == ScoringRule.Operator.EQ:
        values = [rule.value.strip().lower()]
    return Query(f"lower(trim({column})) = ANY(%({key})s::text[])", {key: values})


def _wanted_fit(rules: Sequence[ScoringRule]) -> Query:
    """(lead_id, rule_id, points) for every rule each lead of the scope matches."""
    branches, params = [], {}
    for n, rule in enumerate(rules):
        predicate = _fit_predicate(rule, n)
        branches.append(
            f"SELECT {int(rule.pk or 0)}::bigint AS rule_id, {int(rule.points)} AS points "
            f"WHERE {predicate.sql}"
        )
        params.update(predicate.params)
    if not branches:
        return Query(
            "SELECT NULL::bigint AS lead_id, NULL::bigint AS rule_id, 0 AS points WHERE false"
        )
    return Query(
        "SELECT l.id AS lead_id, r.rule_id, r.points FROM marketing_lead AS l "
        f"CROSS JOIN LATERAL ({' UNION ALL '.join(branches)}) AS r "
        "WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.erased_at IS NULL",
        params,
    )


def _rules_values(rules: Sequence[ScoringRule], key: str) -> Query:
    """The engagement rules as a VALUES table ``r``."""
    rows = [
        (
            int(rule.pk or 0),
            rule.value,
            sql_regex(rule.pattern),
            int(rule.points),
            rule.cap if rule.cap is not None else NO_CAP,
            rule.period_cap if rule.period_cap is not None else NO_CAP,
            int(rule.period_days) * 86400,
        )
        for rule in rules
    ]
    placeholders = ", ".join(
        f"(%({key}{i}_0)s::bigint, %({key}{i}_1)s::text, %({key}{i}_2)s::text, "
        f"%({key}{i}_3)s::int, %({key}{i}_4)s::bigint, %({key}{i}_5)s::bigint, "
        f"%({key}{i}_6)s::bigint)"
        for i in range(len(rows))
    )
    params = {f"{key}{i}_{j}": value for i, row in enumerate(rows) for j, value in enumerate(row)}
    return Query(
        f"(VALUES {placeholders}) AS r(rule_id, kind, pattern, points, cap, period_cap, period)",
        params,
    )


_ACTIVITY_MATCH = (
    "t.kind = r.kind AND (r.pattern = '' OR "
    "(CASE WHEN t.kind = 'custom' THEN t.event_name ELSE t.landing_page END) ~* r.pattern)"
)
# Activity before the lead's engagement reset (sales recycled it) is worth nothing: read
# through lead_engagement_reset_idx, a small index, so a pass over every lead stays a
# hash anti-join against the few recycled ones.
_ACTIVITY_SCOPE = (
    "t.lead_id BETWEEN %(lo)s AND %(hi)s AND NOT t.lead_id = ANY(%(erased)s) "
    "AND NOT EXISTS (SELECT 1 FROM marketing_lead AS reset WHERE reset.id = t.lead_id "
    "AND reset.id BETWEEN %(lo)s AND %(hi)s AND reset.engagement_reset_at > t.created_at)"
)


def _wanted_engagement(rules: Sequence[ScoringRule]) -> Query:
    """(touchpoint_id, lead_id, occurred_at, rule_id, points) per activity and rule.

    Capped rules give each activity what is left of the lead's allowance, in the order
    the activities happened: first within its period (fixed windows of ``period_days``
    from the epoch, UTC), then of the rule's total cap.
    """
    plain = [rule for rule in rules if rule.cap is None and rule.period_cap is None]
    capped = [rule for rule in rules if rule not in plain]
    branches, params = [], {}
    if plain:
        values = _rules_values(plain, "ep")
        branches.append(
            "SELECT t.id AS touchpoint_id, t.lead_id, t.created_at AS occurred_at, "
            f"r.rule_id, r.points FROM marketing_touchpoint AS t JOIN {values.sql} "
            f"ON {_ACTIVITY_MATCH} WHERE {_ACTIVITY_SCOPE}"
        )
        params.update(values.params)
    if capped:
        values = _rules_values(capped, "ec")
        branches.append(
            f"""
            SELECT touchpoint_id, lead_id, occurred_at, rule_id,
                (LEAST(total_run, cap) - LEAST(total_run - in_period, cap))::int AS points
            FROM (
                SELECT *, SUM(in_period) OVER (
                    PARTITION BY lead_id, rule_id ORDER BY occurred_at, touchpoint_id
                ) AS total_run
                FROM (
                    SELECT *, LEAST(period_run, period_cap)
                        - LEAST(period_run - points, period_cap) AS in_period
                    FROM (
                        SELECT t.id AS touchpoint_id, t.lead_id, t.created_at AS occurred_at,
                            r.rule_id, r.points, r.cap, r.period_cap,
                            SUM(r.points) OVER (
                                PARTITION BY t.lead_id, r.rule_id,
                                    floor(extract(epoch FROM t.created_at) / r.period)
                                ORDER BY t.created_at, t.id
                            ) AS period_run
                        FROM marketing_touchpoint AS t JOIN {values.sql} ON {_ACTIVITY_MATCH}
                        WHERE {_ACTIVITY_SCOPE}
                    ) AS by_period
                ) AS period_capped
            ) AS total_capped
            """
        )
        params.update(values.params)
    if not branches:
        return Query(
            "SELECT NULL::bigint AS touchpoint_id, NULL::bigint AS lead_id, "
            "NULL::timestamptz AS occurred_at, NULL::bigint AS rule_id, 0 AS points WHERE false"
        )
    return Query(" UNION ALL ".join(branches), params)


def _decayed(points: str, occurred_at: str) -> str:
    """SQL: ``points`` of an activity at ``occurred_at``, decayed to %(today)s, in billionths."""
    return (
        f"({points})::bigint * round(power(0.5, GREATEST(0, %(today)s::date - "
        f"({occurred_at} AT TIME ZONE 'UTC')::date)::float8 / %(half_life)s) * {DECAY_SCALE})"
        "::bigint"
    )


def _rounded(billionths: str) -> str:
    return f"COALESCE(round({billionths} / {DECAY_SCALE}::numeric), 0)::int"


# --- Reconcile the ledger, then the leads ------------------------------------------------


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


# --- What-if -------------------------------------------------------------------------------

_WHATIF_SQL = """
WITH wanted_fit AS ({fit}), wanted_engagement AS ({engagement}),
totals AS (
    SELECT lead_id, SUM(fit) AS fit, {engagement_sum} AS engagement
    FROM (
        SELECT lead_id, points AS fit, 0 AS eng, NULL::timestamptz AS occurred_at
        FROM wanted_fit
        UNION ALL
        SELECT lead_id, 0, points, occurred_at FROM wanted_engagement
    ) AS w
    GROUP BY lead_id
), {judge}
SELECT d.id, d.grade <> d.old_grade AS grade_changes, d.becomes_mql, d.grade, d.engagement
FROM decided AS d
"""


@dataclass(frozen=True)
class Preview:
    leads: int
    grade_changes: int
    new_mqls: int
    # Of the new MQLs, how many a qualification rule would hand off (filled in by the
    # handoff app, which owns those rules; None without it).
    new_sqls: int | None
    # The new MQLs as (id, grade, engagement) they would have, for the handoff app.
    new_mqls_scored: list[tuple[int, str, int]]


def whatif(*, rules: Sequence[ScoringRule], cfg: ScoringConfig) -> Preview:
    """What the rule set ``rules`` with settings ``cfg`` would change, on the real data,
    without writing anything: the same compiled SQL the re-score runs."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), -1) FROM marketing_lead")
        lo, hi = cursor.fetchone()
        fit = _wanted_fit([r for r in rules if r.axis == ScoringRule.Axis.FIT and r.is_active])
        engagement = _wanted_engagement(
            [r for r in rules if r.axis == ScoringRule.Axis.ENGAGEMENT and r.is_active]
        )
        sql = _WHATIF_SQL.format(
            fit=fit.sql,
            engagement=engagement.sql,
            engagement_sum=_rounded("SUM(" + _decayed("eng", "occurred_at") + ")"),
            judge=_JUDGE_SQL.strip().format(scope_filter=""),
        )
        cursor.execute(
            sql,
            {
                **_params(cfg, lo=lo, hi=hi, today=as_of(cfg)),
                "erased": _erased_ids(lo, hi),
                "qualifiable": QUALIFIABLE_ALL,
                **fit.params,
                **engagement.params,
            },
        )
        rows = cursor.fetchall()
    preview = Preview(
        leads=len(rows),
        grade_changes=sum(1 for row in rows if row[1]),
        new_mqls=sum(1 for row in rows if row[2]),
        new_sqls=None,
        new_mqls_scored=[(row[0], row[3], row[4]) for row in rows if row[2]],
    )
    result: dict[str, Any] = {}
    bus.publish("scoring.preview", preview=preview, result=result)
    return replace(preview, new_sqls=result.get("new_sqls"))


def whatif_rule(*, rule_id: int | None, data: dict[str, Any]) -> Preview:
    """The preview of saving one rule with ``data`` (validated like the save)."""
    rule, _before = rule_build(rule_id=rule_id, data=data)
    rules = [r for r in active_rules() if r.pk != rule_id]
    if rule.pk is None:
        rule.pk = 0  # not saved: no ledger entries carry it yet
    return whatif(rules=[*rules, rule], cfg=config())


def whatif_config(*, data: dict[str, Any]) -> Preview:
    cfg = config()
    for name in CONFIG_FIELDS:
        if name in data:
            setattr(cfg, name, data[name])
    return whatif(rules=active_rules(), cfg=config_clean(cfg))


# --- Editing the rule set -----------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "axis",
    "field",
    "operator",
    "value",
    "pattern",
    "points",
    "cap",
    "period_cap",
    "period_days",
    "is_active",
    "position",
)
CONFIG_FIELDS = (
    "grade_a",
    "grade_b",
    "grade_c",
    "half_life_days",
    "mql_min_grade",
    "mql_min_engagement",
)


def rule_snapshot(rule: ScoringRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def config_snapshot(cfg: ScoringConfig) -> dict[str, Any]:
    return {name: getattr(cfg, name) for name in CONFIG_FIELDS}


def _change_record(
    *,
    actor: User | None,
    action: str,
    rule: ScoringRule | None,
    before: dict[str, Any],
    after: dict[str, Any],
) -> ScoringChange:
    # The settings row is the rule set's lock: changes take versions one at a time.
    ScoringConfig.objects.select_for_update().filter(pk=1).first()
    last = ScoringChange.objects.aggregate(last=Max("version"))["last"] or 0
    return ScoringChange.objects.create(
        version=last + 1, rule=rule, action=action, before=before, after=after, actor=actor
    )


def rule_build(
    *, rule_id: int | None = None, data: dict[str, Any]
) -> tuple[ScoringRule, dict[str, Any]]:
    """The rule as it would be after ``data`` (unsaved, validated) and its old snapshot."""
    rule = ScoringRule.objects.get(pk=rule_id) if rule_id else ScoringRule()
    before = rule_snapshot(rule) if rule_id else {}
    for name in RULE_FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    if rule.period_days is None:
        rule.period_days = 1
    return rule_clean(rule), before


@transaction.atomic
def rule_save(
    *, actor: User | None, rule_id: int | None = None, data: dict[str, Any]
) -> RescoreJob:
    """Create or change a scoring rule, record the change and re-score every lead in the
    background. Returns the re-score job (its progress is on the rules page)."""
    if rule_id:
        ScoringRule.objects.select_for_update().filter(pk=rule_id).first()  # one editor at a time
    rule, before = rule_build(rule_id=rule_id, data=data)
    if rule.pk is None and "position" not in data:
        last = ScoringRule.objects.filter(axis=rule.axis).aggregate(last=Max("position"))
        rule.position = (last["last"] or 0) + 1
    rule.save()
    after = rule_snapshot(rule)
    if before == after:
        raise ApplicationError(_("Nothing changed."))
    if not rule_id:
        action = ScoringChange.Action.CREATED
    elif before.get("is_active") and not rule.is_active:
        action = ScoringChange.Action.DEACTIVATED
    else:
        action = ScoringChange.Action.UPDATED
    change = _change_record(actor=actor, action=action, rule=rule, before=before, after=after)
    return rescore_start(change=change, rule_ids=[rule.pk])


@transaction.atomic
def config_save(*, actor: User | None, data: dict[str, Any]) -> RescoreJob:
    """Change the grade bands, half-life or MQL thresholds; re-scores every lead."""
    cfg = ScoringConfig.objects.select_for_update().get(pk=config().pk)
    before = config_snapshot(cfg)
    for name in CONFIG_FIELDS:
        if name in data:
            setattr(cfg, name, data[name])
    config_clean(cfg)
    if config_snapshot(cfg) == before:
        raise ApplicationError(_("Nothing changed."))
    cfg.save(update_fields=list(CONFIG_FIELDS))
    change = _change_record(
        actor=actor,
        action=ScoringChange.Action.SETTINGS,
        rule=None,
        before=before,
        after=config_snapshot(cfg),
    )
    # Settings move no points: the ledger stays, grades and thresholds are re-judged.
    return rescore_start(change=change, rule_ids=[])


# --- The background re-score --------------------------------------------------------------

# Leads per transaction: big enough for set-wise SQL to pay, small enough that scoring
# tasks (which wait for a batch) and the progress bar move every few seconds.
RESCORE_BATCH = 100_000


def rescore_start(
    *,
    change: ScoringChange | None,
    rule_ids: list[int] | None,
    kind: str = RescoreJob.Kind.RULES,
    reason: str = "",
) -> RescoreJob:
    """A job over every lead that exists now, enqueued after commit."""
    from marketing.tasks import rescore_run

    bounds = Lead.objects.aggregate(first=Min("pk"), last=Max("pk"))
    first, last = bounds["first"] or 0, bounds["last"] if bounds["last"] is not None else -1
    job = RescoreJob.objects.create(
        kind=kind,
        change=change,
        reason=(reason or (f"rule change v{change.version}" if change else "re-score"))[:200],
        rule_ids=rule_ids,
        first_lead_id=first,
        last_lead_id=last,
        next_lead_id=first,
    )
    enqueue_on_commit(rescore_run, job.pk)
    return job


def rescore_run(*, job_id: int, batch: int = RESCORE_BATCH) -> RescoreJob | None:
    """Run (or resume) a re-score job, one committed batch of leads at a time.

    Idempotent: a re-delivered task resumes at ``next_lead_id``, and each batch's ledger
    corrections are computed against the ledger itself, so a batch run twice writes
    nothing the second time.
    """
    started = RescoreJob.objects.filter(
        pk=job_id, status__in=(RescoreJob.Status.QUEUED, RescoreJob.Status.RUNNING)
    ).update(
        status=RescoreJob.Status.RUNNING,
        started_at=Coalesce("started_at", Now()),
        progressed_at=Now(),
    )
    if not started:
        return None
    job = RescoreJob.objects.get(pk=job_id)
    version = job.change.version if job.change else 0
    start = job.next_lead_id
    if job.rule_ids != [] and start <= job.last_lead_id:
        # The ledger corrections first, in one pass over the leads still to do; then
        # the leads, batch by batch. Scoring tasks wait for the lock meanwhile, so no
        # lead is corrected twice; capture does not take it.
        began = time.monotonic()
        with transaction.atomic():
            lock_for_batch()
            roomy_memory()
            ledger_reconcile(
                lo=start,
                hi=job.last_lead_id,
                rules=active_rules(),
                rule_ids=job.rule_ids,
                version=version,
            )
        logger.info(
            "re-score job %s: ledger corrections in %.1f s", job_id, time.monotonic() - began
        )
    began = time.monotonic()
    while start <= job.last_lead_id:
        end = min(start + batch - 1, job.last_lead_id)
        with transaction.atomic():
            lock_for_batch()
            roomy_memory()
            result = ledger_run(
                lo=start,
                hi=end,
                rules=active_rules(),
                cfg=config(),
                reconcile_rule_ids=[],
                version=version,
                only_corrected_by=job.rule_ids or None,
                rule=job.reason,
                score_events=job.kind == RescoreJob.Kind.RULES,
            )
            if result.new_mql_ids:
                bus.publish("leads.mql", lead_ids=result.new_mql_ids)
            RescoreJob.objects.filter(pk=job_id).update(
                next_lead_id=end + 1,
                changed=F("changed") + result.leads_changed,
                new_mqls=F("new_mqls") + len(result.new_mql_ids),
                progressed_at=Now(),
            )
        start = end + 1
    elapsed = time.monotonic() - began
    logger.info("re-score job %s: leads brought to their ledger in %.1f s", job_id, elapsed)
    RescoreJob.objects.filter(pk=job_id).update(
        status=RescoreJob.Status.DONE, finished_at=Now(), progressed_at=Now()
    )
    return RescoreJob.objects.get(pk=job_id)


def rescore_fail(*, job_id: int, error: str) -> None:
    RescoreJob.objects.filter(pk=job_id).update(
        status=RescoreJob.Status.FAILED, error=error[:2000], finished_at=Now()
    )


def rescore_stalled_ids(*, older_than_seconds: int) -> list[int]:
    """Jobs whose task never ran or died mid-way: the sweeper re-enqueues them."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        RescoreJob.objects.filter(status__in=(RescoreJob.Status.QUEUED, RescoreJob.Status.RUNNING))
        .filter(Q(progressed_at__lt=cutoff) | Q(progressed_at=None, created_at__lt=cutoff))
        .values_list("pk", flat=True)
    )


@transaction.atomic
def decay_start() -> RescoreJob | None:
    """Today's decay pass over every lead, once a day (a second call the same day is a
    no-op). Engagement falls by the day; a lead that no longer qualifies is flagged."""
    today = timezone.now().date()
    cfg = ScoringConfig.objects.select_for_update().get(pk=config().pk)
    if cfg.decay_as_of == today:
        return None
    cfg.decay_as_of = today
    cfg.save(update_fields=["decay_as_of"])
    return rescore_start(
        change=None, rule_ids=[], kind=RescoreJob.Kind.DECAY, reason=f"daily decay {today}"
    )


# --- Scoring one lead ----------------------------------------------------------------------


@transaction.atomic
def lead_score(*, lead_id: int) -> Lead | None:
    """Bring one lead's ledger up to date with every active rule, then its scores, grade
    and stage. Idempotent. Publishes ``lead.mql`` when the lead becomes an MQL (the
    thresholds, or a fast-track activity), so the handoff follows in the same transaction.
    """
    lock_for_one_lead()
    lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
    if lead is None:
        return None
    if lead.erased_at is not None:
        # Erasure emptied the fields fit rules read (title, email domain): re-scoring
        # would move the grade of an anonymous lead and, with it, the KPIs it still counts in.
        return lead
    version = ScoringChange.objects.aggregate(last=Max("version"))["last"] or 0
    result = ledger_run(
        lo=lead_id,
        hi=lead_id,
        rules=active_rules(),
        cfg=config(),
        reconcile_rule_ids=None,
        version=version,
        mark_scored=True,
    )
    if result.new_mql_ids:
        bus.publish("lead.mql", lead_id=lead_id)
    return Lead.objects.get(pk=lead_id)


@transaction.atomic
def lead_engagement_reset(*, lead_id: int, reason: str) -> None:
    """Start the lead's engagement again from zero: its activity so far, and a fast-track
    request among it, no longer count (the ledger writes the corrections, and the score
    event says why). Called when sales recycles the lead; a pass over every lead never
    qualifies a recycled one, so this cannot hand it back by itself.
    """
    lock_for_one_lead()
    # The clock of the app, as for touchpoints: not the transaction's start.
    now = timezone.now()
    Lead.objects.filter(pk=lead_id).update(
        engagement_reset_at=now, fast_tracked=False, updated_at=now
    )
    version = ScoringChange.objects.aggregate(last=Max("version"))["last"] or 0
    ledger_run(
        lo=lead_id,
        hi=lead_id,
        rules=active_rules(),
        cfg=config(),
        reconcile_rule_ids=None,
        version=version,
        rule=reason,
    )


# --- Explaining a score -------------------------------------------------------------------


@dataclass(frozen=True)
class ExplainLine:
    rule: str
    axis: str
    # The ledger's sum for the rule, and what it is worth today (engagement decays).
    raw: int
    points: float
    activities: int
    last_at: datetime | None


@dataclass(frozen=True)
class Explanation:
    fit: int
    engagement: int
    grade: str
    as_of: date
    half_life_days: int
    lines: list[ExplainLine]
    sentences: list[str]


_EXPLAIN_SQL = f"""
SELECT r.name, e.axis, SUM(e.points)::int AS raw,
    SUM(CASE WHEN e.axis = 'engagement' THEN {_decayed("e.points", "e.occurred_at")}
        ELSE e.points::bigint * {DECAY_SCALE} END) AS billionths,
    COUNT(DISTINCT e.touchpoint_id) AS activities, MAX(e.occurred_at) AS last_at
FROM marketing_scoreentry AS e JOIN marketing_scoringrule AS r ON r.id = e.rule_id
WHERE e.lead_id = %(lead_id)s
GROUP BY r.name, e.axis
"""


def lead_score_explain(*, lead_id: int) -> Explanation:
    """The score of a lead from its ledger, rule by rule, and in words. ``fit`` and
    ``engagement`` are the ledger's sums (engagement decayed to ``as_of``): the numbers
    the lead carries."""
    cfg = config()
    day = as_of(cfg)
    with connection.cursor() as cursor:
        cursor.execute(
            _EXPLAIN_SQL, {"lead_id": lead_id, "today": day, "half_life": cfg.half_life_days}
        )
        rows = cursor.fetchall()
    lines = sorted(
        (
            ExplainLine(
                rule=name,
                axis=axis,
                raw=raw,
                points=round(float(billionths) / DECAY_SCALE, 1),
                activities=activities,
                last_at=last_at,
            )
            for name, axis, raw, billionths, activities, last_at in rows
            if raw or billionths
        ),
        key=lambda line: (line.axis, -line.points),
    )
    fit = sum(line.raw for line in lines if line.axis == ScoringRule.Axis.FIT)
    total = sum(
        (
            Decimal(int(b))
            for _n, axis, _r, b, _a, _l in rows
            if axis == ScoringRule.Axis.ENGAGEMENT
        ),
        Decimal(0),
    )
    engagement = int((total / DECAY_SCALE).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    grade = grade_for(fit, cfg=cfg)
    sentences = _sentences(cfg, fit=fit, engagement=engagement, grade=grade, lines=lines)
    reset_at = Lead.objects.filter(pk=lead_id).values_list("engagement_reset_at", flat=True)
    if since := reset_at.first():
        sentences.insert(
            1,
            _("Engagement counts only activity since %(date)s, when sales sent the lead back.")
            % {"date": date_format(timezone.localtime(since), "SHORT_DATE_FORMAT")},
        )
    return Explanation(
        fit=fit,
        engagement=engagement,
        grade=grade,
        as_of=day,
        half_life_days=cfg.half_life_days,
        lines=lines,
        sentences=sentences,
    )


def _sentences(
    cfg: ScoringConfig, *, fit: int, engagement: int, grade: str, lines: list[ExplainLine]
) -> list[str]:
    fit_lines = [line for line in lines if line.axis == ScoringRule.Axis.FIT]
    engaged = [line for line in lines if line.axis == ScoringRule.Axis.ENGAGEMENT]
    out = []
    if fit_lines:
        out.append(
            _("Fit %(fit)s makes grade %(grade)s: %(parts)s.")
            % {
                "fit": fit,
                "grade": grade,
                "parts": ", ".join(f"{line.rule} {line.raw:+d}" for line in fit_lines),
            }
        )
    else:
        out.append(
            _("No fit rule matches this lead's fields yet: grade %(grade)s.") % {"grade": grade}
        )
    if engaged:
        count = sum(line.activities for line in engaged)
        out.append(
            ngettext(
                "Engagement %(now)s: %(count)s activity earned %(raw)s points, which lose "
                "half their worth every %(days)s days.",
                "Engagement %(now)s: %(count)s activities earned %(raw)s points, which lose "
                "half their worth every %(days)s days.",
                count,
            )
            % {
                "now": engagement,
                "count": count,
                "raw": sum(line.raw for line in engaged),
                "days": cfg.half_life_days,
            }
        )
    else:
        out.append(_("No activity has earned engagement points yet."))
    short = cfg.mql_min_engagement - engagement
    if not grade_reaches(grade, cfg.mql_min_grade):
        out.append(
            _("An MQL needs grade %(grade)s or better: the fit decides, not activity.")
            % {"grade": cfg.mql_min_grade}
        )
    elif short > 0:
        out.append(
            _("%(short)s more engagement points make an MQL (%(minimum)s needed).")
            % {"short": short, "minimum": cfg.mql_min_engagement}
        )
    else:
        out.append(_("Fit and engagement pass the MQL thresholds."))
    return out


def grade_reaches(grade: str, minimum: str) -> bool:
    """True when ``grade`` is ``minimum`` or better (A is best)."""
    return grade <= minimum


def lead_score_history(*, lead_id: int, days: int = 90) -> list[dict[str, Any]]:
    """The lead's fit and engagement at the end of each of the last ``days`` days,
    replayed from its ledger with the same decay arithmetic as the SQL."""
    cfg = config()
    end = as_of(cfg)
    entries = list(
        ScoreEntry.objects.filter(lead_id=lead_id).values_list(
            "axis", "points", "occurred_at", "created_at"
        )
    )
    history = []
    for back in range(days - 1, -1, -1):
        day = end - timedelta(days=back)
        fit, billionths = 0, 0
        for axis, points, occurred_at, created_at in entries:
            if created_at.date() > day:
                continue
            if axis == ScoringRule.Axis.FIT:
                fit += points
            elif occurred_at is not None:
                age = (day - occurred_at.astimezone(UTC).date()).days
                billionths += points * decay_factor(age, cfg.half_life_days)
        engagement = int(
            (Decimal(billionths) / DECAY_SCALE).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )
        history.append({"day": day.isoformat(), "fit": fit, "engagement": engagement})
    return history
