"""Marketing writes: campaigns, forms, capture, scoring and lead stage changes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from leadflow import bus
from leadflow.errors import ApplicationError
from leadflow.freemail import is_freemail
from leadflow.models import Event, User
from leadflow.services import enqueue_on_commit, event_record
from marketing.models import (
    Campaign,
    Form,
    Grade,
    Lead,
    ScoreEntry,
    ScoringRule,
    Stage,
    Touchpoint,
)

LEAD = "marketing.lead"
# Fit points needed for each grade, best first.
GRADE_BANDS = ((Grade.A, 35), (Grade.B, 20), (Grade.C, 5))
GRADE_ORDER = "ABCD"
# Stages from which a lead may become an MQL.
QUALIFIABLE = (Stage.LEAD, Stage.RECYCLED)


def normalize_email(raw: str) -> str:
    return raw.strip().lower()


def normalize_phone(raw: str, *, country: str = "") -> str:
    """E.164, or raise ApplicationError for a number that cannot be a phone number."""
    raw = raw.strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, country.upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ApplicationError(_("Enter a valid phone number."), field="phone") from exc
    if not phonenumbers.is_possible_number(number):
        raise ApplicationError(_("Enter a valid phone number."), field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- Campaigns and forms ---------------------------------------------------------------


@transaction.atomic
def campaign_create(
    *,
    owner: User,
    name: str,
    channel: str,
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    budget: Decimal = Decimal(0),
    cost: Decimal = Decimal(0),
    starts_on: Any = None,
    ends_on: Any = None,
) -> Campaign:
    if starts_on and ends_on and ends_on < starts_on:
        raise ApplicationError(_("The campaign cannot end before it starts."), field="ends_on")
    return Campaign.objects.create(
        owner=owner,
        name=name,
        channel=channel,
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        budget=budget,
        cost=cost,
        starts_on=starts_on,
        ends_on=ends_on,
    )


@transaction.atomic
def form_create(
    *,
    created_by: User,
    campaign: Campaign,
    name: str,
    title: str = "",
    thank_you_message: str = "",
    consent_text: str = "",
    fast_track: bool = False,
) -> Form:
    form = Form(
        created_by=created_by,
        campaign=campaign,
        name=name,
        title=title or name,
        consent_text=consent_text,
        fast_track=fast_track,
    )
    if thank_you_message:
        form.thank_you_message = thank_you_message
    form.save()
    return form


# --- Capture ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptureInput:
    email: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    job_title: str = ""
    company_size: int | None = None
    country: str = ""
    phone: str = ""
    attribution: dict[str, str] = field(default_factory=dict)


ATTRIBUTION_FIELDS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
    "landing_page",
)

# One statement inserts the person or, if the normalised email exists, fills only the
# fields that are still empty. xmax = 0 tells a fresh insert from an update.
_UPSERT_SQL = """
INSERT INTO marketing_lead AS l (
    email, phone, first_name, last_name, company, job_title, company_size, country,
    stage, campaign_id, source, fit_score, engagement_score, grade, fast_tracked,
    created_at, updated_at
) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'lead', %s, %s, 0, 0, 'D', %s, now(), now())
ON CONFLICT (email) DO UPDATE SET
    phone = COALESCE(NULLIF(l.phone, ''), EXCLUDED.phone),
    first_name = COALESCE(NULLIF(l.first_name, ''), EXCLUDED.first_name),
    last_name = COALESCE(NULLIF(l.last_name, ''), EXCLUDED.last_name),
    company = COALESCE(NULLIF(l.company, ''), EXCLUDED.company),
    job_title = COALESCE(NULLIF(l.job_title, ''), EXCLUDED.job_title),
    company_size = COALESCE(l.company_size, EXCLUDED.company_size),
    country = COALESCE(NULLIF(l.country, ''), EXCLUDED.country),
    fast_tracked = l.fast_tracked OR EXCLUDED.fast_tracked,
    scored_at = NULL,
    updated_at = now()
