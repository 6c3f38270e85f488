"""Reads: the recent imports, one import and its file's layout, and the preview of the
first rows with what would become of each."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from leadflow.errors import ApplicationError
from marketing.imports.cleaning import _STAGED_FIELDS, RowCleaner
from marketing.imports.mapping import IMPORT_FIELDS, mapping_clean
from marketing.imports.reading import CsvLayout, FileUnreadableError, layout_detect, rows_read
from marketing.imports.report import _duplicate_reason, _suppressed_reason
from marketing.models import ImportJob, Lead, Suppression
from marketing.selectors import email_hash

PREVIEW_ROWS = 10


def import_list(*, limit: int = 50) -> QuerySet[ImportJob]:
    """The most recent imports, newest first."""
    return ImportJob.objects.select_related("created_by", "campaign").order_by(
        "-created_at", "-id"
    )[:limit]


def import_get(*, job_id: int) -> ImportJob | None:
    return ImportJob.objects.select_related("created_by", "campaign").filter(pk=job_id).first()


def import_layout(*, job: ImportJob) -> CsvLayout:
    try:
        with job.file.open("rb") as handle:
            return layout_detect(handle)
    except OSError as exc:
        raise ApplicationError(
            _("The uploaded file of this import is gone; upload it again.")
        ) from exc


@dataclass
class PreviewRow:
    row_no: int
    values: list[object]  # in the order of ``Preview.fields``
    problems: list[str]
    # "new", "exists" (a lead has the address), "duplicate" (an earlier row has it),
    # "suppressed" or "invalid".
    state: str
    email: str = ""


@dataclass
class Preview:
    layout: CsvLayout
    mapping: dict[str, str]
    fields: list[str]  # the lead fields the preview shows, in order
    rows: list[PreviewRow] = field(default_factory=list)
    # The first non-empty cell of each column among the previewed rows, by header.
    samples: list[str] = field(default_factory=list)
    mapping_error: str = ""

    @property
    def labels(self) -> list[str]:
        return [str(IMPORT_FIELDS[name]) for name in self.fields]

    @property
    def importable(self) -> int:
        return sum(1 for row in self.rows if row.state in ("new", "exists"))


def import_preview(*, job: ImportJob, mapping: dict[str, str] | None = None) -> Preview:
    """The first rows as they would be imported with ``mapping`` (default: the job's),
    each with what would become of it: new, existing, or why it would be rejected."""
    layout = import_layout(job=job)
    wanted = job.mapping if mapping is None else mapping
    wanted = {header: wanted.get(header) or "" for header in layout.headers}
    shown = set(wanted.values())
    if shown & {"full_name", "full_name_reversed"}:
        shown |= {"first_name", "last_name"}
    fields = [name for name in _STAGED_FIELDS if name in shown]
    fields.sort(key=list(IMPORT_FIELDS).index)
    preview = Preview(layout=layout, mapping=wanted, fields=fields)
    cleaner: RowCleaner | None = None
    try:
        cleaner = RowCleaner(layout.headers, mapping_clean(layout.headers, wanted))
    except ApplicationError as exc:
        preview.mapping_error = exc.message
    samples = [""] * len(layout.headers)
    with job.file.open("rb") as handle:
        try:
            for row_no, cells in rows_read(handle, layout):
                for at, cell in enumerate(cells[: len(samples)]):
                    samples[at] = samples[at] or cell.strip()
                staged, problems = cleaner.clean(cells) if cleaner else (None, [])
                if staged is not None:
                    values = dict(zip(_STAGED_FIELDS, staged, strict=True))
                    row = PreviewRow(row_no, [values[name] for name in fields], [], "new")
                    row.email = str(values["email"])
                else:
                    raw: dict[str, object] = {}
                    for header, name in wanted.items():
                        at = layout.headers.index(header)
                        if name in ("full_name", "full_name_reversed"):
                            name = "first_name"
                        if name and at < len(cells):
                            raw.setdefault(name, cells[at])
                    row = PreviewRow(
                        row_no, [raw.get(name, "") for name in fields], problems, "invalid"
                    )
                preview.rows.append(row)
                if len(preview.rows) >= PREVIEW_ROWS:
                    break
        except FileUnreadableError as exc:
            preview.mapping_error = exc.message
    preview.samples = samples
    _preview_states(preview)
    return preview


def _preview_states(preview: Preview) -> None:
    """Mark rows whose address is known, repeated or suppressed (two queries)."""
    emails = [row.email for row in preview.rows if row.state == "new"]
    if not emails:
        return
    known = set(Lead.objects.filter(email__in=emails).values_list("email", flat=True))
    hashes = {email: email_hash(email) for email in emails}
    suppressed = set(
        Suppression.objects.filter(email_hash__in=hashes.values()).values_list(
            "email_hash", flat=True
        )
    )
    seen: dict[str, int] = {}
    for row in preview.rows:
        if row.state != "new":
            continue
        email = row.email
        if email in seen:
            row.state = "duplicate"
            row.problems = [_duplicate_reason(seen[email])]
        elif hashes[email] in suppressed:
            row.state = "suppressed"
            row.problems = [_suppressed_reason()]
        elif email in known:
            row.state = "exists"
        seen.setdefault(email, row.row_no)
