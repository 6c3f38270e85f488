"""The active rules compiled into SQL: the points each lead and each activity should
carry (``_wanted_*``), and the decay arithmetic shared by SQL and Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from leadflow.freemail import FREEMAIL_DOMAINS
from marketing.models import ScoringRule
from marketing.scoring.rules import FIT_FIELDS, sql_regex

# Decay factors are integers of this many parts, so sums are exact and order-free.
DECAY_SCALE = 1_000_000_000
# Stands for "no cap" in the capped-points arithmetic.
NO_CAP = 2**31 - 1


def decay_factor(days: int, half_life_days: int) -> int:
    """The factor, in billionths, of points ``days`` old (as SQL computes it)."""
    return round(0.5 ** (max(days, 0) / half_life_days) * DECAY_SCALE)


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
