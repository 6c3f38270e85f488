"""Upload limits: a file past LEADFLOW_MAX_IMPORT_BYTES is not read to the end, and the
person (or the integration) is told why; files that are not CSV are refused by type."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from django.urls import reverse
from rest_framework.test import APIClient

from leadflow.api.tokens import token_create
from leadflow.uploads import SizeLimitUploadHandler
from marketing.models import ImportJob
from tests.conftest import login

pytestmark = pytest.mark.django_db

BIG = b"Email\n" + b"someone@example.com\n" * 60_000  # 1.2 MB


def test_the_handler_stops_reading_a_file_as_soon_as_it_passes_the_limit(settings):
    settings.LEADFLOW_MAX_IMPORT_BYTES = 100
    handler = SizeLimitUploadHandler()
    assert handler.receive_data_chunk(b"x" * 60, 0) == b"x" * 60
    with pytest.raises(StopUpload) as stopped:
        handler.receive_data_chunk(b"x" * 60, 60)
    assert stopped.value.connection_reset


def test_the_upload_page_does_not_keep_an_oversized_file_and_says_why(cast, settings):
    settings.LEADFLOW_MAX_IMPORT_BYTES = 1024
    response = login(cast.marketer).post(
        reverse("marketing:imports"),
        {"file": SimpleUploadedFile("big.csv", BIG, content_type="text/csv"), "mode": "update"},
    )
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert response.wsgi_request.FILES.get("file") is None  # never written out
    assert not ImportJob.objects.exists()


def test_the_api_answers_413_before_reading_an_oversized_file(cast, settings):
    settings.LEADFLOW_MAX_IMPORT_BYTES = 1024
    client = APIClient()
    token = token_create(
        created_by=cast.admin, user=cast.marketer, name="crm", scopes=["leads:write"]
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.raw}")
    response = client.post(
        reverse("api:imports"),
        {"file": SimpleUploadedFile("big.csv", BIG, content_type="text/csv")},
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "larger than" in response.json()["message"]
    assert not ImportJob.objects.exists()


def test_the_api_refuses_a_workbook_by_type(cast):
    client = APIClient()
    token = token_create(
        created_by=cast.admin, user=cast.marketer, name="crm", scopes=["leads:write"]
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.raw}")
    response = client.post(
        reverse("api:imports"),
        {"file": SimpleUploadedFile("leads.xlsx", b"PK\x03\x04zip", content_type="text/csv")},
        format="multipart",
    )
    assert response.status_code == 400
    assert "workbook" in response.json()["message"]
    assert not ImportJob.objects.exists()
