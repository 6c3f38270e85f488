"""The lead list: its filters (and the choices they offer), search, keyset pages and the
count shown above them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import OperationalError, connection, transaction
from django.db.models import (
    DateTimeField,
    F,
    Field,
    Func,
    IntegerField,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Contains, GreaterThan, LessThan
from django.utils import timezone
from psycopg.errors import QueryCanceled

from leadflow.models import Role, User
from marketing.models import Campaign, Lead

# Sort orders: the column a page is keyed on, with ``id`` as the tie-breaker. Both run
# descending on an index (lead_created_idx, lead_score_idx), so a page is an index seek.
LEAD_SORTS = {"newest": "created_at", "score": "score"}
LEAD_SORT_DEFAULT = "newest"
LEAD_PAGE_SIZE = 50
# Counting stops here: "10,000+ leads" is as useful as the exact figure and stays cheap.
LEAD_COUNT_CAP = 10_000
# A count that needs longer than this is given up: the page must not wait for a number.
# At a million leads a filter on stage and campaign counts in ~60 ms; a substring search
# for a common word needs ~0.3 s to find 10,000 matches, and is shown as "50+".
LEAD_COUNT_TIMEOUT_MS = 200
_CURSOR_SALT = "marketing.lead_list.cursor"


def campaign_options() -> list[tuple[int, str]]:
    """(id, name) of every campaign, by name: the lead list's campaign filter."""
    return list(Campaign.objects.order_by("name", "id").values_list("id", "name"))


def lead_owner_options() -> list[tuple[int, str]]:
    """(id, name) of the people who may own leads, by name: the lead list's owner filter."""
    users = (
        User.objects.filter(is_active=True, role__in=(Role.REP, Role.MANAGER, Role.MARKETER))
        .order_by("first_name", "last_name", "username")
        .values_list("id", "first_name", "last_name", "username")
    )
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in users]


def lead_source_options() -> list[str]:
    """Suggestions for the lead list's source filter: what capture writes into
    ``Lead.source`` (a campaign's UTM source, else its channel). Read from the few campaigns,
    not from a DISTINCT over millions of leads."""
    sources: set[str] = set()
    for utm_source, channel in Campaign.objects.values_list("utm_source", "channel").distinct():
        sources.add(utm_source or channel)
    return sorted(sources, key=str.lower)


def _day_start(day: date) -> datetime:
    """Midnight of ``day`` in the current time zone (the user's), as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


class _SpaceJoined(Func):
    """``lower(a || ' ' || b || …)``: plain SQL (no nested COALESCE per part, as Concat
    writes it), cheap per row and the same text an expression index would be built on."""

    arg_joiner = " || ' ' || "
    template = "lower(%(expressions)s)"
    output_field = TextField()


def lead_search_text() -> Func:
    """The text a lead list search looks in: email, first and last name and company,
    lower-cased and space-separated (a search word has no spaces, so it never matches
    across two fields). One expression, so that one trigram index can serve every search:
    ``GinIndex(lead_search_text(), opclasses=["gin_trgm_ops"])`` with ``pg_trgm``."""
    # Names and company are NOT NULL (blank is ""); only email may be NULL (erased).
    return _SpaceJoined(Coalesce("email", Value("")), "first_name", "last_name", "company")


def _search(leads: QuerySet[Lead], term: str) -> QuerySet[Lead]:
    """Leads where every word of ``term`` appears in ``lead_search_text`` (any case).

    A whole email address is looked up by equality instead: the unique index on the
    (normalised) email finds the one person at once, whatever the size of the table.
    Substring search otherwise reads rows until a page is full; a rare word reads them
    all (about a second at a million leads without a trigram index).
    """
    term = term.strip()
    if "@" in term and " " not in term:
        try:
            validate_email(term)
        except ValidationError:
            pass
        else:
            return leads.filter(email=term.lower())
    for word in term.split()[:5]:
        leads = leads.filter(Contains(lead_search_text(), word.lower()))
    return leads


def lead_list(
    *,
    stage: str = "",
    campaign_id: int | None = None,
    source: str = "",
    owner_id: int | None = None,
    unowned: bool = False,
    grade: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
    search: str = "",
) -> QuerySet[Lead]:
    """Leads matching every filter given, newest first. Dates are whole days in the
    current time zone, both ends included. Page through it with ``lead_page``."""
    leads = Lead.objects.select_related("campaign", "owner")
    if stage:
        leads = leads.filter(stage=stage)
    if campaign_id:
        leads = leads.filter(campaign_id=campaign_id)
    if source:
        leads = leads.filter(source__iexact=source.strip())
    if unowned:
        leads = leads.filter(owner__isnull=True)
    elif owner_id:
        leads = leads.filter(owner_id=owner_id)
    if grade:
        leads = leads.filter(grade=grade)
    if created_from:
        leads = leads.filter(created_at__gte=_day_start(created_from))
    if created_to:
        leads = leads.filter(created_at__lt=_day_start(created_to + timedelta(days=1)))
    if search.strip():
        leads = _search(leads, search)
    return leads.order_by("-created_at", "-id")


class _Row(Func):
    """A row value, ``ROW(a, b)``. Compared with another row it is the keyset seek
    ``(score, id) < (70, 1234)``, which Postgres runs as one range scan on the index."""

    function = "ROW"
    output_field = Field()


@dataclass(frozen=True)
class _Position:
    """Where a page link points: after (or, going back, before) one row's sort key."""

    key: tuple[datetime | int, int]
    page: int
    backward: bool


