"""Leads written by integrations: create, update, and upsert by email or external id, one
at a time or a batch of up to 1,000, set-wise.

A batch is checked in Python (the same normalisation as every other entry path: email
trimmed and lower-cased, phone to E.164, country names to codes), then matched against the
lead table in one query, updated in one ``UPDATE … FROM unnest(…)`` and inserted in one
``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``, with the "created" events in
the same statement. Each item gets its own result; a bad item never fails the others.

Decisions where the issue was silent:

* Upsert writes the fields that an item carries (a field left out is left alone); it is
  the integration's data, so it overwrites, unlike a form or an import, which only fill
  empty fields. ``null`` for a text field is the same as leaving it out.
* An external id is matched first, then the email. An item whose email belongs to one
  lead and whose external id to another is refused, and so is an erased lead.
* A suppressed address is refused with its own code and nothing is stored.
* Scoring: single writes are scored at once by a task; batches are left to the beat
  sweeper (``scored_at`` is NULL), as CSV imports are, so a bulk load cannot starve the
  form captures' scoring.
* A concurrent insert of the same person (unique violation) is retried as an update.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from leadflow import bus
from leadflow.errors import ApplicationError
from leadflow.models import User
from leadflow.services import enqueue_on_commit
from marketing.imports import _EMAIL as EMAIL_PATTERN
from marketing.imports import MAX_EMAIL_LENGTH, RowCleaner
from marketing.models import Campaign, Lead
from marketing.selectors import email_hash

LEAD = "marketing.lead"
MAX_BATCH = 1000

_TEXT = {
    "first_name": 100,
    "last_name": 100,
    "company": 200,
    "job_title": 200,
    "source": 100,
}
LEAD_FIELDS = (
    "email",
    "external_id",
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "company_size",
    "country",
    "source",
    "campaign",
)
# The columns of the unnest() arrays, in order.
_COLUMNS = (
    "email",
    "external_id",
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "company_size",
    "country",
    "source",
    "campaign",
)


class Status:
    CREATED = "created"
    UPDATED = "updated"
    ERROR = "error"


@dataclass
class ItemResult:
    """What became of one item: ``created``, ``updated`` or ``error`` with the reasons
    (``code`` names the kind of error: ``invalid``, ``conflict``, ``suppressed``,
    ``not_found``)."""

    index: int
    status: str = ""
    id: int | None = None
    code: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, code: str, name: str, message: str) -> None:
        self.status, self.code = Status.ERROR, code
        self.errors.setdefault(name, []).append(message)


class _Cleaner:
    """Checks and normalises one item's fields; the phone, size and country rules are the
    CSV import's (``RowCleaner``), so every entry path agrees on them."""

    def __init__(self) -> None:
        self.rows = RowCleaner(list(LEAD_FIELDS), {})

    def clean(
        self, item: object, result: ItemResult, *, identity_required: bool = True
    ) -> dict[str, Any]:
        if not isinstance(item, dict):
            result.fail("invalid", "non_field_errors", _("Each item must be an object."))
            return {}
        out: dict[str, Any] = {}
        for name in sorted(set(item) - set(LEAD_FIELDS)):
            result.fail("invalid", name, _("Unknown field."))
        for name in ("email", "external_id", "phone", "country", *_TEXT):
            value = item.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                result.fail("invalid", name, _("Must be a string."))
                continue
            out[name] = value.strip()
        for name, limit in _TEXT.items():
            if len(out.get(name, "")) > limit:
                result.fail("invalid", name, _("At most %(max)s characters.") % {"max": limit})
        self._identity(out, result, required=identity_required)
        self._country_phone(out, result)
        for name in ("company_size", "campaign"):
            value = item.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                result.fail("invalid", name, _("Must be a whole number."))
            elif name == "company_size" and not 1 <= value <= 10_000_000:
                result.fail("invalid", name, _("Must be between 1 and 10,000,000."))
            else:
                out[name] = value
        return out

    def _identity(self, out: dict[str, Any], result: ItemResult, *, required: bool) -> None:
        if "email" in out:
            out["email"] = out["email"].lower()
            if (
                len(out["email"]) > MAX_EMAIL_LENGTH
                or EMAIL_PATTERN.fullmatch(out["email"]) is None
            ):
                result.fail("invalid", "email", _("Enter a valid email address."))
        if "external_id" in out and not 1 <= len(out["external_id"]) <= 100:
            result.fail("invalid", "external_id", _("Between 1 and 100 characters."))
        if required and not out.get("email") and not out.get("external_id"):
            result.fail("invalid", "email", _("Send an email or an external_id (or both)."))

    def _country_phone(self, out: dict[str, Any], result: ItemResult) -> None:
        if out.get("country"):
            try:
                out["country"] = self.rows.country(out["country"])
            except ValueError as exc:
                result.fail("invalid", "country", str(exc))
        if out.get("phone"):
            try:
                out["phone"] = self.rows.phone(out["phone"], out.get("country") or "")
            except ValueError as exc:
                result.fail("invalid", "phone", str(exc))


