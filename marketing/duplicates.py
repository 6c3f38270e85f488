"""Likely duplicates, and merging two leads into one.

Capture already meets the same person on the same normalised email; this catches the rest:
the same phone, the same name at the same company, and email addresses that differ
only in ways people type them (dots and ``+tags`` in the local part, or the same personal
local part at a free-mail domain: a private and a work address).

A merge touches handoffs and sales rows that point at the lead, which marketing may not
change; ``handoff.services.person_merge`` moves those first and then calls ``lead_merge``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg.errors import QueryCanceled

from leadflow.errors import ApplicationError, ConflictError
from leadflow.freemail import FREEMAIL_DOMAINS
from leadflow.models import Event, User
from leadflow.services import enqueue_on_commit, event_record
from marketing.models import ConsentRecord, Lead, ScoreEntry, Stage, Touchpoint

LEAD = "marketing.lead"
logger = logging.getLogger(__name__)

REASONS = {
    "phone": gettext_lazy("same phone"),
    "name_company": gettext_lazy("same name and company"),
    "email": gettext_lazy("similar email"),
}

# A phone, a name at a company or a local part shared by more people than this is a
# switchboard, a common name or a role mailbox, not one person: such groups would flood
# the screen with pairs (n² of them) that are almost never duplicates.
MAX_GROUP = 20
# Local parts that name a mailbox, not a person; the same one at two domains is no evidence.
ROLE_LOCAL_PARTS = (
    "admin",
    "billing",
    "contact",
    "office",
    "hello",
    "info",
    "mail",
    "marketing",
    "noreply",
    "sales",
    "support",
    "team",
)

# Each match key is one GROUP BY over the leads that are not erased (a hash aggregate per
# key, no self-join of the table); pairs are then made inside the groups, which hold at
# most MAX_GROUP ids each. The outer query folds the reasons of one pair together.
# - Same last name at the same company needs first names that agree: equal, one missing,
#   or one a prefix of the other ("Chris"/"Christopher", "E."/"Emily"); Emily and Tom
#   Baker of one company are two people.
# - ``canon`` is the local part without its +tag and dots: "j.smith+news@acme.com" and
#   "jsmith@acme.com" meet there. Across domains, one of the two must be a free-mail
#   address (a person's private and work addresses, the classic duplicate) and the local
#   part long enough to be a name and not a role mailbox: "fleur@" at two companies is two
#   people far more often than one.
# With a lead id, each group is narrowed to that lead's keys first (the phone by its index).
_CANON = "replace(split_part(split_part(lower(email), '@', 1), '+', 1), '.', '')"
_PAIRS_SQL = f"""
WITH target AS (
    SELECT phone, lower(last_name) AS last_name, lower(company) AS company, {_CANON} AS canon
    FROM marketing_lead WHERE id = %(lead)s
),
by_phone AS (
    SELECT array_agg(id) AS ids
    FROM marketing_lead
    WHERE erased_at IS NULL AND phone <> ''
      AND (%(lead)s::bigint IS NULL OR phone = (SELECT phone FROM target))
    GROUP BY phone
    HAVING count(*) BETWEEN 2 AND %(max_group)s
),
by_name AS (
    SELECT array_agg(id) AS ids, array_agg(replace(lower(first_name), '.', '')) AS firsts
    FROM marketing_lead
    WHERE erased_at IS NULL AND last_name <> '' AND company <> ''
      AND (%(lead)s::bigint IS NULL
           OR (lower(last_name), lower(company)) = (SELECT last_name, company FROM target))
    GROUP BY lower(last_name), lower(company)
    HAVING count(*) BETWEEN 2 AND %(max_group)s
),
by_email AS (
    SELECT canon, array_agg(id) AS ids, array_agg(domain) AS domains
    FROM (
        SELECT id, split_part(email, '@', 2) AS domain, {_CANON} AS canon
        FROM marketing_lead
        WHERE erased_at IS NULL AND email IS NOT NULL
    ) emails
    WHERE canon <> '' AND (%(lead)s::bigint IS NULL OR canon = (SELECT canon FROM target))
    GROUP BY canon
    HAVING count(*) BETWEEN 2 AND %(max_group)s
),
pairs AS (
    SELECT a.id AS a_id, b.id AS b_id, 'phone' AS reason
    FROM by_phone g, unnest(g.ids) a(id), unnest(g.ids) b(id)
    WHERE a.id < b.id
    UNION ALL
    SELECT a.id, b.id, 'name_company'
    FROM by_name g, unnest(g.ids, g.firsts) a(id, first), unnest(g.ids, g.firsts) b(id, first)
    WHERE a.id < b.id AND (starts_with(a.first, b.first) OR starts_with(b.first, a.first))
    UNION ALL
    SELECT a.id, b.id, 'email'
    FROM by_email g, unnest(g.ids, g.domains) a(id, domain),
         unnest(g.ids, g.domains) b(id, domain)
    WHERE a.id < b.id
      AND (a.domain = b.domain
           OR (length(g.canon) >= 5 AND g.canon <> ALL(%(roles)s)
               AND (a.domain = ANY(%(freemail)s) OR b.domain = ANY(%(freemail)s))))
)
SELECT a_id, b_id, array_agg(DISTINCT reason ORDER BY reason) AS reasons,
       count(*) OVER () AS total
