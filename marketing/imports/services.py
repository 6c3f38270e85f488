"""The service entry points: upload (``import_create``), start and retry (which queue
the Celery job), and the job itself (``import_run``), claimed with an advisory lock that
also tells a dead job from a live one (``import_is_stalled``)."""

from __future__ import annotations

import logging
import uuid
import zlib
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadflow.errors import ApplicationError, ConflictError
from leadflow.models import User
from leadflow.services import enqueue_on_commit
from marketing.imports.mapping import mapping_clean, mapping_detect
from marketing.imports.reading import layout_detect
from marketing.imports.report import _Rejects, _report_save
from marketing.imports.run import ImportOutcome, _import_execute, _Progress
from marketing.imports.selectors import import_layout
from marketing.models import Campaign, ImportJob

# The logger keeps the name it had before the module became a package.
logger = logging.getLogger("marketing.imports")


# The first key of the advisory lock a running job holds (the second is the job's id).
_LOCK_NAMESPACE = zlib.crc32(b"marketing.import") & 0x7FFFFFFF


_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")


def import_too_large_message() -> str:
    return _("The file is larger than %(max)s MB. Split it into smaller files.") % {
        "max": settings.LEADFLOW_MAX_IMPORT_BYTES // (1024 * 1024)
    }


def import_create(
    *,
    created_by: User,
    upload: UploadedFile,
    campaign: Campaign | None = None,
    mode: str = ImportJob.Mode.UPDATE,
) -> ImportJob:
    """Keep an uploaded CSV file and guess its column mapping; nothing is imported yet."""
    name = Path(upload.name or "import.csv").name
    if upload.size is not None and upload.size > settings.LEADFLOW_MAX_IMPORT_BYTES:
        raise ApplicationError(import_too_large_message(), field="file")
    if name.lower().endswith(_WORKBOOK_SUFFIXES):
        raise ApplicationError(
            _("This is a spreadsheet workbook. Save it as “CSV UTF-8” and upload that."),
            field="file",
        )
    if mode not in ImportJob.Mode.values:
        raise ApplicationError(_("Choose what to do with people who already exist."), field="mode")
    layout = layout_detect(upload.open("rb"))
    if layout.rows_estimate == 0:
        raise ApplicationError(_("The file has a header but no rows."), field="file")
    upload.seek(0)
    job = ImportJob(
        created_by=created_by,
        campaign=campaign,
        original_name=name[:255],
        mapping=mapping_detect(layout.headers),
        mode=mode,
        total_rows=layout.rows_estimate,
    )
    # A random name: the person's file name may say more than it should.
    job.file.save(f"{uuid.uuid4().hex}.csv", upload, save=False)
    job.save()
    return job


@transaction.atomic
def import_start(
    *,
    job_id: int,
    mapping: dict[str, str],
    mode: str,
    campaign: Campaign | None,
    language: str = "",
) -> ImportJob:
    """Fix the mapping and the options, and queue the job (once: a started job refuses)."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status != ImportJob.Status.UPLOADED:
        raise ConflictError(_("This import has already been started."))
    if mode not in ImportJob.Mode.values:
        raise ApplicationError(_("Choose what to do with people who already exist."), field="mode")
    job.mapping = mapping_clean(import_layout(job=job).headers, mapping)
    job.mode = mode
    job.campaign = campaign
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["mapping", "mode", "campaign", "status"])
    _enqueue(job.pk, language)
    return job


@transaction.atomic
def import_retry(*, job_id: int, language: str = "") -> ImportJob:
    """Queue a failed or interrupted job again; a queued one is sent to the workers again
    (harmless: a job runs once, see ``import_run``)."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status == ImportJob.Status.RUNNING and not import_is_stalled(job=job):
        raise ConflictError(_("This import is running."))
    if job.status not in (
        ImportJob.Status.FAILED,
        ImportJob.Status.RUNNING,
        ImportJob.Status.QUEUED,
    ):
        raise ConflictError(_("Only a failed or interrupted import can be run again."))
    job.status = ImportJob.Status.QUEUED
    job.error_message = ""
    job.processed_rows = 0
    job.save(update_fields=["status", "error_message", "processed_rows"])
    _enqueue(job.pk, language)
    return job