_shared: list[_Cleaner] = []


def _cleaner() -> _Cleaner:
    """One per process: its memory of countries and phones seen serves every request."""
    if not _shared:
        _shared.append(_Cleaner())
    return _shared[0]


@dataclass(frozen=True)
class _Known:
    id: int
    email: str | None
    external_id: str | None
    erased: bool


def lead_upsert_many(
    *,
    items: list[Any],
    actor: User | None,
    rule: str = "api",
    create_only: bool = False,
    score_now: bool = False,
) -> list[ItemResult]:
    """Create or update a lead per item (see the module's notes); one result per item,
    in order. ``create_only``: a person who exists already is a ``conflict``."""
    if len(items) > MAX_BATCH:
        raise ApplicationError(
            _("Send at most %(max)s items at once.") % {"max": MAX_BATCH}, field="items"
        )
    results = [ItemResult(index=index) for index in range(len(items))]
    cleaner = _cleaner()
    rows = {index: cleaner.clean(item, results[index]) for index, item in enumerate(items)}
    _repeats_refuse(rows, results)
    _campaigns_check(rows, results)
    _suppressed_refuse(rows, results)
    pending = [index for index in rows if not results[index].status]
    for attempt in range(3):
        try:
            with transaction.atomic():
                pending = _write(rows, results, pending, actor, rule, create_only)
                created = [results[i].id for i in rows if results[i].status == Status.CREATED]
                if not pending:
                    _after_write(created, score_now)
                    return results
        except IntegrityError:
            # Another request wrote one of these people between our match and our write:
            # match again; they are known now.
            if attempt == 2:
                raise
            for index in pending:
                results[index] = ItemResult(index=index)
    for index in pending:
        results[index].fail("conflict", "non_field_errors", _("Changed meanwhile; send it again."))
    return results


def _after_write(created: list[int | None], score_now: bool) -> None:
    ids = [lead_id for lead_id in created if lead_id is not None]
    if ids:
        bus.publish("leads.created", lead_ids=ids)
    if score_now:
        from marketing.tasks import score_leads

        enqueue_on_commit(score_leads, ids)


def _repeats_refuse(rows: dict[int, dict[str, Any]], results: list[ItemResult]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for index, row in rows.items():
        if results[index].status:
            continue
        for name in ("email", "external_id"):
            value = row.get(name)
            if not value:
                continue
            first = seen.setdefault((name, value), index)
            if first != index:
                results[index].fail(
                    "invalid",
                    name,
                    _("The same value is in item %(index)s of this batch.") % {"index": first},
                )


def _campaigns_check(rows: dict[int, dict[str, Any]], results: list[ItemResult]) -> None:
    wanted = {row["campaign"] for row in rows.values() if "campaign" in row}
    if not wanted:
        return
    known = set(Campaign.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    for index, row in rows.items():
        if "campaign" in row and row["campaign"] not in known:
            results[index].fail("invalid", "campaign", _("No campaign has this id."))


def _suppressed_refuse(rows: dict[int, dict[str, Any]], results: list[ItemResult]) -> None:
    hashes = {
        index: email_hash(row["email"])
        for index, row in rows.items()
        if row.get("email") and not results[index].status
    }
    if not hashes:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT email_hash FROM marketing_suppression WHERE email_hash = "
            "ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))",
            [json.dumps(list(hashes.values()))],
        )
        suppressed = {row[0] for row in cursor.fetchall()}
    for index, digest in hashes.items():
        if digest in suppressed:
            results[index].fail(
                "suppressed",
                "email",
                _("This address asked not to be contacted; nothing was stored."),
            )


def _known(rows: dict[int, dict[str, Any]], pending: list[int]) -> list[_Known]:
    emails = [rows[i]["email"] for i in pending if rows[i].get("email")]
    externals = [rows[i]["external_id"] for i in pending if rows[i].get("external_id")]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, email, external_id, erased_at IS NOT NULL FROM marketing_lead "
            "WHERE email = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))) "
            "OR external_id = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))",
            [json.dumps(emails), json.dumps(externals)],
        )
        return [_Known(*row) for row in cursor.fetchall()]


