"""Marketing reads."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic
from typing import Any

from django.core import signing
from django.core.cache import cache
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
from django.db.models.query import RawQuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext
from psycopg.errors import QueryCanceled

from leadflow.models import Event, Role, User
from marketing.models import Campaign, Form, Lead, Stage, Touchpoint

# Events name their record as "<app>.<model>" (see leadflow.models.Event).
LEAD_SUBJECT = "marketing.lead"


def email_hash(email: str) -> str:
    """The suppression list's key: SHA-256 of the normalised (trimmed, lower-case) address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def leads_unscored_ids(*, older_than_seconds: int, limit: int = 1000) -> list[int]:
    """Leads whose scoring never ran (Redis was down, a worker died): the sweeper's input."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        Lead.objects.filter(scored_at=None, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- Campaigns --------------------------------------------------------------------------

# Each campaign with its funnel. The leads are aggregated on their own first (one parallel
# pass over the lead table, grouped by campaign) and only then joined to the campaigns:
# joining first and grouping the joined rows is four times slower at a million leads.
# A lead counts for the campaign that brought it first (``Lead.campaign``). MQL and SQL
# count leads that ever reached them (``mql_at``/``sql_at`` stay set when a lead is
# recycled), opportunities the leads converted to a deal, won the customers.
_CAMPAIGN_FUNNEL_SQL = """
SELECT c.*,
       coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username) AS owner_name,
       coalesce(f.lead_count, 0) AS lead_count,
       coalesce(f.mql_count, 0) AS mql_count,
       coalesce(f.sql_count, 0) AS sql_count,
       coalesce(f.opportunity_count, 0) AS opportunity_count,
       coalesce(f.won_count, 0) AS won_count,
       round(c.cost / nullif(f.lead_count, 0), 2) AS cost_per_lead,
       round(c.cost / nullif(f.mql_count, 0), 2) AS cost_per_mql,
       round(c.cost / nullif(f.sql_count, 0), 2) AS cost_per_sql,
       round(c.cost / nullif(f.won_count, 0), 2) AS cost_per_won
FROM marketing_campaign c
JOIN leadflow_user u ON u.id = c.owner_id
LEFT JOIN (
    SELECT campaign_id,
           count(*) AS lead_count,
           count(*) FILTER (WHERE mql_at IS NOT NULL) AS mql_count,
           count(*) FILTER (WHERE sql_at IS NOT NULL) AS sql_count,
           count(*) FILTER (WHERE stage IN ('opportunity', 'customer')) AS opportunity_count,
           count(*) FILTER (WHERE stage = 'customer') AS won_count
    FROM marketing_lead
    WHERE campaign_id IS NOT NULL {leads_of}
    GROUP BY campaign_id
) f ON f.campaign_id = c.id
{campaign}
ORDER BY c.created_at DESC, c.id DESC
"""


def campaign_list() -> RawQuerySet[Campaign]:
    """Every campaign, newest first, with its funnel counts (``lead_count``, ``mql_count``,
    ``sql_count``, ``opportunity_count``, ``won_count``), the cost per lead, MQL, SQL and
    won customer (``cost_per_*``, None when the count is 0) and ``owner_name``. One query,
    whatever the number of campaigns."""
    return Campaign.objects.raw(_CAMPAIGN_FUNNEL_SQL.format(leads_of="", campaign=""))


def campaign_get(*, campaign_id: int) -> Campaign:
    """One campaign with the same figures as ``campaign_list``, or 404. Reads only this
    campaign's leads (through the index on ``campaign_id``)."""
    sql = _CAMPAIGN_FUNNEL_SQL.format(leads_of="AND campaign_id = %s", campaign="WHERE c.id = %s")
    campaign = next(iter(Campaign.objects.raw(sql, [campaign_id, campaign_id])), None)
    if campaign is None:
        raise Http404
    return campaign


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


# --- The lead list ----------------------------------------------------------------------

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