def _cursor_dump(*, sort: str, lead: Lead, page: int, backward: bool) -> str:
    value = lead.created_at.isoformat() if sort == "newest" else lead.score
    return signing.dumps(
        {"s": sort, "k": [value, lead.pk], "p": page, "b": backward}, salt=_CURSOR_SALT
    )


def _cursor_load(raw: str, *, sort: str) -> _Position | None:
    """The position a cursor names, or None (the first page) for anything unexpected: a
    tampered or truncated cursor, or one made for another sort order."""
    if not raw or len(raw) > 500:
        return None
    try:
        data = signing.loads(raw, salt=_CURSOR_SALT)
        if data["s"] != sort:
            return None
        value, pk = data["k"]
        key: datetime | int
        if sort == "newest":
            key = datetime.fromisoformat(value)
            if key.tzinfo is None:
                return None
        else:
            key = int(value)
        return _Position(
            key=(key, int(pk)), page=max(int(data["p"]), 1), backward=data["b"] is True
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class LeadPage:
    """One page of the lead list. The cursors are opaque strings for the page links;
    empty when there is no such page."""

    leads: list[Lead]
    sort: str
    number: int
    size: int = LEAD_PAGE_SIZE
    next_cursor: str = ""
    prev_cursor: str = ""


def lead_page(
    *,
    leads: QuerySet[Lead],
    sort: str = LEAD_SORT_DEFAULT,
    cursor: str = "",
    size: int = LEAD_PAGE_SIZE,
) -> LeadPage:
    """A page of ``leads`` in ``sort`` order, by keyset: the page after (or before) the row
    a cursor names, never OFFSET, so page 500 costs what page 1 costs. New leads arriving
    meanwhile neither shift nor repeat rows. A bad cursor gives the first page."""
    if sort not in LEAD_SORTS:
        sort = LEAD_SORT_DEFAULT
    column = LEAD_SORTS[sort]
    position = _cursor_load(cursor, sort=sort)
    descending = leads.order_by(f"-{column}", "-id")
    if position is not None:
        key_value, key_pk = position.key
        key = _Row(F(column), F("id"))
        here = _Row(
            Value(key_value, output_field=DateTimeField() if sort == "newest" else IntegerField()),
            Value(key_pk),
        )
        if position.backward:
            rows = list(leads.filter(GreaterThan(key, here)).order_by(column, "id")[: size + 1])
            more_before = len(rows) > size
            rows = rows[:size][::-1]
            if rows:
                number = max(position.page, 2) if more_before else 1
                return _page(rows, sort, number, size, more_before=more_before, more_after=True)
            # Everything before was deleted meanwhile: start over.
        else:
            rows = list(descending.filter(LessThan(key, here))[: size + 1])
            number = max(position.page, 2)
            more_after = len(rows) > size
            return _page(rows[:size], sort, number, size, more_before=True, more_after=more_after)
    rows = list(descending[: size + 1])
    return _page(rows[:size], sort, 1, size, more_before=False, more_after=len(rows) > size)


def _page(
    rows: list[Lead], sort: str, number: int, size: int, *, more_before: bool, more_after: bool
) -> LeadPage:
    return LeadPage(
        leads=rows,
        sort=sort,
        number=number,
        size=size,
        next_cursor=(
            _cursor_dump(sort=sort, lead=rows[-1], page=number + 1, backward=False)
            if rows and more_after
            else ""
        ),
        prev_cursor=(
            _cursor_dump(sort=sort, lead=rows[0], page=number - 1, backward=True)
            if rows and more_before
            else ""
        ),
    )


@dataclass(frozen=True)
class LeadCount:
    """How many leads a list holds, as precisely as is cheap to know.

    ``kind``: ``exact``; ``at_least`` (more than ``value``, counting stopped there);
    ``about`` (the planner's estimate of the whole table, rounded); ``unknown`` (counting
    took too long; ``value`` is the lower bound the pages so far prove).
    """

    value: int
    kind: str


def _count_within(queryset: QuerySet[Any], *, timeout_ms: int) -> int | None:
    """``queryset.count()``, or None when Postgres needs longer than ``timeout_ms``.

    The time limit is local to a savepoint: a cancelled count rolls back to it and leaves
    the request's transaction usable.
    """
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('statement_timeout'), "
                "set_config('statement_timeout', %s, true)",
                [str(timeout_ms)],
            )
            previous = cursor.fetchone()[0]
            total = queryset.count()
            # The setting is local to the transaction, which may be the caller's: put it back.
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
            return total
    except OperationalError as exc:
        if isinstance(exc.__cause__, QueryCanceled):
            return None
        raise


