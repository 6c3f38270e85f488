"""The set-wise run of a job inside its transaction: a reader thread checks the rows a
batch ahead, each batch is copied into a staging table and written with a few statements
(rejects found in SQL, leads without an address claimed, one upsert), and the progress
is written through a connection of its own."""

from __future__ import annotations

import csv
import io
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import translation
from django.utils.translation import gettext as _

from leadflow import bus
from marketing.imports.cleaning import RowCleaner
from marketing.imports.mapping import mapping_clean
from marketing.imports.reading import CsvLayout, rows_read
from marketing.imports.report import (
    _duplicate_external_reason,
    _duplicate_reason,
    _Rejects,
    _suppressed_reason,
)
from marketing.models import ImportJob

LEAD = "marketing.lead"
# Rows per batch: big enough to be set-wise, small enough that the page's progress bar
# moves every second or two and the reader works on the next batch meanwhile.
BATCH_ROWS = 50_000


@dataclass
class ImportOutcome:
    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0


# --- Progress, seen from outside the job's transaction ---------------------------------------


class _Progress:
    """Writes the job's counters through a connection of its own, in autocommit, so the
    progress page sees them while the import's transaction is still open."""

    def __init__(self, job_id: int, *, every: float = 0.5) -> None:
        self.job_id = job_id
        self.every = every
        self.last = 0.0
        self.conn = connections.create_connection(DEFAULT_DB_ALIAS)

    def set(self, *, force: bool = False, **values: object) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        # Column names come from this module, never from input.
        assignments = ", ".join(f"{name} = %s" for name in values)
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"UPDATE marketing_importjob SET {assignments} WHERE id = %s",  # noqa: S608
                [*values.values(), self.job_id],  # type: ignore[list-item]
            )

    def close(self) -> None:
        self.conn.close()


# --- The job's SQL ---------------------------------------------------------------------------

_STAGE_SQL = """
CREATE TEMPORARY TABLE import_stage (
    row_no integer NOT NULL,
    email text NOT NULL,
    external_id text,
    phone text NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    company text NOT NULL,
    job_title text NOT NULL,
    company_size integer,
    country text NOT NULL,
    source text NOT NULL
) ON COMMIT DROP
"""
_COPY_SQL = (
    "COPY import_stage (row_no, email, external_id, phone, first_name, last_name, company,"
    " job_title, company_size, country, source) FROM STDIN (FORMAT csv)"
)

# The suppression list holds SHA-256 of the normalised address
# (marketing.selectors.email_hash); the staged email is normalised already.
_SUPPRESSED_SQL = """
DELETE FROM import_stage AS s
USING marketing_suppression AS x
WHERE x.email_hash = encode(sha256(convert_to(s.email, 'UTF8')), 'hex')
RETURNING s.row_no
"""

# An external id that belongs to another person (another address) cannot be given to
# this one: the row is reported. A lead with that id and no address is this person.
# One index probe a row (LATERAL … LIMIT 1): the lead table grows inside this very
# transaction, so the planner's statistics for it are stale and would choose to scan
# all of it once a batch.
_EXTERNAL_CONFLICT_SQL = """
DELETE FROM import_stage AS s
WHERE s.row_no IN (
    SELECT staged.row_no
    FROM import_stage AS staged
    CROSS JOIN LATERAL (
        SELECT 1 FROM marketing_lead AS l
        WHERE l.external_id = staged.external_id
          AND l.email IS NOT NULL AND l.email <> staged.email
        LIMIT 1
    ) AS taken
    WHERE staged.external_id IS NOT NULL
)
RETURNING s.row_no
"""

# Leads entered without an address (API by external id, or phone only) are the same
# person as a row with that external id, or else that phone, when the row's address is
# new: they get the address, and the upsert below then treats them as existing. Only
# used when such leads exist at all.
_CLAIM_BY_EXTERNAL_ID_SQL = """
UPDATE marketing_lead AS l SET email = s.email, updated_at = now()
FROM import_stage AS s
WHERE s.external_id IS NOT NULL AND l.external_id = s.external_id AND l.email IS NULL
  AND l.erased_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM marketing_lead AS o WHERE o.email = s.email)
"""
_CLAIM_BY_PHONE_SQL = """
UPDATE marketing_lead AS l SET email = m.email, updated_at = now()
FROM (
    SELECT DISTINCT ON (p.phone) p.phone, s.email, p.id
    FROM import_stage AS s
    JOIN (
        SELECT DISTINCT ON (phone) phone, id FROM marketing_lead
        WHERE email IS NULL AND erased_at IS NULL AND phone <> ''
        ORDER BY phone, id
    ) AS p ON p.phone = s.phone
    WHERE NOT EXISTS (SELECT 1 FROM marketing_lead AS o WHERE o.email = s.email)
    ORDER BY p.phone, s.row_no
) AS m
WHERE l.id = m.id
"""