# --- One lead -------------------------------------------------------------------------

TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "touchpoint" or "event"
    touch: Touchpoint | None = None
    event: Event | None = None
    # The event's values in words: stage names (the event stores codes), score bands.
    old_label: str = ""
    new_label: str = ""


@dataclass(frozen=True)
class TimelineDay:
    day: date
    entries: list[TimelineEntry]


@dataclass(frozen=True)
class Timeline:
    days: list[TimelineDay]
    # True when older entries were left out (beyond TIMELINE_LIMIT).
    truncated: bool


# How scoring records a score band in an event: "<grade> <fit>/<engagement>".
_SCORE_BAND = re.compile(r"^([A-D]) (-?\d+)/(-?\d+)$")


def _event_label(kind: str, value: str) -> str:
    """An event value as people read it: "MQL" for "mql", "B (fit 30, engagement 45)"
    for "B 30/45"; other values as stored."""
    if kind in (Event.Kind.STAGE, Event.Kind.CREATED) and value in Stage.values:
        return str(Stage(value).label)
    band = _SCORE_BAND.match(value) if kind == Event.Kind.SCORE else None
    if band:
        grade, fit, engagement = band.groups()
        return gettext("%(grade)s (fit %(fit)s, engagement %(engagement)s)") % {
            "grade": grade,
            "fit": fit,
            "engagement": engagement,
        }
    return value


def lead_timeline(*, lead: Lead, limit: int = TIMELINE_LIMIT) -> Timeline:
    """The lead's touchpoints (with their attribution) and events (who or which rule, and
    why), newest first, grouped by day in the current time zone. Two queries; a lead with a
    long history shows its latest ``limit`` entries."""
    touches = list(
        lead.touchpoints.select_related("campaign", "form").order_by("-created_at", "-id")[
            : limit + 1
        ]
    )
    events = list(
        Event.objects.filter(subject_type=LEAD_SUBJECT, subject_id=lead.pk)
        .select_related("actor")
        .order_by("-created_at", "-id")[: limit + 1]
    )
    entries = [
        TimelineEntry(
            at=event.created_at,
            kind="event",
            event=event,
            old_label=_event_label(event.kind, event.old_value),
            new_label=_event_label(event.kind, event.new_value),
        )
        for event in events
    ]
    entries += [
        TimelineEntry(at=touch.created_at, kind="touchpoint", touch=touch) for touch in touches
    ]
    # A capture writes its touchpoint, then the events it caused, in one transaction (one
    # timestamp). The sort is stable, so at equal times the events stay above (newer).
    entries.sort(key=lambda entry: entry.at, reverse=True)
    truncated = len(entries) > limit
    days: list[TimelineDay] = []
    for entry in entries[:limit]:
        day = timezone.localdate(entry.at)
        if not days or days[-1].day != day:
            days.append(TimelineDay(day=day, entries=[]))
        days[-1].entries.append(entry)
    return Timeline(days=days, truncated=truncated)


def lead_touches(*, lead: Lead) -> tuple[Touchpoint | None, Touchpoint | None]:
    """The lead's first and last touch: as capture recorded them, or, for a lead captured
    before it did, its earliest and latest touchpoints."""
    first, last = lead.first_touch, lead.last_touch
    if first is None or last is None:
        touches = lead.touchpoints.select_related("campaign", "form").order_by("created_at", "id")
        first = first or touches.first()
        last = last or touches.last()
    return first, last


# --- The public form, as capture needs it ----------------------------------------------

logger = logging.getLogger(__name__)

