"""Browser tests: Debian's Chromium through Playwright, and a real Celery worker process."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from tests.conftest import ARTIFACTS, celery_worker  # noqa: F401 -- shared fixture

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # Generous waits: CI machines have two cores shared by the worker, the live server,
    # the browser and a second test process.
    expect.set_options(timeout=15_000)
    serialized = getattr(connections[DEFAULT_DB_ALIAS], "_test_serialized_contents", None)
    with sync_playwright() as playwright:
        # With that loop running, Django keeps this thread's connections in a context
        # variable: a new connection object, which lacks the data that serialized_rollback
        # restores before each browser test. Without it, a browser test that follows
        # another transactional test would start on an empty database.
        if serialized is not None:
            connections[DEFAULT_DB_ALIAS]._test_serialized_contents = serialized  # type: ignore[attr-defined]
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def wait_for(condition, timeout: float = 30.0, interval: float = 0.2):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
