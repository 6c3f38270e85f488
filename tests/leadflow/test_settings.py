"""The configuration that keeps work from being lost or requests from hanging."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from leadflow.celery import app
from tests.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "crm.example.com",
    "REDIS_URL": "redis://redis.example.com:6379/0",
}


def test_celery_is_configured_to_lose_nothing_and_hang_nowhere():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_time_limit
    assert conf.task_soft_time_limit < conf.task_time_limit
    options = conf.broker_transport_options
    assert options["visibility_timeout"] > conf.task_time_limit
    assert options["socket_timeout"] <= 5
    assert options["socket_connect_timeout"] <= 5
    assert conf.broker_connection_timeout <= 5
    assert conf.task_publish_retry_policy["max_retries"] <= 1


def test_the_beat_schedule_runs_the_sweeper_every_half_minute():
    schedule = settings.CELERY_BEAT_SCHEDULE["sweep-unscored-leads"]
    assert schedule["task"] == "marketing.sweep_unscored_leads"
    assert schedule["schedule"] == 30.0
    app.autodiscover_tasks(force=True)  # what a worker does at start
    assert "marketing.sweep_unscored_leads" in app.tasks


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # System checks ask the database server for its features: give them a real one.
    env = {"DATABASE_URL": database_url(), **env}
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION_ENV and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "leadflow.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_refuses_to_start_without_a_real_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _run("import django; django.setup()", env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_a_database_url():
    result = _run("import django; django.setup()", {**PRODUCTION_ENV, "DATABASE_URL": ""})
    assert "DATABASE_URL is required" in result.stderr


def test_check_deploy_is_clean_with_production_values():
    result = _run(
        "import django; django.setup(); from django.core.management import call_command;"
        "call_command('check', '--deploy', '--fail-level', 'WARNING')",
        PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_unix_socket_redis_becomes_a_kombu_socket_url():
    from leadflow.settings import _celery_broker_url

    assert _celery_broker_url("unix:///tmp/r.sock") == "redis+socket:///tmp/r.sock"
    assert _celery_broker_url("redis://h:6379/0") == "redis://h:6379/0"


def test_static_files_collect_with_the_production_storage(tmp_path):
    """Manifest storage refuses files that reference missing ones (a stray source map);
    the production image runs collectstatic, so this must pass."""
    from django.core.management import call_command
    from django.test import override_settings

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, STATIC_ROOT=tmp_path):
        call_command("collectstatic", "--no-input", verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()


POOL_PROBE = """
import threading

import django

django.setup()
from django.db import connection, connections

pids = set()


def work():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pids.add(cursor.fetchone()[0])
    connections.close_all()  # back to the pool


threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(connection.settings_dict["CONN_MAX_AGE"], connection.pool.max_size, len(pids) <= 2)
"""


def test_db_pool_max_size_shares_a_pool_of_connections_between_a_process_threads():
    result = _run(POOL_PROBE, {"DB_POOL_MAX_SIZE": "2"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "2", "True"]
