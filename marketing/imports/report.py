"""The rejected rows: why a row is rejected, the rows collected while the job runs, and
the report file (``ImportJob.errors_file``) written from them and read back for the page.
"""

from __future__ import annotations

import csv
import heapq
import io
import tempfile
import uuid
from collections.abc import Iterator
from typing import IO

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _

from leadflow import csv_export
from marketing.imports.reading import CsvLayout, _delimiter_detect, rows_read
from marketing.models import ImportJob


def _duplicate_reason(row_no: int) -> str:
    return _("The same email is on row %(row)s; only the first row is imported.") % {"row": row_no}


def _suppressed_reason() -> str:
    return _("The address is on the suppression list (the person withdrew consent or opted out).")


def _duplicate_external_reason(row_no: int) -> str:
    return _("The same external ID is on row %(row)s; only the first row is imported.") % {
        "row": row_no
    }


class _Rejects:
    """The rows that were not imported, collected while the job finds them.

    The reading pass finds most of them, in file order, with their cells; the SQL pass
    finds a few more (suppressed addresses, external-id conflicts) by row number only. The
    report reads the file once more for those, and merges the two lists by row number.
    """

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.file)
        self.found = 0
        self.later: dict[int, str] = {}

    @property
    def count(self) -> int:
        return self.found + len(self.later)

    def add(self, row_no: int, reasons: list[str], cells: list[str]) -> None:
        self.writer.writerow([row_no, " ".join(reasons), *cells])
        self.found += 1

    def add_later(self, row_no: int, reason: str) -> None:
        self.later[row_no] = reason

    def write_report(self, target: IO[str], *, job: ImportJob, layout: CsvLayout) -> None:
        self.file.flush()
        self.file.seek(0)
        streams: list[Iterator[tuple[int, str, list[str]]]] = [
            ((int(row[0]), row[1], row[2:]) for row in csv.reader(self.file))
        ]
        if self.later:
            streams.append(self._later_rows(job, layout))
        writer = csv_export.writer(target, delimiter=layout.delimiter)
        writer.writerow([_("Row"), _("Reason"), *layout.headers])
        for row_no, reason, cells in heapq.merge(*streams, key=lambda item: item[0]):
            writer.writerow([row_no, reason, *cells])

    def _later_rows(
        self, job: ImportJob, layout: CsvLayout
    ) -> Iterator[tuple[int, str, list[str]]]:
        with job.file.open("rb") as handle:
            for row_no, cells in rows_read(handle, layout):
                reason = self.later.get(row_no)
                if reason is not None:
                    yield row_no, reason, cells

    def close(self) -> None:
        self.file.close()


def _report_save(job: ImportJob, layout: CsvLayout, rejects: _Rejects) -> str:
    with tempfile.TemporaryFile(mode="w+b") as raw:
        # UTF-8 with a byte-order mark, so that Excel shows the letters right; the file's
        # own delimiter, so that it opens in the Excel the file came from.
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        rejects.write_report(text, job=job, layout=layout)
        text.flush()
        text.detach()
        raw.seek(0)
        stamp = timezone.now()
        return default_storage.save(
            f"imports/{stamp:%Y}/{stamp:%m}/rejected-{job.pk}-{uuid.uuid4().hex[:8]}.csv",
            File(raw),
        )


def import_report_head(*, job: ImportJob, limit: int = 10) -> list[tuple[str, str]]:
    """(row number, reason) of the first rejected rows, for the result page."""
    if not job.errors_file:
        return []
    with job.errors_file.open("rb") as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        lines = [line for _, line in zip(range(limit + 1), text, strict=False)]
        text.detach()
    rows = list(csv.reader(lines, delimiter=_delimiter_detect(lines)))
    return [(row[0], row[1]) for row in rows[1:] if len(row) > 1]
