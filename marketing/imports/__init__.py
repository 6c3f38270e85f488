"""CSV import of leads: reading the file, mapping its columns, and the set-wise job.

The flow is upload (``import_create``) → mapping and preview (``import_preview``) → start
(``import_start``) → the Celery job (``import_run``) → a result with a report of the rows
that were not imported (``ImportJob.errors_file``).

The job reads the file once, in Python, because that is where per-row work is cheap: the
csv module (C) splits the rows, ``RowCleaner`` checks and normalises them (email, phone to
E.164, company size, country) and drops repeats within the file. Batches of 50,000 good
rows are copied (``COPY``) into a temporary staging table, and each batch is then written
as a set: suppressed addresses and external-id conflicts leave the stage, leads known
only by phone or external id are claimed, and one ``INSERT … SELECT … ON CONFLICT
(email)`` writes the leads with their touchpoints and "created" events. A reading thread
prepares the next batch while Postgres writes the current one, so the two cores work
together. All batches are one transaction: a crash or an error leaves nothing behind. The
job's progress goes through a second connection, so the page sees it meanwhile.

Rows are numbered as a spreadsheet numbers them: the header is row 1 (row 2 if the file
starts with Excel's ``sep=;`` line); blank rows count but are skipped silently.

Decisions where the issue was silent:

* The same email twice in one file: the first row is imported, later ones are reported
  ("same email as row N") and not merged. The same goes for a repeated external id.
* Counters: ``created`` + ``updated`` + ``skipped`` + ``error`` = rows. ``skipped`` are
  people who already exist when the mode is "skip" (nothing about them changes, not even
  a touchpoint); ``error`` are the rows in the report: invalid, duplicates within the
  file, suppressed addresses and external-id conflicts.
* "Update" fills only the fields that are empty on the existing lead, adds an "import"
  touchpoint and makes the lead due for re-scoring; it never overwrites data.
* Scoring is left to the beat sweeper (``scored_at`` is NULL on every lead the import
  touched): a million score tasks from one import would starve the form captures.
* A job whose worker died stays "running" with nothing written; its page offers to run it
  again (the advisory lock tells a dead job from a live one).

The package, by part: ``mapping`` (which field a column becomes), ``reading`` (the file's
layout and rows), ``cleaning`` and ``phones`` (checking one row), ``run`` (the set-wise
job in its transaction), ``report`` (the rejected rows), ``selectors`` (the list, the
preview) and ``services`` (the entry points). The names other code uses are re-exported
here; tuning constants such as ``run.BATCH_ROWS`` are read where they are defined, so a
test changes them there.
"""

from marketing.imports.cleaning import (
    _EMAIL,
    MAX_COMPANY_SIZE,
    MAX_EMAIL_LENGTH,
    RowCleaner,
    _company_size,
)
from marketing.imports.mapping import (
    HEADER_SYNONYMS,
    IMPORT_FIELDS,
    header_key,
    mapping_clean,
    mapping_detect,
)
from marketing.imports.phones import _phone_fast
from marketing.imports.reading import CsvLayout, FileUnreadableError, layout_detect, rows_read
from marketing.imports.report import import_report_head
from marketing.imports.run import ImportOutcome
from marketing.imports.selectors import (
    Preview,
    PreviewRow,
    import_get,
    import_layout,
    import_list,
    import_preview,
)
from marketing.imports.services import (
    _LOCK_NAMESPACE,
    import_create,
    import_is_stalled,
    import_retry,
    import_run,
    import_start,
    import_too_large_message,
)

# The underscored names are private, but used from outside the package: the email pattern
# by marketing.upserts, the rest by tests/marketing/test_import.py.
__all__ = [
    "HEADER_SYNONYMS",
    "IMPORT_FIELDS",
    "MAX_COMPANY_SIZE",
    "MAX_EMAIL_LENGTH",
    "_EMAIL",
    "_LOCK_NAMESPACE",
    "CsvLayout",
    "FileUnreadableError",
    "ImportOutcome",
    "Preview",
    "PreviewRow",
    "RowCleaner",
    "_company_size",
    "_phone_fast",
    "header_key",
    "import_create",
    "import_get",
    "import_is_stalled",
    "import_layout",
    "import_list",
    "import_preview",
    "import_report_head",
    "import_retry",
    "import_run",
    "import_start",
    "import_too_large_message",
    "layout_detect",
    "mapping_clean",
    "mapping_detect",
    "rows_read",
]
