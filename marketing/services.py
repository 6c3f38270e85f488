"""Marketing writes: campaigns, forms, capture, scoring and lead stage changes."""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from leadflow import bus
from leadflow.errors import ApplicationError
from leadflow.models import Event, User
from leadflow.services import enqueue_batched_on_commit, enqueue_on_commit, event_record
from marketing import scoring, selectors
from marketing.models import (
    FORM_FIELD_CHOICES,
    Campaign,
    Channel,
    ConsentText,
    Form,
    Lead,
    Stage,
    Touchpoint,
    default_form_fields,
)
from marketing.selectors import PublicForm

LEAD = "marketing.lead"
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


def _campaign_check(
    *,
    name: str,
    channel: str,
    budget: Decimal,
    cost: Decimal,
    starts_on: date | None,
    ends_on: date | None,
) -> None:
    """The rules a campaign's settings obey, on creation and on every edit."""
    if not name.strip():
        raise ApplicationError(_("The campaign needs a name."), field="name")
    if channel not in Channel.values:
        raise ApplicationError(_("Choose a channel from the list."), field="channel")
    if budget < 0:
        raise ApplicationError(_("The budget cannot be negative."), field="budget")
    if cost < 0:
        raise ApplicationError(_("The cost cannot be negative."), field="cost")
    if starts_on and ends_on and ends_on < starts_on:
        raise ApplicationError(_("The campaign cannot end before it starts."), field="ends_on")


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
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Campaign:
    _campaign_check(
        name=name,
        channel=channel,
        budget=budget,
        cost=cost,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    return Campaign.objects.create(
        owner=owner,
        name=name.strip(),
        channel=channel,
        utm_source=utm_source.strip(),
        utm_medium=utm_medium.strip(),
        utm_campaign=utm_campaign.strip(),
        budget=budget,
        cost=cost,
        starts_on=starts_on,
        ends_on=ends_on,
    )


def _form_fields_clean(fields: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The builder's fields in display order (that of FORM_FIELD_CHOICES); the email is
    always asked and required, it is the person's identity."""
    wanted = {str(item.get("name", "")): bool(item.get("required")) for item in fields or []}
    unknown = sorted(set(wanted) - set(FORM_FIELD_CHOICES))
    if unknown:
        raise ApplicationError(
            _("A form cannot ask for “%(name)s”.") % {"name": unknown[0]}, field="fields"
        )
    wanted["email"] = True
    return [
        {"name": name, "required": wanted[name]} for name in FORM_FIELD_CHOICES if name in wanted
    ]


def _form_origins_clean(text: str) -> str:
    """One origin a line, as a browser sends it (``https://www.example.com[:port]``)."""
    origins: list[str] = []
    for origin in selectors.origins_parse(text):
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username
            or parts.password
            or parts.path
            or parts.query
            or parts.fragment
        ):
            raise ApplicationError(
                _(
                    "“%(origin)s” is not an origin: write it like https://www.example.com, "
                    "one a line, without a path."
                )
                % {"origin": origin},
                field="allowed_origins",
            )
        if origin not in origins:
            origins.append(origin)
    return "\n".join(origins)


def _form_redirect_clean(url: str) -> str:
    url = url.strip()
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise ApplicationError(
            _("The redirect must be an http or https address."), field="redirect_url"
        )
    return url


def _form_consent_set(form: Form, text: str) -> None:
    """Point the form at a new version of its consent text when the wording changed; the
    old versions stay, since consent records point at the exact text people agreed to."""
    text = text.strip()
    current = form.consent.text if form.consent else ""
    if text == current:
        return
    form.consent_text = text
    if not text:
        form.consent = None
        return
    last = ConsentText.objects.filter(form=form).aggregate(last=Max("version"))["last"] or 0
    form.consent = ConsentText.objects.create(form=form, version=last + 1, text=text)


def _form_forget_on_commit(form: Form) -> None:
    key = form.key
    transaction.on_commit(lambda: selectors.public_form_forget(key=key))


@transaction.atomic
def form_create(
    *,
    created_by: User,
    campaign: Campaign,
    name: str,
    title: str = "",
    thank_you_message: str = "",
    consent_text: str = "",
    fields: list[dict[str, Any]] | None = None,
    redirect_url: str = "",
    allowed_origins: str = "",
    fast_track: bool = False,
) -> Form:
    form = Form(
        created_by=created_by,
        campaign=campaign,
        name=name,
        title=title or name,
        fields=_form_fields_clean(fields if fields is not None else default_form_fields()),
        redirect_url=_form_redirect_clean(redirect_url),
        allowed_origins=_form_origins_clean(allowed_origins),
        fast_track=fast_track,
    )
    if thank_you_message.strip():
        form.thank_you_message = thank_you_message.strip()
    form.save()
    if consent_text.strip():
        _form_consent_set(form, consent_text)
        form.save(update_fields=["consent", "consent_text"])
    _form_forget_on_commit(form)
    return form


@transaction.atomic
def form_update(
    *,
    form_id: int,
    name: str,
    title: str,
    thank_you_message: str,
    consent_text: str,
    fields: list[dict[str, Any]],
    redirect_url: str,
    allowed_origins: str,
    fast_track: bool,
    is_active: bool,
) -> Form:
    """Change a form; a changed consent wording becomes a new version. The public endpoint
    sees the change as soon as it commits (its cached copy is dropped then)."""
    # Locked: two editors saving new consent wording at once must not both take version n+1.
    form = Form.objects.select_for_update(of=("self",)).select_related("consent").get(pk=form_id)
    form.name = name
    form.title = title or name
    form.thank_you_message = thank_you_message.strip() or _("Thank you! We will be in touch.")
    form.fields = _form_fields_clean(fields)
    form.redirect_url = _form_redirect_clean(redirect_url)
    form.allowed_origins = _form_origins_clean(allowed_origins)
    form.fast_track = fast_track
    form.is_active = is_active
    _form_consent_set(form, consent_text)
    form.save(
        update_fields=[
            "name",
            "title",
            "thank_you_message",
            "fields",
            "redirect_url",
            "allowed_origins",
            "fast_track",
            "is_active",
            "consent",
            "consent_text",
        ]
    )
    _form_forget_on_commit(form)
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
    # utm_*, gclid, fbclid, referrer, landing_page; anything else is ignored.
    attribution: dict[str, str] = field(default_factory=dict)
    # The person ticked the form's consent box; ``consent_version`` is the version of the
    # text they were shown (the current one is recorded when it is missing or unknown).
    consent_given: bool = False
    consent_version: int | None = None


@dataclass(frozen=True)
class CaptureResult:
    """What became of a submission. Callers answer the same "thank you" in every case:
    telling a visitor that an address is suppressed would tell it to anybody who types it.
    """

    lead_id: int | None  # None when nothing was stored (suppressed)
    created: bool  # a new lead, not a touchpoint on a known one
    duplicate_submission: bool  # a repeat of a stored submission: nothing new was stored
    suppressed: bool  # the address is on the suppression list: nothing was stored


ATTRIBUTION_FIELDS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "fbclid",
    "referrer",
    "landing_page",
)
_ATTRIBUTION_MAX = {
    name: int(getattr(Touchpoint._meta.get_field(name), "max_length", 100))
    for name in ATTRIBUTION_FIELDS
}
# Without an Idempotency-Key, the same address on the same form within this many seconds
# (10 to 20: the current window and the one before) is one submission: a double click, a
# browser retry.
DEDUPE_WINDOW_SECONDS = 10