FROM pairs
WHERE %(lead)s::bigint IS NULL OR a_id = %(lead)s OR b_id = %(lead)s
GROUP BY a_id, b_id
ORDER BY b_id DESC, a_id DESC
LIMIT %(limit)s
"""  # noqa: S608 -- _CANON is a constant expression; every value is a parameter


@dataclass(frozen=True)
class DuplicatePair:
    first: Lead  # the older of the two (the default survivor)
    second: Lead
    reasons: list[str]

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASONS[reason]) for reason in self.reasons]


@dataclass(frozen=True)
class DuplicatePage:
    pairs: list[DuplicatePair]
    total: int  # pairs found (the list holds at most MAX_PAIRS of them)
    page: int
    per_page: int
    checked_at: datetime

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, MAX_PAIRS) // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def truncated(self) -> bool:
        return self.total > MAX_PAIRS


# The whole list's pairs are kept for a while: finding them reads every lead (about a
# second per 100,000 leads), paging through them should not. Only ids and reason codes
# go to the cache, no personal data. Merged and erased leads drop out when a page is
# shown; new pairs appear when the entry expires or on "check again".
MAX_PAIRS = 5000
# About a second per 100,000 leads on a small server; the web worker's timeout is 30 s.
PAIRS_TIMEOUT_MS = 20_000
PAIRS_CACHE_SECONDS = 300
Row = tuple[int, int, list[str]]


def _pairs_query(*, lead_id: int | None, limit: int) -> tuple[list[Row], int]:
    """Run the pairs SQL under a time limit: a page must answer, even on a huge table."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = %s", [PAIRS_TIMEOUT_MS])
            cursor.execute(
                _PAIRS_SQL,
                {
                    "max_group": MAX_GROUP,
                    "roles": list(ROLE_LOCAL_PARTS),
                    "freemail": sorted(FREEMAIL_DOMAINS),
                    "lead": lead_id,
                    "limit": limit,
                },
            )
            rows = cursor.fetchall()
    except OperationalError as exc:
        if not isinstance(exc.__cause__, QueryCanceled):
            raise
        raise ApplicationError(
            _(
                "Comparing all leads took too long this time. Try again in a few minutes, "
                "or open a lead and use “Find likely duplicates”, which is quick."
            )
        ) from exc
    return [(a_id, b_id, list(reasons)) for a_id, b_id, reasons, _ in rows], (
        rows[0][3] if rows else 0
    )


def _pairs_cache_key() -> str:
    # Per database: several test runs and checkouts share one Redis.
    return f"marketing:duplicate-pairs:v1:{connection.settings_dict['NAME']}"


def _all_pairs(*, fresh: bool) -> tuple[list[Row], int, datetime]:
    key = _pairs_cache_key()
    if not fresh:
        try:
            cached = cache.get(key)
        except Exception:  # the cache is down: compute, the page just takes longer
            logger.warning("duplicate pairs not cached: the cache is unavailable")
            cached = None
        if cached is not None:
            return cached
    rows, total = _pairs_query(lead_id=None, limit=MAX_PAIRS)
    result = (rows, total, timezone.now())
    try:
        cache.set(key, result, PAIRS_CACHE_SECONDS)
    except Exception:
        logger.warning("duplicate pairs not cached: the cache is unavailable")
    return result