# Bump when PublicForm changes shape: old pickles under the old key are then never read.
_PUBLIC_FORM_CACHE_VERSION = 1
# Form saves through the services forget the cached copy on commit; this bounds how long
# an edit made elsewhere (the admin, a campaign's UTM source) takes to be seen.
PUBLIC_FORM_CACHE_SECONDS = 60
# Each web process also keeps the forms it served for a few seconds, in front of Redis: a
# submission then costs no cache round trip either. A save forgets the copy of the process
# that made it at once; the other processes see the change within these seconds.
PUBLIC_FORM_LOCAL_SECONDS = 5
_LOCAL_MAX = 1000
_local: dict[str, tuple[float, PublicForm | None]] = {}
_MISSING = "missing"


@dataclass(frozen=True)
class PublicForm:
    """What the public endpoint and capture need of an active form, cached by key so that a
    submission reads no form, campaign or consent row from the database."""

    id: int
    key: str
    name: str
    title: str
    campaign_id: int
    # The lead's source when the visitor brings no utm_source: the campaign's, or its channel.
    campaign_source: str
    # ((field name, required), ...) in display order; email is always there and required.
    fields: tuple[tuple[str, bool], ...]
    consent_id: int | None
    consent_version: int | None
    consent_text: str
    thank_you_message: str
    redirect_url: str
    allowed_origins: frozenset[str]
    fast_track: bool

    @classmethod
    def of(cls, form: Form) -> PublicForm:
        campaign, consent = form.campaign, form.consent
        return cls(
            id=form.pk,
            key=form.key,
            name=form.name,
            title=form.title or form.name,
            campaign_id=campaign.pk,
            campaign_source=campaign.utm_source or campaign.channel,
            fields=tuple(
                (str(item["name"]), bool(item.get("required")))
                for item in form.fields
                if isinstance(item, dict) and "name" in item
            ),
            consent_id=consent.pk if consent else None,
            consent_version=consent.version if consent else None,
            consent_text=consent.text if consent else "",
            thank_you_message=str(form.thank_you_message),
            redirect_url=form.redirect_url,
            allowed_origins=frozenset(origins_parse(form.allowed_origins)),
            fast_track=form.fast_track,
        )


def origins_parse(text: str) -> list[str]:
    """The origins of a form's ``allowed_origins`` (one a line), as browsers send them."""
    return [line.strip().rstrip("/").lower() for line in text.splitlines() if line.strip()]


def _public_form_cache_key(key: str) -> str:
    return f"leadflow:form:v{_PUBLIC_FORM_CACHE_VERSION}:{key}"


def public_form_get(*, key: str) -> PublicForm | None:
    """The active form with this key, or None; from the cache when it can be.

    Unknown and inactive keys are cached too (as "missing"), so a bot trying keys costs
    no query either. A cache that is down means a database read, never a failed request.
    """
    now = monotonic()
    local = _local.get(key)
    if local is not None and local[0] > now:
        return local[1]
    found = _public_form_shared(key)
    if len(_local) >= _LOCAL_MAX:  # bots trying keys must not grow it without end
        _local.clear()
    _local[key] = (now + PUBLIC_FORM_LOCAL_SECONDS, found)
    return found


def _public_form_shared(key: str) -> PublicForm | None:
    cache_key = _public_form_cache_key(key)
    try:
        cached = cache.get(cache_key)
    except Exception as exc:  # the cache is down or stalled: read the database instead
        logger.warning("form cache unavailable: %r", exc)
        cached = None
    if isinstance(cached, PublicForm):
        return cached
    if cached == _MISSING:
        return None
    form = (
        Form.objects.select_related("campaign", "consent").filter(key=key, is_active=True).first()
    )
    found = PublicForm.of(form) if form else None
    try:
        cache.set(cache_key, found or _MISSING, PUBLIC_FORM_CACHE_SECONDS)
    except Exception as exc:
        logger.warning("form cache unavailable: %r", exc)
    return found


def public_form_forget(*, key: str) -> None:
    """Drop the cached copies of a form (call after its change has committed)."""
    _local.pop(key, None)
    try:
        cache.delete(_public_form_cache_key(key))
    except Exception as exc:
        logger.warning("form cache unavailable, the copy expires by itself: %r", exc)
