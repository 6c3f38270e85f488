"""Explaining a score: a lead's ledger rule by rule and in words, and its day-by-day
history replayed with the same decay arithmetic as the SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from marketing.models import Lead, ScoreEntry, ScoringConfig, ScoringRule
from marketing.scoring.rules import as_of, config, grade_for
from marketing.scoring.sql import DECAY_SCALE, _decayed, decay_factor


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
