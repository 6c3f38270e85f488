from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client, TestCase, TransactionTestCase

from leadflow.models import Role, Team, User
from tests.factories import PASSWORD, QualificationRuleFactory, TeamFactory, UserFactory

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


def _transactional(item: pytest.Item) -> bool:
    """Does this test end with a flush of every table (a TransactionTestCase)?"""
    cls = getattr(item, "cls", None)
    if cls is not None and issubclass(cls, TransactionTestCase):
        return not issubclass(cls, TestCase)
    marker = item.get_closest_marker("django_db")
    names = getattr(item, "fixturenames", ())
    return bool(
        (marker is not None and marker.kwargs.get("transaction"))
        or "transactional_db" in names
        or "live_server" in names
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every transactional pytest test rolls back by serialization. A plain one ends with a
    flush that recreates the content types under new ids, and the next serialized test
    then fails to load its snapshot (a duplicate content type); serialized tests flush
    without that, and each loads the migrations' rows (default pipeline, SLA tiers, scoring
    rules) back before it runs."""
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None or getattr(item, "cls", None) is not None or not _transactional(item):
            continue
        if "django_db_serialized_rollback" not in names:
            names.append("django_db_serialized_rollback")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a transactional test's flush, the migrations' rows come back at once.

    A serialized test loads them before it runs, but the plain tests that follow it in the
    same process (xdist gives a worker whole files, in any mix) would find the default
    pipeline, the SLA tiers and the scoring rules gone. Loading saves by primary key, so
    the next serialized test's own load finds them in place and changes nothing."""
    yield
    contents = getattr(connection, "_test_serialized_contents", None)
    # After the last test the session's teardown has dropped the test database already.
    if contents and nextitem is not None and _transactional(item):
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            connection.creation.deserialize_db_from_string(contents)


@pytest.fixture(autouse=True)
def _webhook_subscriptions_forgotten() -> None:
    """A test's endpoints are rolled back, not deleted: forget what they subscribed."""
    from leadflow.api import webhooks

    webhooks.subscriptions_forget()


@dataclass
class Cast:
    """The named people of permission tests."""

    team: Team
    other_team: Team
    rep: User
    rep2: User
    other_rep: User
    marketer: User
    manager: User
    admin: User


@pytest.fixture
def cast(db: None) -> Cast:
    team = TeamFactory.create(name="East")
    other_team = TeamFactory.create(name="West")
    return Cast(
        team=team,
        other_team=other_team,
        rep=UserFactory.create(username="rep", role=Role.REP, team=team),
        rep2=UserFactory.create(username="rep2", role=Role.REP, team=team),
        other_rep=UserFactory.create(username="other_rep", role=Role.REP, team=other_team),
        marketer=UserFactory.create(username="marketer", role=Role.MARKETER),
        manager=UserFactory.create(username="manager", role=Role.MANAGER, team=team),
        admin=UserFactory.create(
            username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True
        ),
    )


@pytest.fixture
def rules(cast: Cast) -> list:
    """The demo's qualification rules: hot for fast track, standard for engaged B+ leads."""
    return [
        QualificationRuleFactory(
            name="Hot: demo requests",
            position=0,
            fast_track_only=True,
            sla_tier="hot",
            team=cast.team,
        ),
        QualificationRuleFactory(
            name="Standard",
            position=1,
            max_grade="B",
            min_engagement=50,
            sla_tier="standard",
            team=cast.team,
        ),
    ]


@pytest.fixture
def scoring_rules(db: None) -> None:
    """The shipped scoring rules (marketing migrations 0002 and 0007). Under xdist a
    transactional test of another file may have flushed them from this database."""
    from importlib import import_module

    from django.apps import apps

    from marketing.models import ScoringRule

    if not ScoringRule.objects.exists():
        import_module("marketing.migrations.0002_default_scoring_rules").create_rules(apps, None)
        import_module("marketing.migrations.0007_contact_sales_rule").create_rule(apps, None)


def login(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def database_url() -> str:
    """A DATABASE_URL for the database this test process uses (for subprocesses)."""
    db = connection.settings_dict
    host = db.get("HOST") or ""
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{db['NAME']}?host={host}"
    return f"postgres://{user}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real worker process on this test run's own queue, against the test database."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    redis.Redis.from_url(settings.REDIS_URL).delete(queue)
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "worker.log").open("ab")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "leadflow",
            "worker",
            "-Q",
            queue,
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "LEADFLOW_TEST_QUEUE": queue,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield worker
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()
