"""Qualification rules: ordered data compiled into one SQL ``CASE``; the first match wins.

The same compiled SQL picks the rule for one MQL (``rule_for_lead``), counts what a rule
set would hand off (the previews) and qualifies MQLs in bulk after a re-score, so what a
preview promises is what saving does. Every save is a ``QualificationRuleChange``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from handoff.models import QualificationRule, QualificationRuleChange, SlaTier
from leadflow.errors import ApplicationError
from leadflow.models import Team, User
from marketing.models import Grade, Stage

# Lead fields a rule may require to be filled in.
REQUIRABLE_FIELDS = ("email", "phone", "first_name", "last_name", "company", "job_title",
                     "company_size", "country")  # fmt: skip
_DOMAIN = "COALESCE(split_part(lower(l.email), '@', 2), '')"


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)


def _conditions(
    rule: QualificationRule, n: int, *, grade: str, engagement: str, stage: str
) -> Compiled:
    """The SQL condition (on lead ``l``) under which ``rule`` fires; ``grade``,
    ``engagement`` and ``stage`` name what to judge (a preview judges values not saved)."""
    key = f"q{n}_"
    parts = [f"{engagement} >= %({key}eng)s"]
    params: dict[str, Any] = {f"{key}eng": rule.min_engagement}
    if rule.stages:
        parts.append(f"{stage} = ANY(%({key}stages)s)")
        params[f"{key}stages"] = list(rule.stages)
    if rule.fast_track_only:
        parts.append("l.fast_tracked")
    if rule.max_grade:
        parts.append(f"{grade} <= %({key}grade)s")
        params[f"{key}grade"] = rule.max_grade
    if rule.min_probability is not None:
        parts.append(f"COALESCE(l.win_probability, 0) >= %({key}prob)s")
        params[f"{key}prob"] = rule.min_probability
    for name in rule.required_fields:
        if name in REQUIRABLE_FIELDS:  # a fixed list: safe to name in SQL
            parts.append(f"COALESCE(l.{name}::text, '') <> ''")
    if rule.requires_consent:
        parts.append(
            "EXISTS (SELECT 1 FROM marketing_consentrecord AS c "
            "WHERE c.lead_id = l.id AND c.withdrawn_at IS NULL)"
        )
    domains = domains_parse(rule.exclude_domains)
    if domains:
        parts.append(f"NOT {_DOMAIN} = ANY(%({key}domains)s)")
        params[f"{key}domains"] = domains
    if rule.exclude_customers:
        # An account of the lead's email domain with a won deal (account_domain_uniq).
        parts.append(
            "NOT EXISTS (SELECT 1 FROM sales_account AS a "
            "JOIN sales_deal AS d ON d.account_id = a.id "
            "JOIN sales_pipelinestage AS s ON s.id = d.stage_id "
            f"WHERE a.domain = {_DOMAIN} AND a.domain <> '' AND s.outcome = 'won')"
        )
    return Compiled(" AND ".join(f"({part})" for part in parts), params)


def compile_rules(
    rules: Sequence[QualificationRule],
    *,
    grade: str = "l.grade",
    engagement: str = "l.engagement_score",
    stage: str = "l.stage",
) -> Compiled:
    """``CASE WHEN <rule 1> THEN 0 WHEN <rule 2> THEN 1 … END``: the index (in ``rules``)
    of the first rule that fires, or NULL."""
    if not rules:
        return Compiled("NULL::int")
    branches, params = [], {}
    for n, rule in enumerate(rules):
        condition = _conditions(rule, n, grade=grade, engagement=engagement, stage=stage)
        branches.append(f"WHEN {condition.sql} THEN {n}")
        params.update(condition.params)
    return Compiled(f"CASE {' '.join(branches)} END", params)


def active_rules() -> list[QualificationRule]:
    return list(QualificationRule.objects.filter(is_active=True).select_related("team"))


def rule_for_lead(*, lead_id: int) -> QualificationRule | None:
    """The first active rule that fires for the lead as it is now."""
    rules = active_rules()
    compiled = compile_rules(rules)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {compiled.sql} FROM marketing_lead AS l WHERE l.id = %(lead_id)s",
            {**compiled.params, "lead_id": lead_id},
        )
        row = cursor.fetchone()
    return rules[row[0]] if row and row[0] is not None else None


def rules_pick(
    *, rules: Sequence[QualificationRule], leads: Sequence[tuple[int, str, int]]
) -> list[int | None]:
    """For leads given as (id, grade, engagement) that would be MQLs, the index of the rule
    that would fire for each (None: no handoff). Other attributes are read as stored."""
    if not leads:
        return []
    # A would-be MQL is judged as an MQL, with the grade and engagement it would have.
    compiled = compile_rules(
        rules, grade="p.grade", engagement="p.engagement", stage="'mql'::varchar"
    )
    ids = [lead[0] for lead in leads]
    sql = (
        f"SELECT p.id, {compiled.sql} FROM unnest(%(ids)s::bigint[], %(grades)s::text[], "
        "%(engagements)s::int[]) AS p(id, grade, engagement) "
        "JOIN marketing_lead AS l ON l.id = p.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                **compiled.params,
                "ids": ids,
                "grades": [lead[1] for lead in leads],
                "engagements": [lead[2] for lead in leads],
            },
        )
        picked = dict(cursor.fetchall())
    return [picked.get(lead_id) for lead_id in ids]


def waiting_mqls_preview(*, rules: Sequence[QualificationRule]) -> dict[str, Any]:
    """How the rule set ``rules`` would treat the MQLs waiting now (no handoff yet): how
    many each rule would hand off, and how many none would."""
    compiled = compile_rules(rules)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {compiled.sql} AS pick, COUNT(*) FROM marketing_lead AS l "
            "WHERE l.stage = 'mql' AND l.erased_at IS NULL GROUP BY pick",
            compiled.params,
        )
        counts = dict(cursor.fetchall())
    per_rule = [{"rule": rule.name, "count": counts.get(n, 0)} for n, rule in enumerate(rules)]
    return {
        "waiting": sum(counts.values()),
        "handed_off": sum(row["count"] for row in per_rule),
        "none": counts.get(None, 0),
        "per_rule": per_rule,
    }


def domains_parse(text: str) -> list[str]:
    """Email domains, one a line (or comma-separated), lower-case, without a leading @."""
    items = text.replace(",", "\n").splitlines()
    return sorted({item.strip().lower().lstrip("@") for item in items if item.strip()})


# --- Editing ---------------------------------------------------------------------------

RULE_FIELDS = ("name", "position", "stages", "fast_track_only", "max_grade", "min_engagement",
               "min_probability", "required_fields", "requires_consent", "exclude_domains",
               "exclude_customers", "sla_tier", "team_id", "is_active")  # fmt: skip


def rule_snapshot(rule: QualificationRule) -> dict[str, Any]:
    data = {name: getattr(rule, name) for name in RULE_FIELDS}
    return json.loads(json.dumps(data))


def rule_clean(rule: QualificationRule) -> QualificationRule:
    rule.name = rule.name.strip()
    if not rule.name:
        raise ApplicationError(_("The rule needs a name."), field="name")
    if rule.max_grade and rule.max_grade not in Grade.values:
        raise ApplicationError(_("Choose a grade."), field="max_grade")
    unknown = [stage for stage in rule.stages if stage not in Stage.values]
    if unknown:
        raise ApplicationError(_("Choose stages from the list."), field="stages")
    missing = [name for name in rule.required_fields if name not in REQUIRABLE_FIELDS]
    if missing:
        raise ApplicationError(_("Choose fields from the list."), field="required_fields")
    if rule.min_probability is not None and not 0 <= rule.min_probability <= 1:
        raise ApplicationError(
            _("A probability is between 0 and 1 (0.3 means 30%)."), field="min_probability"
        )
    if rule.sla_tier not in SlaTier.values:
        raise ApplicationError(_("Choose an SLA tier."), field="sla_tier")
    if not rule.team_id or not Team.objects.filter(pk=rule.team_id).exists():
        raise ApplicationError(_("Choose the team that takes these leads."), field="team")
    for domain in domains_parse(rule.exclude_domains):
        if "." not in domain or " " in domain or "@" in domain:
            raise ApplicationError(
                _("“%(domain)s” is not an email domain.") % {"domain": domain},
                field="exclude_domains",
            )
    rule.exclude_domains = "\n".join(domains_parse(rule.exclude_domains))
    return rule


def rule_build(*, rule_id: int | None, data: dict[str, Any]) -> QualificationRule:
    """The rule as ``data`` would make it: unsaved and validated (for the preview too)."""
    rule = QualificationRule.objects.get(pk=rule_id) if rule_id else QualificationRule()
    for name in RULE_FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    return rule_clean(rule)


def _change_record(
    *, rule: QualificationRule, action: str, before: dict[str, Any], actor: User | None
) -> QualificationRuleChange:
    # Serialised on the rules' table lock: versions are taken one at a time.
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE handoff_qualificationrulechange IN EXCLUSIVE MODE")
    last = QualificationRuleChange.objects.aggregate(last=Max("version"))["last"] or 0
    return QualificationRuleChange.objects.create(
        version=last + 1,
        rule=rule,
        action=action,
        before=before,
        after=rule_snapshot(rule),
        actor=actor,
    )


@transaction.atomic
def rule_save(
    *, actor: User | None, rule_id: int | None = None, data: dict[str, Any]
) -> QualificationRule:
    """Create or change a qualification rule; the change is versioned."""
    if rule_id:
        QualificationRule.objects.select_for_update().filter(pk=rule_id).first()
    before = rule_snapshot(QualificationRule.objects.get(pk=rule_id)) if rule_id else {}
    rule = rule_build(rule_id=rule_id, data=data)
    if rule.pk is None and "position" not in data:
        last = QualificationRule.objects.aggregate(last=Max("position"))["last"]
        rule.position = 0 if last is None else last + 1
    rule.save()
    if rule_snapshot(rule) == before:
        raise ApplicationError(_("Nothing changed."))
    if not rule_id:
        action = QualificationRuleChange.Action.CREATED
    elif before.get("is_active") and not rule.is_active:
        action = QualificationRuleChange.Action.DEACTIVATED
    else:
        action = QualificationRuleChange.Action.UPDATED
    _change_record(rule=rule, action=action, before=before, actor=actor)
    return rule


@transaction.atomic
def rule_move(*, actor: User | None, rule_id: int, up: bool) -> None:
    """Swap a rule with its neighbour: the order decides which rule wins."""
    rules = list(QualificationRule.objects.select_for_update().order_by("position", "id"))
    index = next((i for i, rule in enumerate(rules) if rule.pk == rule_id), None)
    if index is None:
        raise ApplicationError(_("This rule does not exist any more."))
    other = index - 1 if up else index + 1
    if not 0 <= other < len(rules):
        return
    rules[index], rules[other] = rules[other], rules[index]
    for position, rule in enumerate(rules):
        if rule.position != position:
            before = rule_snapshot(rule)
            rule.position = position
            rule.save(update_fields=["position"])
            _change_record(
                rule=rule,
                action=QualificationRuleChange.Action.MOVED,
                before=before,
                actor=actor,
            )