# "Skip" mode: rows whose person is a lead without an address (by external id or phone).
_SKIP_KNOWN_SQL = """
DELETE FROM import_stage AS s
USING marketing_lead AS l
WHERE l.email IS NULL AND l.erased_at IS NULL AND (
    (s.external_id IS NOT NULL AND l.external_id = s.external_id)
    OR (s.phone <> '' AND l.phone = s.phone)
)
"""

# One batch: the leads (new ones inserted, known ones filled where empty), a touchpoint
# for each, and a "created" event for each new one. Touchpoint ids are drawn first, so
# that a lead's first and last touch are written with the lead (no second UPDATE of a
# million rows). ``xmax = 0`` tells an inserted row from an updated one.
_UPSERT_HEAD = """
WITH src AS (
    SELECT s.*, nextval(%(touch_sequence)s::oid::regclass) AS touch_id
    FROM import_stage AS s
), up AS (
    INSERT INTO marketing_lead AS l (
        email, external_id, phone, first_name, last_name, company, job_title, company_size,
        country, stage, campaign_id, source, fit_score, engagement_score, grade,
        fast_tracked, first_touch_id, last_touch_id, created_at, updated_at
    )
    SELECT email, external_id, phone, first_name, last_name, company, job_title,
        company_size, country, 'lead', %(campaign_id)s::bigint,
        COALESCE(NULLIF(source, ''), %(source)s), 0, 0, 'D', false, touch_id, touch_id,
        now(), now()
    FROM src
"""
_UPSERT_UPDATE = """
    ON CONFLICT (email) DO UPDATE SET
        external_id = COALESCE(l.external_id, EXCLUDED.external_id),
        phone = COALESCE(NULLIF(l.phone, ''), EXCLUDED.phone),
        first_name = COALESCE(NULLIF(l.first_name, ''), EXCLUDED.first_name),
        last_name = COALESCE(NULLIF(l.last_name, ''), EXCLUDED.last_name),
        company = COALESCE(NULLIF(l.company, ''), EXCLUDED.company),
        job_title = COALESCE(NULLIF(l.job_title, ''), EXCLUDED.job_title),
        company_size = COALESCE(l.company_size, EXCLUDED.company_size),
        country = COALESCE(NULLIF(l.country, ''), EXCLUDED.country),
        source = COALESCE(NULLIF(l.source, ''), EXCLUDED.source),
        campaign_id = COALESCE(l.campaign_id, EXCLUDED.campaign_id),
        first_touch_id = COALESCE(l.first_touch_id, EXCLUDED.first_touch_id),
        last_touch_id = EXCLUDED.last_touch_id,
        scored_at = NULL,
        updated_at = now()
    -- An erased lead keeps its row for the counts, not its data: it is never filled.
    WHERE l.erased_at IS NULL
"""
_UPSERT_SKIP = """
    ON CONFLICT (email) DO NOTHING
"""
_UPSERT_TAIL = """
    RETURNING l.id, l.last_touch_id AS touch_id, (l.xmax = 0) AS inserted
), tp AS (
    INSERT INTO marketing_touchpoint (
        id, lead_id, kind, campaign_id, form_id, utm_source, utm_medium, utm_campaign,
        utm_term, utm_content, gclid, fbclid, referrer, landing_page, dedupe_key, created_at
    )
    SELECT touch_id, id, 'import', %(campaign_id)s::bigint, NULL, %(utm_source)s,
        %(utm_medium)s, %(utm_campaign)s, '', '', '', '', '', '', NULL, now()
    FROM up
), ev AS (
    INSERT INTO leadflow_event (
        subject_type, subject_id, kind, actor_id, rule, reason, old_value, new_value,
        created_at
    )
    SELECT %(subject_type)s, id, 'created', %(actor_id)s::bigint, %(rule)s, '', '', 'lead', now()
    FROM up WHERE inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
    COALESCE(array_agg(id) FILTER (WHERE inserted), '{}') FROM up
"""


