"""The OpenAPI schema: generated without warnings, and the API honours it (schemathesis
sends generated requests to a live server; no 5xx, no response outside the schema)."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leadflow.api.scopes import SCOPES
from leadflow.api.tokens import token_create
from tests.factories import CampaignFactory, FormFactory, LeadFactory


def test_the_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn: an undocumented field or an unresolvable type fails the build.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "s.yaml"))
    assert "/api/v1/leads/batch/" in (tmp_path / "s.yaml").read_text()


@pytest.mark.django_db
def test_the_docs_are_served_without_a_cdn(client):
    page = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in page
    assert "cdn" not in page.lower()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_api_honours_its_schema(live_server, cast):
    made = token_create(created_by=cast.admin, user=cast.admin, name="fuzz", scopes=list(SCOPES))
    campaign = CampaignFactory()
    FormFactory(campaign=campaign)
    LeadFactory(campaign=campaign)
    headers = {"Authorization": f"Bearer {made.raw}"}
    api_schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/")
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 25
    for operation in operations:
        # A bounded number of generated requests per operation, the same on every run.
        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=live_server.url, headers=headers, checks=CHECKS)

        check()


def test_every_operation_has_a_success_example(tmp_path):
    call_command("spectacular", "--format", "openapi-json", "--file", str(tmp_path / "s.json"))
    document = json.loads((tmp_path / "s.json").read_text())
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            examples = [
                media.get("examples")
                for code, response in operation["responses"].items()
                if code.startswith("2")
                for media in response.get("content", {}).values()
            ]
            if not any(examples) and "text/csv" not in str(operation["responses"]):
                missing.append(f"{method.upper()} {path}")
    assert missing == []
