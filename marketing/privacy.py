"""Privacy of marketing's records: withdrawal, the suppression list, export and erasure.

Erasure and export span marketing and sales, so the whole operations live in
``handoff.services`` (``person_erase``, ``person_export``), the one app that may call both;
this module does marketing's share. Nothing written here — events, audit entries, the
suppression list — ever holds the address, the name or the phone in clear: event and audit
rows cannot be updated or deleted, so whatever they hold would outlive an erasure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import connection, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from leadflow.errors import ApplicationError, ConflictError
from leadflow.models import AuditEntry, Event, User
from leadflow.services import event_record
from marketing.models import ConsentRecord, Lead, ScoreEntry, Suppression, Touchpoint
from marketing.selectors import email_hash

LEAD = "marketing.lead"
UNSUBSCRIBE_SALT = "leadflow.unsubscribe"


# --- The suppression list --------------------------------------------------------------


def hash_suppressed(email_hash_value: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash_value).exists()


def email_suppressed(email: str | None) -> bool:
    return bool(email) and hash_suppressed(email_hash(email or ""))


def suppression_add(*, email_hash_value: str, reason: str) -> bool:
    """Put a hashed address on the list; True when it was not there yet.

    ``ON CONFLICT DO NOTHING`` makes two withdrawals at once (a double click, a mail
    client's one-click request racing the person's own click) one row, without an error.
    The first reason stays: an address withdrawn and later erased reads "withdrawn".
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO marketing_suppression (email_hash, reason, created_at) "
            "VALUES (%s, %s, now()) ON CONFLICT (email_hash) DO NOTHING RETURNING id",
            [email_hash_value, reason[:20]],
        )
        return cursor.fetchone() is not None


# --- Withdrawal through the unsubscribe link -------------------------------------------


@dataclass(frozen=True)
class UnsubscribeToken:
    lead_id: int
    email_hash: str