def _fk_checks_skippable(cursor: Any) -> bool:
    """Whether this session may turn the foreign-key triggers off for its transaction.

    Postgres checks every foreign key of every inserted row with a query of its own: for
    a million rows that is five million lookups (lead → campaign, first and last touch;
    touchpoint → lead, campaign), more time than the whole rest of the import. Here each
    reference is right by construction: the leads and touchpoints are written by these
    very statements in this transaction, and the campaign is locked against deletion
    until it commits. ``session_replication_role = replica`` (what pg_restore and logical
    replication use) skips the checks; it needs a superuser or, from Postgres 15, ``GRANT
    SET ON PARAMETER session_replication_role``. Without the privilege the import is
    slower, not different. It also silences ordinary triggers: the tables written here
    have none that fire on INSERT (the event log's guard fires on UPDATE and DELETE).
    """
    cursor.execute(
        "SELECT current_setting('is_superuser') = 'on' OR ("
        " current_setting('server_version_num')::int >= 150000"
        " AND has_parameter_privilege('session_replication_role', 'SET'))"
    )
    return bool(cursor.fetchone()[0])


@dataclass(frozen=True)
class _Batch:
    """Checked rows in COPY's CSV form, cut by the reading thread."""

    data: str
    rows: int  # staged rows in ``data``
    read: int  # rows of the file read so far, this batch included
    rejected: int  # of those, rows the reading rejected
    last: bool


class _Reader(threading.Thread):
    """Reads, checks and formats the rows in a thread of its own, a batch ahead of the
    writing: Python's per-row work then runs on one core while Postgres writes the
    previous batch on the other. It touches no database connection."""

    def __init__(
        self, job: ImportJob, layout: CsvLayout, cleaner: RowCleaner, rejects: _Rejects
    ) -> None:
        super().__init__(name=f"import-{job.pk}-reader", daemon=True)
        self.job, self.layout, self.cleaner, self.rejects = job, layout, cleaner, rejects
        self.batches: queue.Queue[_Batch | BaseException] = queue.Queue(maxsize=2)
        self.stop = threading.Event()
        # The active language is per thread: the reasons must be in the job's.
        self.language = translation.get_language()

    def run(self) -> None:
        try:
            with translation.override(self.language):
                self._read()
        except BaseException as exc:  # handed to the writing thread, which raises it
            self._put(exc)

    def _put(self, item: _Batch | BaseException) -> None:
        while not self.stop.is_set():
            try:
                self.batches.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _read(self) -> None:
        clean, rejects = self.cleaner.clean, self.rejects
        seen_email: dict[str, int] = {}
        seen_external: dict[str, int] = {}
        buffer = io.StringIO()
        # Every cell quoted but NULL: COPY then tells an empty string from NULL.
        writerow = csv.writer(buffer, quoting=csv.QUOTE_NOTNULL).writerow
        read = staged = 0
        with self.job.file.open("rb") as handle:
            for row_no, cells in rows_read(handle, self.layout):
                read += 1
                row, problems = clean(cells)
                if row is None:
                    rejects.add(row_no, problems, cells)
                    continue
                first = seen_email.setdefault(row[0], row_no)
                if first != row_no:
                    rejects.add(row_no, [_duplicate_reason(first)], cells)
                    continue
                if row[1] is not None:
                    first = seen_external.setdefault(row[1], row_no)
                    if first != row_no:
                        rejects.add(row_no, [_duplicate_external_reason(first)], cells)
                        continue
                writerow((row_no, *row))
                staged += 1
                if staged == BATCH_ROWS:
                    self._put(_Batch(buffer.getvalue(), staged, read, rejects.found, last=False))
                    if self.stop.is_set():
                        return
                    buffer.seek(0)
                    buffer.truncate()
                    staged = 0
        self._put(_Batch(buffer.getvalue(), staged, read, rejects.found, last=True))