def duplicate_pairs(
    *, page: int = 1, per_page: int = 50, lead_id: int | None = None, fresh: bool = False
) -> DuplicatePage:
    """Pairs of likely duplicates among leads that are not erased, newest pair first.

    ``lead_id`` keeps the pairs that involve that lead (always computed afresh: narrowed
    to its keys, it is quick). The full list is computed once per PAIRS_CACHE_SECONDS
    (``fresh`` forces it). Two statements per page whatever the number of pairs: the
    pairs (or none, from the cache) and their leads.
    """
    page = max(1, page)
    if lead_id is not None:
        rows, total = _pairs_query(lead_id=lead_id, limit=MAX_PAIRS)
        checked_at = timezone.now()
    else:
        rows, total, checked_at = _all_pairs(fresh=fresh)
    window = rows[(page - 1) * per_page : page * per_page]
    leads = (
        Lead.objects.filter(erased_at=None)
        .select_related("campaign")
        .in_bulk({row[0] for row in window} | {row[1] for row in window})
    )
    pairs = [
        DuplicatePair(first=leads[a_id], second=leads[b_id], reasons=reasons)
        for a_id, b_id, reasons in window
        if a_id in leads and b_id in leads  # merged away or erased since
    ]
    return DuplicatePage(
        pairs=pairs, total=total, page=page, per_page=per_page, checked_at=checked_at
    )


# --- Merge -----------------------------------------------------------------------------

# The person's fields, chosen one by one on the merge page, in display order.
MERGE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "job_title",
    "company_size",
    "country",
    "external_id",
)
MERGE_LABELS = {
    "email": gettext_lazy("Email"),
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "phone": gettext_lazy("Phone"),
    "company": gettext_lazy("Company"),
    "job_title": gettext_lazy("Job title"),
    "company_size": gettext_lazy("Company size"),
    "country": gettext_lazy("Country"),
    "external_id": gettext_lazy("External id"),
}
# Further along the funnel wins the lifecycle (stage, owner) of the merged lead.
STAGE_RANK = {
    Stage.DISQUALIFIED: 0,
    Stage.LEAD: 1,
    Stage.RECYCLED: 2,
    Stage.MQL: 3,
    Stage.SQL: 4,
    Stage.OPPORTUNITY: 5,
    Stage.CUSTOMER: 6,
}


def _empty(value: Any) -> bool:
    return value is None or value == ""


def merge_order(first: Lead, second: Lead) -> tuple[Lead, Lead]:
    """(survivor, merged): by default the older record survives, its id stays in links."""
    return (
        (first, second)
        if (first.created_at, first.pk) <= (second.created_at, second.pk)
        else (
            second,
            first,
        )
    )


def merge_preview(*, survivor: Lead, other: Lead) -> list[dict[str, Any]]:
    """One row per field for the side-by-side page: both values and the default choice
    (the survivor's value, unless it is empty and the other one is not)."""
    rows = []
    for name in MERGE_FIELDS:
        mine, theirs = getattr(survivor, name), getattr(other, name)
        rows.append(
            {
                "name": name,
                "label": MERGE_LABELS[name],
                "survivor_value": mine,
                "other_value": theirs,
                "take_other": _empty(mine) and not _empty(theirs),
                "same": mine == theirs,
            }
        )
    return rows


def merge_counts(*, lead_ids: list[int]) -> dict[int, dict[str, int]]:
    """What each lead brings to a merge: touchpoints, consent records and ledger lines."""
    counts: dict[int, dict[str, int]] = {
        pk: {"touchpoints": 0, "consents": 0, "score_entries": 0} for pk in lead_ids
    }
    for key, model in (
        ("touchpoints", Touchpoint),
        ("consents", ConsentRecord),
        ("score_entries", ScoreEntry),
    ):
        rows = (
            model._default_manager.filter(lead_id__in=lead_ids)
            .values_list("lead_id")
            .annotate(n=Count("pk"))
        )
        for lead_id, n in rows:
            counts[lead_id][key] = n
    return counts


def _foreign_references(lead_id: int) -> list[str]:
    """Tables outside marketing that still point at the lead (handoffs, sales rows).

    Found through the model graph, so marketing need not import the apps it must not
    know; the caller has to move these before the lead row may go.
    """
    found = []
    for relation in Lead._meta.related_objects:
        model = relation.related_model
        if model._meta.app_label == "marketing" or not relation.field.concrete:
            continue
        if model._default_manager.filter(**{relation.field.attname: lead_id}).exists():
            found.append(model._meta.label)
    return found


