"""The few test overrides on top of leadflow.settings."""

import os

from leadflow.settings import *  # noqa: F403

# Each test process gets its own Celery queue, so a worker started by one test run never
# takes another's tasks (nor a `make run` worker the tests').
# A worker started by the tests is told its test run's queue, so that the tasks it
# enqueues itself (webhook deliveries) stay on that queue too.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("LEADFLOW_TEST_QUEUE") or f"leadflow-test-{os.getpid()}"
# Fast hashing: tests log in hundreds of times.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Live-server threads must not keep connections open past a test (teardown drops the DB).
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Several checkouts or people on one server: LEADFLOW_TEST_DB keeps their test databases apart.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("LEADFLOW_TEST_DB", "test_leadflow")}  # noqa: F405
# Every test client posts from 127.0.0.1, and test runs share one Redis: the rate-limit
# tests set their own low limits and addresses.
LEADFLOW_CAPTURE_RATE_PER_IP = 100_000
LEADFLOW_CAPTURE_RATE_PER_FORM = 100_000
# The webhook tests deliver to a receiver on this machine.
LEADFLOW_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