def capture_dedupe_keys(
    *, form_key: str, email: str, idempotency_key: str | None, now: float
) -> list[str]:
    """The keys that identify a submission; the first is stored on its touchpoint.

    With an Idempotency-Key: form, key and address (a retry repeats all three; the same key
    with another address is another person, not a retry, and is stored). Without one: form
    and address in a time window; the previous window is checked too, so that a double
    submit across a window's edge is still one touchpoint.
    """

    def digest(*parts: object) -> str:
        return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()

    if idempotency_key:
        return [digest("key", form_key, idempotency_key, email)]
    window = int(now // DEDUPE_WINDOW_SECONDS)
    return [
        digest("window", form_key, email, window),
        digest("window", form_key, email, window - 1),
    ]


# Statement 1 of a capture: find or make the lead, unless this submission was stored
# already (its dedupe key) or the address is suppressed (its hash). A lead is met by its
# normalised email (INSERT … ON CONFLICT fills only the fields still empty), else by its
# phone if that lead has no email yet (an import or API entry without one). A phone shared
# by leads with *other* addresses is left to the duplicates screen: a switchboard number
# is not a person. ``xmax = 0`` tells a fresh insert from an update.
#
# The touchpoint's id is drawn from its sequence here, so that the lead's first and last
# touch are written with the lead, in one row version: a second UPDATE of the lead would
# write all its dozen indexes again. The foreign keys are checked at commit, when
# statement 2 has inserted the touchpoint (or the transaction is rolled back).
_CAPTURE_MATCH_SQL = """
WITH dup AS (
    SELECT lead_id FROM marketing_touchpoint WHERE dedupe_key = ANY(%(dedupe_keys)s) LIMIT 1
), sup AS (
    SELECT 1 FROM marketing_suppression WHERE email_hash = %(email_hash)s
), touch AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('marketing_touchpoint', 'id')) AS id
    WHERE NOT EXISTS (SELECT 1 FROM dup) AND NOT EXISTS (SELECT 1 FROM sup)
), by_phone AS (
    UPDATE marketing_lead AS l SET
        email = %(email)s,
        first_name = COALESCE(NULLIF(l.first_name, ''), %(first_name)s),
        last_name = COALESCE(NULLIF(l.last_name, ''), %(last_name)s),
        company = COALESCE(NULLIF(l.company, ''), %(company)s),
        job_title = COALESCE(NULLIF(l.job_title, ''), %(job_title)s),
        company_size = COALESCE(l.company_size, %(company_size)s::integer),
        country = COALESCE(NULLIF(l.country, ''), %(country)s),
        fast_tracked = l.fast_tracked OR %(fast_track)s,
        first_touch_id = COALESCE(l.first_touch_id, touch.id),
        last_touch_id = touch.id,
        scored_at = NULL,
        updated_at = now()
    FROM touch
    WHERE l.id = (
        SELECT id FROM marketing_lead
        WHERE phone = %(phone)s AND phone <> '' AND email IS NULL AND erased_at IS NULL
        ORDER BY id LIMIT 1
    )
    AND NOT EXISTS (SELECT 1 FROM marketing_lead WHERE email = %(email)s)
    RETURNING l.id, false AS inserted, touch.id AS touch_id
), up AS (
    INSERT INTO marketing_lead AS l (
        email, phone, first_name, last_name, company, job_title, company_size, country,
        stage, campaign_id, source, fit_score, engagement_score, grade, fast_tracked,
        first_touch_id, last_touch_id, created_at, updated_at
    )
    SELECT %(email)s, %(phone)s, %(first_name)s, %(last_name)s, %(company)s, %(job_title)s,
        %(company_size)s::integer, %(country)s, 'lead', %(campaign_id)s::bigint, %(source)s,
        0, 0, 'D', %(fast_track)s, touch.id, touch.id, now(), now()
    FROM touch WHERE NOT EXISTS (SELECT 1 FROM by_phone)
    ON CONFLICT (email) DO UPDATE SET
        phone = COALESCE(NULLIF(l.phone, ''), EXCLUDED.phone),
        first_name = COALESCE(NULLIF(l.first_name, ''), EXCLUDED.first_name),
        last_name = COALESCE(NULLIF(l.last_name, ''), EXCLUDED.last_name),
        company = COALESCE(NULLIF(l.company, ''), EXCLUDED.company),
        job_title = COALESCE(NULLIF(l.job_title, ''), EXCLUDED.job_title),
        company_size = COALESCE(l.company_size, EXCLUDED.company_size),
        country = COALESCE(NULLIF(l.country, ''), EXCLUDED.country),
        fast_tracked = l.fast_tracked OR EXCLUDED.fast_tracked,
        first_touch_id = COALESCE(l.first_touch_id, EXCLUDED.first_touch_id),
        last_touch_id = EXCLUDED.last_touch_id,
        scored_at = NULL,
        updated_at = now()
    RETURNING l.id, (l.xmax = 0) AS inserted, l.last_touch_id AS touch_id
)
SELECT (SELECT lead_id FROM dup), EXISTS (SELECT 1 FROM sup), m.id, m.inserted, m.touch_id
FROM (SELECT 1) AS one
LEFT JOIN (
    SELECT id, inserted, touch_id FROM by_phone
    UNION ALL SELECT id, inserted, touch_id FROM up
) AS m ON true
"""

# Statement 2: the touchpoint, and with it (only if it was stored) the "created" event and
# the consent record. ON CONFLICT DO NOTHING: a copy of this submission that committed
# after our statement 1 began (two identical posts at once) wins; then nothing is
# returned and the caller rolls back.
_CAPTURE_TOUCH_SQL = """
WITH tp AS (
    INSERT INTO marketing_touchpoint (
        id, lead_id, kind, campaign_id, form_id, utm_source, utm_medium, utm_campaign,
        utm_term, utm_content, gclid, fbclid, referrer, landing_page, dedupe_key, created_at
    ) VALUES (
        %(touch_id)s, %(lead_id)s, %(kind)s, %(campaign_id)s, %(form_id)s, %(utm_source)s,
        %(utm_medium)s, %(utm_campaign)s, %(utm_term)s, %(utm_content)s, %(gclid)s,
        %(fbclid)s, %(referrer)s, %(landing_page)s, %(dedupe_key)s, now()
    )
    ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
    RETURNING id
), created AS (
    INSERT INTO leadflow_event (
        subject_type, subject_id, kind, actor_id, rule, reason, old_value, new_value,
        created_at
    )
    SELECT %(subject_type)s, %(lead_id)s, 'created', NULL, %(rule)s, '', '', 'lead', now()
    FROM tp WHERE %(created)s
), consent AS (
    INSERT INTO marketing_consentrecord (
        lead_id, consent_text_id, lawful_basis, source, ip, given_at, withdrawn_at
    )
    SELECT %(lead_id)s, version.id, 'consent', 'form', %(ip)s::inet, now(), NULL
    FROM tp, (
        SELECT COALESCE(
            (SELECT id FROM marketing_consenttext
             WHERE form_id = %(form_id)s AND version = %(consent_version)s::integer),
            %(consent_id)s::bigint
        ) AS id
    ) AS version
    WHERE %(consent_given)s AND version.id IS NOT NULL
)
SELECT id FROM tp
"""


def lead_capture(
    *,
    form: PublicForm | Form,
    data: CaptureInput,
    ip: str | None = None,
    idempotency_key: str | None = None,
) -> CaptureResult:
    """Store a form submission at once; scoring follows in the worker.

    One person, one lead: a known address (or a phone of a lead without one) gets a
    touchpoint on its lead, which fills only its empty fields. A repeat of the same
    submission (see ``capture_dedupe_keys``) stores nothing and reports
    ``duplicate_submission``; a suppressed address stores nothing at all. Two SQL
    statements whatever the size of the tables (one for a repeat or a suppressed address);
    pass a cached ``PublicForm`` and the form costs none.
    """
    public = form if isinstance(form, PublicForm) else PublicForm.of(form)
    email = normalize_email(data.email)
    if "@" not in email:
        raise ApplicationError(_("Enter a valid email address."), field="email")
    phone = normalize_phone(data.phone, country=data.country)
    attribution = {
        name: str(data.attribution.get(name) or "").strip()[: _ATTRIBUTION_MAX[name]]
        for name in ATTRIBUTION_FIELDS
    }
    dedupe_keys = capture_dedupe_keys(
        form_key=public.key, email=email, idempotency_key=idempotency_key, now=time.time()
    )
    params: dict[str, Any] = {
        "dedupe_keys": dedupe_keys,
        "dedupe_key": dedupe_keys[0],
        "email_hash": selectors.email_hash(email),
        "email": email,
        "phone": phone,
        "first_name": data.first_name.strip()[:100],
        "last_name": data.last_name.strip()[:100],
        "company": data.company.strip()[:200],
        "job_title": data.job_title.strip()[:200],
        "company_size": data.company_size,
        "country": data.country.strip().upper()[:2],
        "campaign_id": public.campaign_id,
        "source": (attribution["utm_source"] or public.campaign_source)[:100],
        "fast_track": public.fast_track,
        "form_id": public.id,
        "kind": Touchpoint.Kind.DEMO_REQUEST if public.fast_track else Touchpoint.Kind.FORM_SUBMIT,
        "subject_type": LEAD,
        "rule": f"form: {public.name}"[:200],
        "ip": ip or None,
        "consent_given": data.consent_given and public.consent_id is not None,
        "consent_version": data.consent_version,
        "consent_id": public.consent_id,
        **attribution,
    }
    try:
        return _lead_capture_once(params)
    except IntegrityError:
        # The one race left to the database: the phone branch gave a lead this address
        # while another capture inserted it. Again, the statement sees that lead and
        # takes the ON CONFLICT path.
        return _lead_capture_once(params)


def _lead_capture_once(params: dict[str, Any]) -> CaptureResult:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CAPTURE_MATCH_SQL, params)
        duplicate_of, suppressed, lead_id, created, touch_id = cursor.fetchone()
        if suppressed:
            return CaptureResult(
                lead_id=None, created=False, duplicate_submission=False, suppressed=True
            )
        if duplicate_of is not None or lead_id is None:
            return CaptureResult(
                lead_id=duplicate_of, created=False, duplicate_submission=True, suppressed=False
            )
        cursor.execute(
            _CAPTURE_TOUCH_SQL,
            {**params, "lead_id": lead_id, "created": created, "touch_id": touch_id},
        )
        if cursor.fetchone() is None:
            # A copy of this submission committed after our statement 1 began: it stored
            # everything; undo statement 1, whose lead points at a touchpoint never made.
            transaction.set_rollback(True)
            return CaptureResult(
                lead_id=lead_id, created=False, duplicate_submission=True, suppressed=False
            )
        if created:
            # Webhooks of "lead.created" are written with the lead (nothing without one).
            bus.publish("leads.created", lead_ids=[lead_id])
        from marketing.tasks import score_leads

        enqueue_batched_on_commit(score_leads, lead_id)
        return CaptureResult(
            lead_id=lead_id, created=bool(created), duplicate_submission=False, suppressed=False
        )


