"""A database that cannot be reached is a 503 with Retry-After, not a 500: in the API's
error shape under /api/, plain text elsewhere (the page templates need the database)."""

from __future__ import annotations

import json

from django.db import OperationalError
from django.test import RequestFactory
from rest_framework.exceptions import NotFound

from leadflow.api.errors import api_exception_handler, api_server_error
from leadflow.errors import database_unavailable


def test_only_connection_trouble_counts_as_unavailable():
    assert database_unavailable(OperationalError("connection refused"))
    assert not database_unavailable(ValueError("a bug"))
    assert not database_unavailable(None)


def test_the_500_handler_answers_503_while_a_database_error_is_handled():
    request = RequestFactory().get("/leads/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = api_server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    try:
        raise ValueError("a bug")
    except ValueError:
        assert api_server_error(request).status_code == 500


def test_the_api_answers_503_in_its_error_shape():
    api_request = RequestFactory().get("/api/v1/leads/")
    try:
        raise OperationalError("the database system is starting up")
    except OperationalError:
        page = api_server_error(api_request)
    assert page.status_code == 503
    assert json.loads(page.content)["code"] == "unavailable"

    response = api_exception_handler(OperationalError("gone"), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.data["code"] == "unavailable"
    assert api_exception_handler(NotFound(), {}).status_code == 404