def unsubscribe_token_for(lead: Lead) -> str | None:
    """A signed, non-expiring token for the lead's unsubscribe link (None without email).

    It carries the lead id and the address's hash, never the address: the link ends up in
    mail logs and browser histories. The hash makes the link keep working after the lead
    was merged or erased — it suppresses the address the email was sent to.
    """
    if not lead.email:
        return None
    return signing.dumps({"l": lead.pk, "h": email_hash(lead.email)}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url_for(lead: Lead) -> str | None:
    """The path of the lead's public unsubscribe page, for marketers to paste into emails."""
    token = unsubscribe_token_for(lead)
    return reverse("marketing:unsubscribe", args=[token]) if token else None


def unsubscribe_token_read(token: str) -> UnsubscribeToken:
    """Check the signature; a tampered or truncated link is an ApplicationError."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return UnsubscribeToken(lead_id=int(data["l"]), email_hash=str(data["h"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise ApplicationError(
            _("This unsubscribe link is not valid. Please use the link from our email as it is.")
        ) from exc


@transaction.atomic
def consent_withdraw(*, lead_id: int, email_hash_value: str) -> bool:
    """Withdraw every consent of the lead and suppress the address; True if anything changed.

    Idempotent: a second click changes nothing and records nothing. The lead may be gone
    (merged away) — the address is suppressed all the same. The person's IP is not put in
    the audit entry: audit rows are immutable and would keep it past an erasure.
    """
    added = suppression_add(email_hash_value=email_hash_value, reason="withdrawn")
    withdrawn = ConsentRecord.objects.filter(lead_id=lead_id, withdrawn_at=None).update(
        withdrawn_at=timezone.now()
    )
    if not (added or withdrawn):
        return False
    if Lead.objects.filter(pk=lead_id).exists():
        event_record(
            subject_type=LEAD,
            subject_id=lead_id,
            kind=Event.Kind.STATUS,
            rule="unsubscribe link",
            reason=f"{withdrawn} consent record(s) withdrawn",
            new_value="unsubscribed",
        )
    AuditEntry.objects.create(
        action="lead.unsubscribe",
        subject_type=LEAD,
        subject_id=lead_id,
        detail={"consents_withdrawn": withdrawn, "suppressed": added},
    )
    return True


# --- What the lead page shows -----------------------------------------------------------


def lead_privacy(*, lead: Lead, base_url: str = "") -> dict[str, Any]:
    """The lead page's privacy card: consent records with their text, suppression, and
    the unsubscribe link (absolute when ``base_url`` — the site's root URL — is given)."""
    consents = list(ConsentRecord.objects.filter(lead=lead).select_related("consent_text__form"))
    path = unsubscribe_url_for(lead)
    return {
        "consents": consents,
        "withdrawn": bool(consents) and all(c.withdrawn_at for c in consents),
        "suppressed": email_suppressed(lead.email),
        "unsubscribe_url": base_url.rstrip("/") + path if path else None,
    }


# --- Export ---------------------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def lead_export_data(*, lead_id: int) -> dict[str, Any]:
    """Everything marketing holds about one person, as JSON-ready data.

    The caller (``handoff.services.person_export``) adds sales' and handoff's share and
    writes the audit entry.
    """
    lead = Lead.objects.select_related("campaign", "owner").get(pk=lead_id)
    touchpoints = [
        {
            "id": touch.pk,
            "kind": touch.kind,
            "campaign": touch.campaign.name if touch.campaign else None,
            "form": touch.form.name if touch.form else None,
            "utm_source": touch.utm_source,
            "utm_medium": touch.utm_medium,
            "utm_campaign": touch.utm_campaign,
            "utm_term": touch.utm_term,
            "utm_content": touch.utm_content,
            "gclid": touch.gclid,
            "fbclid": touch.fbclid,
            "referrer": touch.referrer,
            "landing_page": touch.landing_page,
            "created_at": _iso(touch.created_at),
        }
        for touch in Touchpoint.objects.filter(lead_id=lead_id)
        .select_related("campaign", "form")
        .order_by("created_at", "id")
    ]
    consents = [
        {
            "lawful_basis": record.lawful_basis,
            "source": record.source,
            "ip": record.ip,
            "given_at": _iso(record.given_at),
            "withdrawn_at": _iso(record.withdrawn_at),
            "consent_text": (
                {
                    "form": record.consent_text.form.name,
                    "version": record.consent_text.version,
                    "text": record.consent_text.text,
                }
                if record.consent_text
                else None
            ),
        }
        for record in ConsentRecord.objects.filter(lead_id=lead_id)
        .select_related("consent_text__form")
        .order_by("given_at", "id")
    ]
    ledger = [
        {
            "rule": entry.rule.name,
            "axis": entry.axis,
            "points": entry.points,
            "touchpoint_id": entry.touchpoint_id,
            "created_at": _iso(entry.created_at),
        }
        for entry in ScoreEntry.objects.filter(lead_id=lead_id)
        .select_related("rule")
        .order_by("created_at", "id")
    ]
    events = [
        {
            "kind": event.kind,
            "old_value": event.old_value,
            "new_value": event.new_value,
            "rule": event.rule,
            "reason": event.reason,
            "actor": event.actor.username if event.actor else None,
            "created_at": _iso(event.created_at),
        }
        for event in Event.objects.filter(subject_type=LEAD, subject_id=lead_id)
        .select_related("actor")
        .order_by("created_at", "id")
    ]
    return {
        "lead": {
            "id": lead.pk,
            "email": lead.email,
            "external_id": lead.external_id,
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "phone": lead.phone,
            "company": lead.company,
            "job_title": lead.job_title,
            "company_size": lead.company_size,
            "country": lead.country,
            "stage": lead.stage,
            "source": lead.source,
            "campaign": lead.campaign.name if lead.campaign else None,
            "owner": lead.owner.username if lead.owner else None,
            "fit_score": lead.fit_score,
            "engagement_score": lead.engagement_score,
            "grade": lead.grade,
            "created_at": _iso(lead.created_at),
            "mql_at": _iso(lead.mql_at),
            "sql_at": _iso(lead.sql_at),
            "erased_at": _iso(lead.erased_at),
        },
        "suppressed": email_suppressed(lead.email),
        "touchpoints": touchpoints,
        "consents": consents,
        "score_ledger": ledger,
        "events": events,
    }


# --- Erasure ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasedPerson:
    """Who the lead was, handed to the caller so it can find the same person in sales.

    Held in memory only, for the rest of the erasing transaction.
    """

    lead_id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    touchpoints: int
    consents: int

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@transaction.atomic
def lead_erase(*, lead_id: int, actor: User | None) -> ErasedPerson:
    """Anonymise the person behind a lead in marketing's tables; keep the row for the counts.

    Cleared: email, external id, names, phone, job title; touchpoints' referrer, landing
    page and click ids (URLs and ad click ids point at the person) and submission keys;
    consent records' IP (they are withdrawn too; text, basis and dates stay as proof).
    Kept: company, size, country, campaign, stage, scores and dates, so the KPIs do not move.
    The address goes on the suppression list ("erased"), so the next import or form post
    does not bring the person back. Use ``handoff.services.person_erase``, which also
    erases sales' copy; this function alone leaves sales untouched.
    """
    lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
    if lead is None:
        raise ApplicationError(_("This lead does not exist any more."))
    if lead.erased_at is not None:
        raise ConflictError(_("This person's data was already erased."))
    person = ErasedPerson(
        lead_id=lead.pk,
        email=lead.email or "",
        first_name=lead.first_name,
        last_name=lead.last_name,
        phone=lead.phone,
        touchpoints=Touchpoint.objects.filter(lead_id=lead.pk).update(
            referrer="", landing_page="", gclid="", fbclid="", dedupe_key=None
        ),
        consents=ConsentRecord.objects.filter(lead_id=lead.pk).update(
            ip=None, withdrawn_at=Coalesce("withdrawn_at", Value(timezone.now()))
        ),
    )
    if person.email:
        suppression_add(email_hash_value=email_hash(person.email), reason="erased")
    now = timezone.now()
    Lead.objects.filter(pk=lead.pk).update(
        email=None,
        external_id=None,
        first_name="",
        last_name="",
        phone="",
        job_title="",
        erased_at=now,
        updated_at=now,
    )
    # Django admin's history names the object by str(lead), i.e. the person's name.
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Lead), object_id=str(lead.pk)
    ).update(object_repr=f"#{lead.pk}", change_message="")
    event_record(
        subject_type=LEAD,
        subject_id=lead.pk,
        kind=Event.Kind.STATUS,
        actor=actor,
        rule="" if actor else "erasure",
        reason="personal data erased on request",
        new_value="erased",
    )
    return person
