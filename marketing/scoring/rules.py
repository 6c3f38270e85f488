"""The rule set's settings and vocabulary, and the checks a rule or the settings pass
before they are saved or previewed."""

from __future__ import annotations

import re
from datetime import date

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadflow.errors import ApplicationError
from marketing.models import Grade, ScoringConfig, ScoringRule, Touchpoint

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
