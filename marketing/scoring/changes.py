"""Changing the rule set: a rule or the settings saved with a versioned change record
and a re-score of every lead, and the what-if preview of such a change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from leadflow import bus
from leadflow.errors import ApplicationError
from leadflow.models import User
from marketing.models import RescoreJob, ScoringChange, ScoringConfig, ScoringRule
from marketing.scoring.ledger import (
    _JUDGE_SQL,
    QUALIFIABLE_ALL,
    _erased_ids,
    _params,
    active_rules,
)
from marketing.scoring.rescore import rescore_start
from marketing.scoring.rules import as_of, config, config_clean, rule_clean
from marketing.scoring.sql import _decayed, _rounded, _wanted_engagement, _wanted_fit

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