# --- Scoring (the engine is marketing.scoring) ------------------------------------------


def grade_at_least(grade: str, minimum: str) -> bool:
    """True when ``grade`` is ``minimum`` or better (A is best)."""
    return GRADE_ORDER.index(grade) <= GRADE_ORDER.index(minimum)


def lead_score_breakdown(*, lead_id: int) -> list[dict[str, Any]]:
    """Points per rule, from the ledger (engagement decayed to today): the explanation
    whose sum is the score. Kept in handoff snapshots."""
    return [
        {"rule": line.rule, "axis": line.axis, "points": line.points}
        for line in scoring.lead_score_explain(lead_id=lead_id).lines
    ]


# --- Activities (the API and integrations record them; engagement rules score them) ----

# Clocks differ: an activity up to this far in the future is taken as "now".
ACTIVITY_CLOCK_SKEW = timedelta(minutes=5)


@transaction.atomic
def activity_record(
    *,
    lead_id: int,
    kind: str,
    occurred_at: datetime | None = None,
    url: str = "",
    event_name: str = "",
    campaign_id: int | None = None,
    dedupe_key: str | None = None,
) -> Touchpoint:
    """Record something a lead did (a page view with its URL, an email open or click, a
    webinar, an event, a custom event by name) and score it in the background.

    ``occurred_at`` is when it happened (engagement decays from then; default now). A
    ``dedupe_key`` makes a retry the same activity: the first one is returned. A
    fast-track kind (demo request, contact sales) makes the lead an MQL at scoring.
    """
    if kind not in Touchpoint.Kind.values or kind == Touchpoint.Kind.IMPORT:
        raise ApplicationError(
            _("Unknown activity type “%(kind)s”.") % {"kind": kind}, field="kind"
        )
    event_name = event_name.strip()[:100]
    if kind == Touchpoint.Kind.CUSTOM and not event_name:
        raise ApplicationError(_("A custom event needs a name."), field="event_name")
    now = timezone.now()
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        raise ApplicationError(_("Give the time with its time zone."), field="occurred_at")
    if occurred_at > now + ACTIVITY_CLOCK_SKEW:
        raise ApplicationError(_("An activity cannot happen in the future."), field="occurred_at")
    occurred_at = min(occurred_at, now)
    if dedupe_key:
        dedupe_key = hashlib.sha256(f"activity\x1f{dedupe_key}".encode()).hexdigest()
        existing = Touchpoint.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    lead = Lead.objects.select_for_update().filter(pk=lead_id, erased_at=None).first()
    if lead is None:
        raise ApplicationError(_("This lead does not exist."), field="lead")
    try:
        with transaction.atomic():
            touch = Touchpoint.objects.create(
                lead=lead,
                kind=kind,
                campaign_id=campaign_id,
                landing_page=url.strip()[:500],
                event_name=event_name,
                dedupe_key=dedupe_key or None,
                created_at=occurred_at,
            )
    except IntegrityError:
        # A retry committed the same key while we waited for the lead's lock.
        return Touchpoint.objects.get(dedupe_key=dedupe_key)
    changes: dict[str, Any] = {"scored_at": None, "updated_at": now}
    if kind in scoring.FAST_TRACK_KINDS:
        changes["fast_tracked"] = True
    if lead.first_touch_id is None:
        changes["first_touch"] = touch
    last = lead.last_touch
    if last is None or last.created_at <= occurred_at:
        changes["last_touch"] = touch
    Lead.objects.filter(pk=lead.pk).update(**changes)
    from marketing.tasks import score_leads

    enqueue_on_commit(score_leads, [lead.pk])
    return touch


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
def lead_recycle(*, lead_id: int, actor: User | None, reason: str) -> Lead:
    """Sales sent the lead back: it is recycled, and its engagement starts again from zero,
    so it comes back to sales only on new activity (the score event carries ``reason``)."""
    lead_stage_change(lead_id=lead_id, stage=Stage.RECYCLED, actor=actor, reason=reason)
    scoring.lead_engagement_reset(lead_id=lead_id, reason=f"engagement reset: {reason}")
    return Lead.objects.get(pk=lead_id)


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