def _enqueue(job_id: int, language: str) -> None:
    from marketing.tasks import run_import

    enqueue_on_commit(run_import, job_id, language)


def import_run(*, job_id: int, skip_fk_checks: bool | None = None) -> ImportOutcome | None:
    """Run a queued import; None when there is nothing to do.

    Idempotent: the job is claimed with an advisory lock and a status check inside its
    own transaction, so a second delivery of the task does nothing (the job is running
    elsewhere, or done). A job left "running" by a dead worker is run again from the
    start: its transaction died with it. A job that fails is marked failed with a
    message for the person; nothing of it is kept.

    ``skip_fk_checks``: see ``_fk_checks_skippable``; None decides by privilege.
    """
    job = ImportJob.objects.select_related("campaign").filter(pk=job_id).first()
    if job is None:
        return None
    progress = _Progress(job_id)
    rejects = _Rejects()
    report_name = ""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, job_id]
                )
                if not cursor.fetchone()[0]:
                    return None  # another worker has it
            status = ImportJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
            if status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
                return None
            progress.set(
                force=True,
                status=ImportJob.Status.RUNNING,
                started_at=timezone.now(),
                finished_at=None,
                processed_rows=0,
                created_count=0,
                updated_count=0,
                skipped_count=0,
                error_count=0,
                error_message="",
            )
            layout = import_layout(job=job)
            outcome = _import_execute(job, layout, progress, rejects, skip_fk_checks=skip_fk_checks)
            if rejects.count:
                report_name = _report_save(job, layout, rejects)
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.DONE,
                total_rows=outcome.total,
                processed_rows=outcome.total,
                created_count=outcome.created,
                updated_count=outcome.updated,
                skipped_count=outcome.skipped,
                error_count=outcome.rejected,
                errors_file=report_name,
                error_message="",
                finished_at=timezone.now(),
            )
    except Exception as exc:
        _import_failed(job_id, exc, report_name)
        return None
    finally:
        rejects.close()
        progress.close()
    logger.info(
        "import %s done: %s rows, %s new, %s updated, %s skipped, %s rejected",
        job_id,
        outcome.total,
        outcome.created,
        outcome.updated,
        outcome.skipped,
        outcome.rejected,
    )
    return outcome


def _import_failed(job_id: int, exc: Exception, report_name: str) -> None:
    if report_name:
        default_storage.delete(report_name)
    if isinstance(exc, ApplicationError):
        message = exc.message
    elif isinstance(exc, SoftTimeLimitExceeded):
        message = _(
            "The import took longer than the worker allows; nothing was imported. Split the "
            "file into smaller ones."
        )
    else:
        logger.exception("import %s failed", job_id, exc_info=exc)
        message = _(
            "The import stopped because of an internal error; nothing was imported. Run it "
            "again, or ask your administrator to look at the worker's log."
        )
    try:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            error_message=message,
            finished_at=timezone.now(),
            processed_rows=0,
            created_count=0,
            updated_count=0,
            skipped_count=0,
            error_count=0,
        )
    except DatabaseError:
        # The database is gone too: the job stays "running" without a lock, which its
        # page shows as interrupted, with a button to run it again.
        logger.exception("import %s: could not record the failure", job_id)


def import_is_stalled(*, job: ImportJob) -> bool:
    """A "running" job whose worker is gone: no session holds its lock any more."""
    if job.status != ImportJob.Status.RUNNING:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid = %s::oid AND objid = %s::oid AND objsubid = 2)",
            [_LOCK_NAMESPACE, job.pk],
        )
        return bool(cursor.fetchone()[0])