def _match(
    row: dict[str, Any], by_email: dict[str, _Known], by_external: dict[str, _Known]
) -> tuple[_Known | None, str]:
    """The lead this item is, or None (a new one); the second value is an error."""
    email, external = row.get("email"), row.get("external_id")
    lead = by_external.get(external) if external else None
    other = by_email.get(email) if email else None
    if lead is not None:
        if other is not None and other.id != lead.id:
            return None, _("The email belongs to another lead than the external id.")
    elif other is not None:
        if external and other.external_id and other.external_id != external:
            return None, _("The email belongs to a lead with another external id.")
        lead = other
    if lead is not None and lead.erased:
        return None, _("This person's data was erased; the lead cannot be changed.")
    return lead, ""


def _write(
    rows: dict[int, dict[str, Any]],
    results: list[ItemResult],
    pending: list[int],
    actor: User | None,
    rule: str,
    create_only: bool,
) -> list[int]:
    """Match, update and insert the pending items; returns the items that a concurrent
    writer took from under us (to be matched again)."""
    known = _known(rows, pending)
    by_email = {lead.email: lead for lead in known if lead.email}
    by_external = {lead.external_id: lead for lead in known if lead.external_id}
    updates: list[tuple[int, int]] = []
    inserts: list[int] = []
    for index in pending:
        lead, error = _match(rows[index], by_email, by_external)
        if error:
            results[index].fail("conflict", "non_field_errors", error)
        elif lead is None:
            inserts.append(index)
        elif create_only:
            results[index].fail(
                "conflict", "email", _("This lead exists already (id %(id)s).") % {"id": lead.id}
            )
            results[index].id = lead.id
        else:
            updates.append((index, lead.id))
    if updates:
        _update(rows, updates)
        for index, lead_id in updates:
            results[index].status, results[index].id = Status.UPDATED, lead_id
    if not inserts:
        return []
    taken = _insert(rows, results, inserts, actor, rule)
    return taken


def _rows_json(rows: dict[int, dict[str, Any]], indexes: list[int], **extra: list[Any]) -> str:
    """The items as one JSON array for ``jsonb_to_recordset``: one text parameter, parsed
    by Postgres, instead of a dozen arrays quoted value by value on our side."""
    records = [{name: rows[index].get(name) for name in _COLUMNS} for index in indexes]
    for name, values in extra.items():
        for record, value in zip(records, values, strict=True):
            record[name] = value
    return json.dumps(records)


# The items arrive as one JSON array (see _rows_json), read by jsonb_to_recordset.
_UPDATE_SQL = """
UPDATE marketing_lead AS l SET
    email = COALESCE(u.email, l.email),
    external_id = COALESCE(u.external_id, l.external_id),
    phone = COALESCE(u.phone, l.phone),
    first_name = COALESCE(u.first_name, l.first_name),
    last_name = COALESCE(u.last_name, l.last_name),
    company = COALESCE(u.company, l.company),
    job_title = COALESCE(u.job_title, l.job_title),
    company_size = COALESCE(u.company_size, l.company_size),
    country = COALESCE(u.country, l.country),
    source = COALESCE(u.source, l.source),
    campaign_id = COALESCE(l.campaign_id, u.campaign),
    scored_at = NULL,
    updated_at = now()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS u(
    id bigint, email text, external_id text, phone text, first_name text, last_name text,
    company text, job_title text, company_size integer, country text, source text,
    campaign bigint
)
WHERE l.id = u.id
"""