# --- Campaign edits ----------------------------------------------------------------------

_CAMPAIGN_FIELDS = (
    "name",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "budget",
    "cost",
    "starts_on",
    "ends_on",
)


@transaction.atomic
def campaign_update(
    *,
    campaign_id: int,
    name: str,
    channel: str,
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    budget: Decimal = Decimal(0),
    cost: Decimal = Decimal(0),
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Campaign:
    """Change a campaign's settings. Its leads keep the attribution they were captured
    with; new captures use the new UTM source from the next submission on."""
    _campaign_check(
        name=name,
        channel=channel,
        budget=budget,
        cost=cost,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    campaign.name = name.strip()
    campaign.channel = channel
    campaign.utm_source = utm_source.strip()
    campaign.utm_medium = utm_medium.strip()
    campaign.utm_campaign = utm_campaign.strip()
    campaign.budget = budget
    campaign.cost = cost
    campaign.starts_on = starts_on
    campaign.ends_on = ends_on
    campaign.save(update_fields=list(_CAMPAIGN_FIELDS))
    # Public forms are cached with their campaign's source; let them see the new one.
    from marketing.selectors import public_form_forget

    for key in campaign.forms.values_list("key", flat=True):
        transaction.on_commit(functools.partial(public_form_forget, key=key))
    return campaign