def _import_execute(
    job: ImportJob,
    layout: CsvLayout,
    progress: _Progress,
    rejects: _Rejects,
    *,
    skip_fk_checks: bool | None,
) -> ImportOutcome:
    """The job inside its transaction: batch by batch, stage the checked rows and write
    them set-wise, while the reader prepares the next batch."""
    outcome = ImportOutcome()
    cleaner = RowCleaner(layout.headers, mapping_clean(layout.headers, job.mapping))
    progress.set(force=True, total_rows=max(layout.rows_estimate, 1))
    campaign = job.campaign
    sql = (
        _UPSERT_HEAD
        + (_UPSERT_UPDATE if job.mode == ImportJob.Mode.UPDATE else _UPSERT_SKIP)
        + _UPSERT_TAIL
    )
    params: dict[str, Any] = {
        "campaign_id": job.campaign_id,
        "source": "import",
        "utm_source": campaign.utm_source if campaign else "",
        "utm_medium": campaign.utm_medium if campaign else "",
        "utm_campaign": campaign.utm_campaign if campaign else "",
        "subject_type": LEAD,
        "actor_id": job.created_by_id,
        "rule": f"import: {job.original_name}"[:200],
    }
    external_mapped = "external_id" in job.mapping.values()
    reader = _Reader(job, layout, cleaner, rejects)
    new_ids: list[int] = []
    with connection.cursor() as cursor:
        if skip_fk_checks is None:
            skip_fk_checks = _fk_checks_skippable(cursor)
        if job.campaign_id is not None:
            # The campaign cannot be deleted under the import (see _fk_checks_skippable).
            cursor.execute(
                "SELECT 1 FROM marketing_campaign WHERE id = %s FOR KEY SHARE", [job.campaign_id]
            )
        cursor.execute("SELECT EXISTS (SELECT 1 FROM marketing_suppression)")
        check_suppressed = bool(cursor.fetchone()[0])
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM marketing_lead WHERE email IS NULL AND erased_at IS NULL)"
        )
        check_unaddressed = bool(cursor.fetchone()[0])
        # The sequence by oid: looked up once, not once a row.
        cursor.execute("SELECT pg_get_serial_sequence('marketing_touchpoint', 'id')::regclass::oid")
        params["touch_sequence"] = cursor.fetchone()[0]
        # The batch's rows, touchpoint ids drawn, are held in memory between statements.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # ON COMMIT DROP removes it after a job; a caller's enclosing transaction (two
        # imports in one test) may still hold the previous job's.
        cursor.execute("DROP TABLE IF EXISTS import_stage")
        cursor.execute(_STAGE_SQL)
        if skip_fk_checks:
            cursor.execute("SET LOCAL session_replication_role = replica")
        reader.start()
        try:
            while True:
                batch = reader.batches.get()
                if isinstance(batch, BaseException):
                    raise batch
                if batch.rows:
                    cursor.execute("TRUNCATE import_stage")
                    with cursor.copy(_COPY_SQL) as copy:
                        copy.write(batch.data)
                    later = _rejects_later(
                        cursor, suppressed=check_suppressed, external=external_mapped
                    )
                    for row_no, reason in later:
                        rejects.add_later(row_no, reason)
                    if check_unaddressed:
                        _claim_known(cursor, mode=job.mode)
                    cursor.execute(sql, params)
                    created, updated, created_ids = cursor.fetchone()
                    outcome.created += created
                    outcome.updated += updated
                    new_ids.extend(created_ids)
                outcome.total = batch.read
                outcome.rejected = batch.rejected + len(rejects.later)
                progress.set(
                    force=batch.last,
                    processed_rows=batch.read,
                    total_rows=max(layout.rows_estimate, batch.read)
                    if not batch.last
                    else batch.read,
                    created_count=outcome.created,
                    updated_count=outcome.updated,
                    error_count=outcome.rejected,
                )
                if batch.last:
                    break
        finally:
            reader.stop.set()
            reader.join()
        if skip_fk_checks:
            cursor.execute("SET LOCAL session_replication_role = origin")
    if new_ids:
        # Webhooks of "lead.created", written in the job's transaction with the leads (and
        # with the foreign-key checks back on).
        bus.publish("leads.created", lead_ids=new_ids)
    # Rows that neither made nor touched a lead and were not rejected: people who exist,
    # in "skip" mode (and erased leads, which are never filled).
    outcome.skipped = outcome.total - outcome.rejected - outcome.created - outcome.updated
    return outcome


def _rejects_later(cursor: Any, *, suppressed: bool, external: bool) -> list[tuple[int, str]]:
    """Rows of the stage the SQL refuses, removed from it: suppressed addresses and
    external ids that belong to somebody else."""
    found: list[tuple[int, str]] = []
    if suppressed:
        cursor.execute(_SUPPRESSED_SQL)
        reason = _suppressed_reason()
        found += [(row_no, reason) for (row_no,) in cursor.fetchall()]
    if external:
        cursor.execute(_EXTERNAL_CONFLICT_SQL)
        reason = _("The external ID belongs to another lead, with a different email.")
        found += [(row_no, reason) for (row_no,) in cursor.fetchall()]
    return found


def _claim_known(cursor: Any, *, mode: str) -> None:
    """Give addresses to the leads that are this file's people but have none yet (see the
    SQL). In "skip" mode those people are left alone instead: their rows leave the stage
    (and count as skipped)."""
    if mode == ImportJob.Mode.UPDATE:
        cursor.execute(_CLAIM_BY_EXTERNAL_ID_SQL)
        cursor.execute(_CLAIM_BY_PHONE_SQL)
    else:
        cursor.execute(_SKIP_KNOWN_SQL)