@transaction.atomic
def lead_merge(
    *, survivor_id: int, other_id: int, take_from_other: Collection[str], actor: User
) -> Lead:
    """Merge ``other`` into ``survivor``: chosen fields, every touchpoint, ledger entry and
    consent record move over, then the other row is deleted.

    ``take_from_other`` names the fields (of MERGE_FIELDS) whose value comes from the
    other lead. The lifecycle (stage, owner) comes from whichever lead is further along;
    creation, MQL and SQL dates are the earlier of the two, so the funnel still counts
    the person once, from their first appearance. The other lead's events stay under its
    id; a "merged" event on the survivor names it. Scores are recomputed by the worker.
    Callers: ``handoff.services.person_merge`` (which moves handoffs and sales rows first).
    """
    if survivor_id == other_id:
        raise ApplicationError(_("A lead cannot be merged with itself."))
    unknown = set(take_from_other) - set(MERGE_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown field: %(name)s.") % {"name": ", ".join(unknown)})
    # Both rows locked in id order, so two merges of overlapping pairs cannot deadlock.
    locked = {
        lead.pk: lead
        for lead in Lead.objects.select_for_update()
        .filter(pk__in=[survivor_id, other_id])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise ConflictError(_("One of the two leads was merged or deleted in the meantime."))
    survivor, other = locked[survivor_id], locked[other_id]
    if survivor.erased_at or other.erased_at:
        raise ApplicationError(_("An erased lead cannot be merged."))
    remaining = _foreign_references(other.pk)
    if remaining:
        raise ConflictError(
            _("Lead #%(id)s is still referenced by %(tables)s; merge it from the merge page.")
            % {"id": other.pk, "tables": ", ".join(remaining)}
        )

    values = {
        name: getattr(other if name in take_from_other else survivor, name) for name in MERGE_FIELDS
    }
    # The unique email / external id may move to the survivor: free them on the other
    # row first, in this transaction, so the constraint never sees two holders.
    Lead.objects.filter(pk=other.pk).update(email=None, external_id=None)

    ahead = other if STAGE_RANK[Stage(other.stage)] > STAGE_RANK[Stage(survivor.stage)] else None
    older = other if other.created_at < survivor.created_at else survivor
    changes: dict[str, Any] = {
        **values,
        "created_at": older.created_at,
        "campaign_id": older.campaign_id,
        "source": older.source,
        "mql_at": min((d for d in (survivor.mql_at, other.mql_at) if d), default=None),
        "sql_at": min((d for d in (survivor.sql_at, other.sql_at) if d), default=None),
        "fast_tracked": survivor.fast_tracked or other.fast_tracked,
        "scored_at": None,
        "updated_at": timezone.now(),
    }
    if ahead is not None:
        changes["stage"] = ahead.stage
        changes["owner_id"] = ahead.owner_id or survivor.owner_id
        event_record(
            subject_type=LEAD,
            subject_id=survivor.pk,
            kind=Event.Kind.STAGE,
            actor=actor,
            reason=f"merged with lead #{other.pk}",
            old_value=survivor.stage,
            new_value=ahead.stage,
        )
    elif survivor.owner_id is None and other.owner_id is not None:
        changes["owner_id"] = other.owner_id

    Touchpoint.objects.filter(lead_id=other.pk).update(lead_id=survivor.pk)
    ScoreEntry.objects.filter(lead_id=other.pk).update(lead_id=survivor.pk)
    ConsentRecord.objects.filter(lead_id=other.pk).update(lead_id=survivor.pk)
    Lead.objects.filter(pk=other.pk).delete()

    touches = Touchpoint.objects.filter(lead_id=survivor.pk)
    changes["first_touch"] = touches.order_by("created_at", "id").first()
    changes["last_touch"] = touches.order_by("-created_at", "-id").first()
    Lead.objects.filter(pk=survivor.pk).update(**changes)
    event_record(
        subject_type=LEAD,
        subject_id=survivor.pk,
        kind=Event.Kind.MERGED,
        actor=actor,
        reason=f"lead #{other.pk} merged into this one",
        old_value=other.pk,
        new_value=survivor.pk,
    )
    from marketing.tasks import score_leads

    # The ledger now holds both leads' fit entries; re-scoring writes the correcting
    # deltas. scored_at = NULL lets the sweeper do it if the queue is down.
    enqueue_on_commit(score_leads, [survivor.pk])
    return Lead.objects.get(pk=survivor.pk)