RETURNING id, (xmax = 0) AS inserted
"""


@transaction.atomic
def lead_capture(*, form: Form, data: CaptureInput) -> tuple[int, bool]:
    """Store a form submission at once; scoring follows in the worker.

    Returns ``(lead_id, created)``. A known email gets a touchpoint on its existing lead
    instead of a duplicate. The hot path is a fixed handful of statements whatever the
    size of the tables: the upsert, the touchpoint, the "created" event.
    """
    email = normalize_email(data.email)
    phone = normalize_phone(data.phone, country=data.country)
    campaign = form.campaign
    source = data.attribution.get("utm_source") or campaign.utm_source or campaign.channel
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_SQL,
            [
                email,
                phone,
                data.first_name.strip(),
                data.last_name.strip(),
                data.company.strip(),
                data.job_title.strip(),
                data.company_size,
                data.country.strip().upper(),
                campaign.pk,
                source[:100],
                form.fast_track,
            ],
        )
        lead_id, created = cursor.fetchone()
    Touchpoint.objects.create(
        lead_id=lead_id,
        kind=Touchpoint.Kind.DEMO_REQUEST if form.fast_track else Touchpoint.Kind.FORM_SUBMIT,
        campaign_id=campaign.pk,
        form_id=form.pk,
        **{key: data.attribution.get(key, "")[:500] for key in ATTRIBUTION_FIELDS},
    )
    if created:
        event_record(
            subject_type=LEAD,
            subject_id=lead_id,
            kind=Event.Kind.CREATED,
            rule=f"form: {form.name}",
            new_value=Stage.LEAD,
        )
    from marketing.tasks import score_lead

    enqueue_on_commit(score_lead, lead_id)
    return lead_id, created


# --- Scoring ---------------------------------------------------------------------------


def _fit_matches(rule: ScoringRule, lead: Lead) -> bool:
    value = getattr(lead, rule.field, None) if rule.field else None
    if rule.operator == ScoringRule.Operator.FREEMAIL:
        return is_freemail(lead.email)
    if value in (None, ""):
        return False
    if rule.operator == ScoringRule.Operator.GTE:
        try:
            return Decimal(str(value)) >= Decimal(rule.value)
        except ArithmeticError:
            return False
    if rule.operator == ScoringRule.Operator.IN:
        options = {item.strip().lower() for item in rule.value.split(",")}
        return str(value).strip().lower() in options
    if rule.operator == ScoringRule.Operator.MATCHES:
        return re.search(rule.value, str(value), re.IGNORECASE) is not None
    return False


def grade_for(fit: int) -> str:
    for grade, minimum in GRADE_BANDS:
        if fit >= minimum:
            return grade
    return Grade.D


def grade_at_least(grade: str, minimum: str) -> bool:
    """True when ``grade`` is ``minimum`` or better (A is best)."""
    return GRADE_ORDER.index(grade) <= GRADE_ORDER.index(minimum)


@transaction.atomic
def lead_score(*, lead_id: int) -> Lead | None:
    """Bring the ledger up to date for one lead, then its scores, grade and stage.

    Idempotent: fit entries are deltas against the ledger's per-rule sums, engagement
    entries are unique per (rule, touchpoint), so running twice changes nothing.
    Publishes ``lead.mql`` when the lead crosses the thresholds (or is fast-tracked).
    """
    lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
    if lead is None:
        return None
    rules = list(ScoringRule.objects.filter(is_active=True))

    current = dict(
        ScoreEntry.objects.filter(lead=lead, axis=ScoringRule.Axis.FIT)
        .values_list("rule_id")
        .annotate(total=Sum("points"))
    )
    deltas = []
    for rule in rules:
        if rule.axis != ScoringRule.Axis.FIT:
            continue
        wanted = rule.points if _fit_matches(rule, lead) else 0
        have = current.get(rule.pk, 0)
        if wanted != have:
            deltas.append(ScoreEntry(lead=lead, rule=rule, axis=rule.axis, points=wanted - have))
    ScoreEntry.objects.bulk_create(deltas)

    engagement_rules = {
        rule.value: rule for rule in rules if rule.axis == ScoringRule.Axis.ENGAGEMENT
    }
    ScoreEntry.objects.bulk_create(
        [
            ScoreEntry(
                lead=lead,
                rule=engagement_rules[touch.kind],
                touchpoint=touch,
                axis=ScoringRule.Axis.ENGAGEMENT,
                points=engagement_rules[touch.kind].points,
            )
            for touch in lead.touchpoints.filter(kind__in=engagement_rules)
        ],
        ignore_conflicts=True,
    )

    totals = dict(
        ScoreEntry.objects.filter(lead=lead).values_list("axis").annotate(total=Sum("points"))
    )
    fit, engagement = totals.get("fit", 0), totals.get("engagement", 0)
    grade = grade_for(fit)
    old = (lead.fit_score, lead.engagement_score, lead.grade)
    lead.fit_score, lead.engagement_score, lead.grade = fit, engagement, grade
    lead.scored_at = timezone.now()
    update = ["fit_score", "engagement_score", "grade", "scored_at"]
    if old != (fit, engagement, grade):
        event_record(
            subject_type=LEAD,
            subject_id=lead.pk,
            kind=Event.Kind.SCORE,
            rule="scoring",
            old_value=f"{old[2]} {old[0]}/{old[1]}",
            new_value=f"{grade} {fit}/{engagement}",
        )
    qualifies = lead.fast_tracked or (
        grade_at_least(grade, settings.LEADFLOW_MQL_MIN_GRADE)
        and engagement >= settings.LEADFLOW_MQL_MIN_ENGAGEMENT
    )
    became_mql = lead.stage in QUALIFIABLE and qualifies
    if became_mql:
        reason = (
            "fast track"
            if lead.fast_tracked
            else f"grade {grade}, engagement {engagement} ≥ {settings.LEADFLOW_MQL_MIN_ENGAGEMENT}"
        )
        _set_stage(lead, Stage.MQL, rule="scoring: MQL thresholds", reason=reason)
        lead.mql_at = timezone.now()
        update += ["stage", "mql_at"]
    lead.save(update_fields=[*update, "updated_at"])
    if became_mql:
        bus.publish("lead.mql", lead_id=lead.pk)
    return lead


def lead_score_breakdown(*, lead_id: int) -> list[dict[str, Any]]:
    """Points per rule, from the ledger: the explanation that always sums to the score."""
    rows = (
        ScoreEntry.objects.filter(lead_id=lead_id)
        .values("rule__name", "axis")
        .annotate(points=Sum("points"))
        .exclude(points=0)
        .order_by("axis", "-points")
    )
    return [
        {"rule": row["rule__name"], "axis": row["axis"], "points": row["points"]} for row in rows
    ]


# --- Stage changes (also used by the handoff app) ---------------------------------------


def _set_stage(
    lead: Lead, stage: str, *, actor: User | None = None, rule: str = "", reason: str = ""
) -> None:
    if lead.stage == stage:
        return
    event_record(
        subject_type=LEAD,
        subject_id=lead.pk,
        kind=Event.Kind.STAGE,
        actor=actor,
        rule=rule,
        reason=reason,
        old_value=lead.stage,
        new_value=stage,
    )
    lead.stage = stage


@transaction.atomic
def lead_stage_change(
    *, lead_id: int, stage: str, actor: User | None = None, rule: str = "", reason: str = ""
) -> Lead:
    """Move a lead to ``stage`` with an event; stamps ``sql_at`` on the way to SQL."""
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    if lead.stage == stage:
        return lead
    _set_stage(lead, stage, actor=actor, rule=rule, reason=reason)
    update = ["stage", "updated_at"]
    if stage == Stage.SQL:
        lead.sql_at = timezone.now()
        update.append("sql_at")
    lead.save(update_fields=update)
    return lead


@transaction.atomic
def lead_owner_change(
    *, lead_id: int, owner: User | None, actor: User | None = None, rule: str = "", reason: str = ""
) -> None:
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    if lead.owner_id == (owner.pk if owner else None):
        return
    event_record(
        subject_type=LEAD,
        subject_id=lead.pk,
        kind=Event.Kind.OWNER,
        actor=actor,
        rule=rule,
        reason=reason,
        old_value=lead.owner.username if lead.owner else "",
        new_value=owner.username if owner else "",
    )
    lead.owner = owner
    lead.save(update_fields=["owner", "updated_at"])