_INSERT_SQL = """
WITH ins AS (
    INSERT INTO marketing_lead AS l (
        email, external_id, phone, first_name, last_name, company, job_title, company_size,
        country, stage, campaign_id, source, fit_score, engagement_score, grade,
        fast_tracked, created_at, updated_at
    )
    SELECT u.email, u.external_id, COALESCE(u.phone, ''), COALESCE(u.first_name, ''),
        COALESCE(u.last_name, ''), COALESCE(u.company, ''), COALESCE(u.job_title, ''),
        u.company_size, COALESCE(u.country, ''), 'lead', u.campaign,
        COALESCE(u.source, 'api'), 0, 0, 'D', false, now(), now()
    FROM jsonb_to_recordset(%(rows)s::jsonb) AS u(
        email text, external_id text, phone text, first_name text, last_name text,
        company text, job_title text, company_size integer, country text, source text,
        campaign bigint
    )
    ON CONFLICT DO NOTHING
    RETURNING l.id, l.email, l.external_id
), ev AS (
    INSERT INTO leadflow_event (
        subject_type, subject_id, kind, actor_id, rule, reason, old_value, new_value,
        created_at
    )
    SELECT %(subject_type)s, id, 'created', %(actor_id)s::bigint, %(rule)s, '', '', 'lead', now()
    FROM ins
)
SELECT id, email, external_id FROM ins
"""


def _update(rows: dict[int, dict[str, Any]], updates: list[tuple[int, int]]) -> None:
    indexes = [index for index, _lead_id in updates]
    with connection.cursor() as cursor:
        ids = [lead_id for _index, lead_id in updates]
        cursor.execute(_UPDATE_SQL, {"rows": _rows_json(rows, indexes, id=ids)})


def _insert(
    rows: dict[int, dict[str, Any]],
    results: list[ItemResult],
    inserts: list[int],
    actor: User | None,
    rule: str,
) -> list[int]:
    params: dict[str, Any] = {
        "rows": _rows_json(rows, inserts),
        "subject_type": LEAD,
        "actor_id": actor.pk if actor else None,
        "rule": rule[:200],
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, params)
        made = cursor.fetchall()
    by_email = {email: lead_id for lead_id, email, _ext in made if email}
    by_external = {ext: lead_id for lead_id, _email, ext in made if ext}
    taken = []
    for index in inserts:
        row = rows[index]
        lead_id = by_email.get(row.get("email") or "") or by_external.get(
            row.get("external_id") or ""
        )
        if lead_id is None:
            taken.append(index)
        else:
            results[index].status, results[index].id = Status.CREATED, lead_id
    return taken


@transaction.atomic
def lead_update(*, lead_id: int, data: object, actor: User | None) -> Lead:
    """Change the fields ``data`` carries (the upsert's rules). Raises Lead.DoesNotExist,
    or LeadInputError with the fields that were refused."""
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    result = ItemResult(index=0)
    row = _cleaner().clean(data, result, identity_required=False)
    if lead.erased_at is not None:
        result.fail("conflict", "non_field_errors", _("This person's data was erased."))
    for name in ("email", "external_id"):
        value = row.get(name)
        if (
            not result.status
            and value
            and value != getattr(lead, name)
            and Lead.objects.filter(**{name: value}).exclude(pk=lead.pk).exists()
        ):
            result.fail("conflict", name, _("Another lead has this value."))
    if not result.status and row.get("email") and row["email"] != lead.email:
        _suppressed_refuse({0: row}, [result])
    if not result.status:
        _campaigns_check({0: row}, [result])
    if result.status:
        raise LeadInputError(result)
    try:
        with transaction.atomic():
            _update({0: row}, [(0, lead.pk)])
    except IntegrityError as exc:  # another request took the address meanwhile
        result.fail("conflict", "email", _("Another lead has this value."))
        raise LeadInputError(result) from exc
    from marketing.tasks import score_leads

    enqueue_on_commit(score_leads, [lead.pk])
    lead.refresh_from_db()
    return lead


class LeadInputError(ApplicationError):
    """An item was refused; ``result`` has the fields and messages."""

    def __init__(self, result: ItemResult) -> None:
        first = next(iter(result.errors.values()), [""])[0]
        super().__init__(first)
        self.result = result
        self.status_code = {"conflict": 409, "suppressed": 422}.get(result.code, 400)
