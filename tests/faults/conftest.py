"""Servers that the fault tests may stop, kill and restart.

The shared Postgres (5432) and Redis (6379) serve other test runs at the same time: a fault
test never touches them. It starts a Redis of its own, or a Postgres cluster of its own,
and web, worker and beat processes pointed at those.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings

from bench._support import collectstatic, free_port, production_env
from tests.conftest import ARTIFACTS, ROOT, database_url

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def record(test: str, **figures: object) -> None:
    """Keep a fault test's measured figures in ``test-artifacts/faults.jsonl``."""
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / "faults.jsonl").open("a") as out:
        out.write(json.dumps({"test": test, "at": time.time(), **figures}) + "\n")


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class RedisServer:
    """A throwaway ``redis-server`` on a free loopback port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        wait_until(lambda: _redis_ping(client), timeout=10, what="redis-server")

    def freeze(self) -> None:
        """Still listening, answering nothing: a hung server or a partitioned network."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Gone at once, as after a crash: no clean shutdown, nothing saved."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()
        self.process = None


def _redis_ping(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Processes:
    """Celery workers and beats started by a test; all stopped at its end."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = {**os.environ, **env}
        self.started: list[subprocess.Popen[bytes]] = []
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = (ARTIFACTS / "faults.log").open("ab")
        self.state = Path(tempfile.mkdtemp(prefix="leadflow-faults-"))

    def _start(self, args: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "leadflow", *args],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def worker(self, *, pool: str = "solo") -> subprocess.Popen[bytes]:
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        extra = ["--concurrency=1"] if pool == "prefork" else []
        return self._start(
            [
                "worker",
                "-Q",
                queue,
                f"--pool={pool}",
                *extra,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ]
        )

    def beat(self) -> subprocess.Popen[bytes]:
        return self._start(
            ["beat", "--schedule", str(self.state / "beat-schedule"), "--loglevel=INFO"]
        )

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.log.close()
        shutil.rmtree(self.state, ignore_errors=True)


def app_env(*, redis_url: str, db_url: str | None = None) -> dict[str, str]:
    """What web, worker and beat processes of a fault test are told: production settings
    (persistent connections, the real error pages), this test run's database and queue."""
    return {
        **production_env(),
        "DJANGO_SETTINGS_MODULE": "leadflow.settings",
        "DATABASE_URL": db_url or database_url(),
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        # Every request comes from 127.0.0.1, and the webhooks go to a receiver there.
        "LEADFLOW_CAPTURE_RATE_PER_IP": "0",
        "LEADFLOW_CAPTURE_RATE_PER_FORM": "0",
        "LEADFLOW_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        # Notification emails go to the process's log, not to an SMTP server.
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    }


@pytest.fixture(scope="session")
def static_files() -> None:
    """Production settings serve the collected static files (the manifest must be there)."""
    collectstatic(
        {**production_env(), "DATABASE_URL": "postgres://unused/x", "REDIS_URL": "redis://unused"}
    )


@pytest.fixture
def processes() -> Iterator[type[Processes]]:
    made: list[Processes] = []

    class Tracked(Processes):
        def __init__(self, env: Mapping[str, str]) -> None:
            super().__init__(env)
            made.append(self)

    yield Tracked
    for group in made:
        group.stop_all()


PG_BIN = (
    Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
    if Path("/usr/lib/postgresql").exists()
    else Path("/usr/bin")
)


class PostgresCluster:
    """A throwaway Postgres cluster on a free loopback port, in a temporary folder.

    Postgres refuses to run as root: as root, its commands run as the ``postgres`` user.
    """

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="leadflow-pg-"))
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/leadflow"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.dir / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c max_connections=50"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.dir / "data"),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        """A fast shutdown: open transactions are rolled back, clients cut off."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(
                str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"
            )
        shutil.rmtree(self.dir, ignore_errors=True)

    def load_from(self, source_url: str) -> None:
        """Create database ``leadflow`` as a copy of ``source_url``'s (schema and rows)."""
        admin = self.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE leadflow")
        dump = subprocess.run(
            [str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges", source_url],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url],
            input=dump.stdout,
            check=True,
            capture_output=True,
            timeout=120,
        )


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.destroy()
