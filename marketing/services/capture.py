"""Capture: a form submission stored in two SQL statements (lead found or made,
touchpoint, "created" event, consent record), with the address and phone normalised, the
attribution kept, repeats recognised by their dedupe keys and suppressed addresses
dropped. Scoring follows in the worker."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from leadflow import bus
from leadflow.db import prepared_fetchone
from leadflow.errors import ApplicationError
from leadflow.services import enqueue_batched_on_commit
from marketing import selectors
from marketing.models import Form, Touchpoint
from marketing.selectors import PublicForm
from marketing.services.leads import LEAD


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
    # Both statements are prepared: planning them costs more than running them.
    with transaction.atomic():
        match = prepared_fetchone(_CAPTURE_MATCH_SQL, params)
        assert match is not None  # the statement always answers one row
        duplicate_of, suppressed, lead_id, created, touch_id = match
        if suppressed:
            return CaptureResult(
                lead_id=None, created=False, duplicate_submission=False, suppressed=True
            )
        if duplicate_of is not None or lead_id is None:
            return CaptureResult(
                lead_id=duplicate_of, created=False, duplicate_submission=True, suppressed=False
            )
        stored = prepared_fetchone(
            _CAPTURE_TOUCH_SQL,
            {**params, "lead_id": lead_id, "created": created, "touch_id": touch_id},
        )
        if stored is None:
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
