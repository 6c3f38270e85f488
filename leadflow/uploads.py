"""Upload limits that hold while the body is still arriving.

Django writes an uploaded file to a temporary file before any view sees it, so a size
check in the view comes after the disk has taken it all. :class:`SizeLimitUploadHandler`
stops reading a file as soon as it passes ``LEADFLOW_MAX_IMPORT_BYTES`` (the largest upload
LeadFlow takes: a CSV import); the view then tells the person why (:func:`upload_refused`). An
API can refuse before reading at all, from the size the request announces
(:func:`upload_too_large`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

# Room for the multipart framing and the form's other fields around the file.
MULTIPART_SLACK = 64 * 1024


REFUSED = "leadflow_upload_refused"


def upload_too_large(request: HttpRequest, *, max_bytes: int) -> bool:
    """The request announces a body too large for a file of ``max_bytes``: it can be
    refused before a byte of it is read."""
    raw = request.META.get("CONTENT_LENGTH") or "0"
    return raw.isdigit() and int(raw) > max_bytes + MULTIPART_SLACK


def upload_refused(request: HttpRequest) -> bool:
    """A file of this request was too large and left out (ask after reading the form)."""
    return bool(getattr(request, REFUSED, False))


class SizeLimitUploadHandler(FileUploadHandler):
    """First in ``FILE_UPLOAD_HANDLERS``: passes chunks on until the file is too large,
    then stops the upload without reading the rest (the file is left out of the form)."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.LEADFLOW_MAX_IMPORT_BYTES:
            if self.request is not None:
                setattr(self.request, REFUSED, True)
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
