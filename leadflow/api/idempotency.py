"""``Idempotency-Key`` on POST: the same key and body replay the first response; the same
key with another body is a 422; concurrent requests with one key do the work once.

The key's row is inserted in the transaction that does the request's work. A second
request with the same key blocks on the unique index until the first commits, then
replays its stored response; if the first rolled back (a 5xx), the second runs. Nothing
is ever left "in progress". 5xx and 429 responses are not stored, so they can be retried.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from leadflow.api.models import ApiToken, IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Keys are remembered this long; the nightly purge forgets older ones.
LIFETIME = timedelta(hours=24)


class KeyReusedError(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request."


def principal_of(request: Request) -> str:
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    return f"user:{request.user.pk}"


def request_hash(request: Request) -> str:
    """The request's method, path and body. A multipart body is hashed by its fields and
    files' contents: its boundary changes on every send."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    raw: Any = request._request  # the Django request, before DRF parses its body
    if (raw.content_type or "").startswith("multipart/"):
        for name in sorted(raw.POST):
            digest.update(json.dumps([name, raw.POST.getlist(name)]).encode())
        for name in sorted(raw.FILES):
            for upload in raw.FILES.getlist(name):
                digest.update(f"\nfile {name} {upload.name}\n".encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    else:
        digest.update(raw.body)
    return digest.hexdigest()


@dataclass(frozen=True)
class Claim:
    """Either this request owns the key (``record_id``) or it replays ``response``."""

    record_id: int | None
    response: Response | None


def key_claim(*, request: Request, key: str) -> Claim:
    """Take the key for this request, or find the response stored under it. Call inside
    the transaction that does the request's work."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise exceptions.ValidationError(
            {HEADER: [_("Send a key of 1 to 255 printable characters.")]}
        )
    principal = principal_of(request)
    fingerprint = request_hash(request)
    with connection.cursor() as cursor:
        # A key older than its lifetime is forgotten here too, before the purge gets to it.
        cursor.execute(
            "DELETE FROM leadflow_idempotencyrecord "
            "WHERE principal = %s AND key = %s AND created_at < %s",
            [principal, key, timezone.now() - LIFETIME],
        )
        cursor.execute(
            "INSERT INTO leadflow_idempotencyrecord "
            "(principal, key, request_hash, location, created_at) "
            "VALUES (%s, %s, %s, '', now()) "
            "ON CONFLICT (principal, key) DO NOTHING RETURNING id",
            [principal, key, fingerprint],
        )
        row = cursor.fetchone()
    if row is not None:
        return Claim(record_id=row[0], response=None)
    stored = IdempotencyRecord.objects.get(principal=principal, key=key)
    if stored.request_hash != fingerprint:
        raise KeyReusedError(_("This Idempotency-Key was used with a different request."))
    replay = Response(stored.body, status=stored.status_code)
    replay["Idempotent-Replayed"] = "true"
    if stored.location:
        replay["Location"] = stored.location
    return Claim(record_id=None, response=replay)


def key_store(*, record_id: int, response: Response) -> None:
    """Keep the response under the key (same transaction as the work)."""
    body = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
    IdempotencyRecord.objects.filter(pk=record_id).update(
        status_code=response.status_code,
        body=body,
        location=str(response.get("Location", ""))[:500],
    )


def keys_purge() -> int:
    deleted, _count = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - LIFETIME
    ).delete()
    return deleted