def _lead_table_estimate() -> int:
    """The planner's row count of the lead table (kept by autovacuum); -1 if never analysed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [Lead._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else -1


def _round_estimate(value: int) -> int:
    """Three significant digits: an estimate should not look exact."""
    digits = len(str(value))
    return round(value, -(digits - 3)) if digits > 3 else value


def lead_count(*, leads: QuerySet[Lead], filtered: bool, page: LeadPage | None = None) -> LeadCount:
    """How many leads ``leads`` holds, without an exact ``count(*)`` over millions of rows.

    - A first page with no next page: its length, no query at all.
    - No filter: the planner's estimate of the table ("about 1,040,000"), exact below
      ``LEAD_COUNT_CAP``.
    - Filtered: counting stops at ``LEAD_COUNT_CAP`` ("10,000+") and is given up after
      ``LEAD_COUNT_TIMEOUT_MS`` (a search for a rare word reads every row).
    """
    if page is not None and page.number == 1 and not page.next_cursor:
        return LeadCount(len(page.leads), "exact")
    if not filtered:
        estimate = _lead_table_estimate()
        if estimate >= LEAD_COUNT_CAP:
            return LeadCount(_round_estimate(estimate), "about")
    capped = leads.order_by().values("pk")[: LEAD_COUNT_CAP + 1]
    total = _count_within(capped, timeout_ms=LEAD_COUNT_TIMEOUT_MS)
    if total is None:
        seen = (page.number - 1) * page.size + len(page.leads) if page else 0
        return LeadCount(seen, "unknown")
    if total > LEAD_COUNT_CAP:
        return LeadCount(LEAD_COUNT_CAP, "at_least")
    return LeadCount(total, "exact")
