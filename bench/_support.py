"""Shared helpers for the benchmarks in ``bench/``.

Every benchmark sets up what it needs and stops what it started: a fresh database of its
own on the app's Postgres server, a gunicorn started against it, a closed-loop HTTP load
aimed at 127.0.0.1 only. The benchmark prints its figures as one JSON object, last.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ensure_importable() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


# --- Servers ---------------------------------------------------------------------------


def server_database_url() -> str:
    """The app's database URL: ``DATABASE_URL``, or the embedded pgserver's."""
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return url
    _ensure_importable()
    from leadflow import devservices

    return devservices.database_url()


def redis_url() -> str:
    """The app's Redis: ``REDIS_URL``, or the embedded one (a ``unix://`` URL)."""
    url = os.environ.get("REDIS_URL", "")
    if url:
        return url
    _ensure_importable()
    from leadflow import devservices

    return devservices.redis_url()


def with_database_name(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server (query, e.g. host=, kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        # Terminate first: a gunicorn worker or this process may still hold a connection,
        # and DROP DATABASE refuses while anyone is connected (FORCE covers the race).
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.contextmanager
def bench_database(name: str) -> Iterator[str]:
    """Create database ``name`` on the app's server, migrate it, yield its URL, drop it.

    A database left over by a crashed run of the same benchmark is dropped first.
    """
    if not _DB_NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    import psycopg
    from psycopg import sql

    server_url = server_database_url()
    # The maintenance database always exists, whatever the app's database is called.
    admin_url = with_database_name(server_url, "postgres")
    url = with_database_name(server_url, name)
    _drop_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url()}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        yield url
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        _drop_database(admin_url, name)


def django_setup(database_url: str) -> None:
    """Configure Django in this process against ``database_url``, to make fixtures."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadflow.settings"
    _ensure_importable()
    import django

    django.setup()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def production_env() -> dict[str, str]:
    """Settings that make the app run as in production (``DEBUG=false``), on plain HTTP."""
    import secrets

    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }


def collectstatic(env: Mapping[str, str]) -> None:
    """Build ``STATIC_ROOT`` (gitignored) as a deployment does: with ``DEBUG=false`` the
    manifest storage refuses ``{% static %}`` for files it has not collected."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    port: int
    log_file: IO[bytes]

    def log_tail(self, lines: int = 40) -> str:
        self.log_file.flush()
        text = Path(self.log_file.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _health_ok(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/health/")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextlib.contextmanager
def start_gunicorn(
    env: Mapping[str, str],
    *,
    workers: int = 2,
    threads: int = 1,
    port: int | None = None,
    startup_timeout: float = 60,
) -> Iterator[Gunicorn]:
    """Run ``leadflow.wsgi`` in gunicorn until ``/health/`` answers 200.

    ``threads`` above 1 makes gunicorn's workers threaded (``gthread``): a worker then
    serves another request while one waits for Postgres or Redis.

    ``env`` is laid over this process's environment. Gunicorn's own output (errors and
    Django's warnings) goes to a temporary file; ``log_tail()`` reads it. The access log
    stays off (gunicorn's default), so that logging does not weigh on the figures.
    """
    port = port or free_port()
    log_file = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log")  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "leadflow.wsgi:application",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "10",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    server = Gunicorn(process=process, port=port, log_file=log_file)
    try:
        deadline = time.monotonic() + startup_timeout
        while not _health_ok(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"gunicorn did not answer /health/ on port {port}:\n{server.log_tail()}"
                )
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log_file.close()


# --- Load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def form_post(
    path: str, fields: Mapping[str, str], headers: Mapping[str, str] | None = None
) -> Request:
    """A browser-like form submission (``application/x-www-form-urlencoded``)."""
    return Request(
        "POST",
        path,
        urlencode(fields).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )


@dataclass
class LoadResult:
    latencies: list[float]  # seconds, one per request that got an answer
    wall: float  # seconds from the first request sent to the last answer read
    statuses: Counter[int]
    failures: list[str]  # unexpected answers and transport errors, one line each
    client_cpu: float  # CPU seconds the load generator (this process) spent meanwhile

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Answers per second of wall time."""
        return self.count / self.wall if self.wall else 0.0

    def percentile_ms(self, pct: float) -> float:
        return percentile(self.latencies, pct) * 1000


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 5,000 is the 4,950th value)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def run_load(
    port: int,
    requests: Sequence[Request],
    *,
    concurrency: int,
    expect: Callable[[int, bytes], bool] = lambda status, _body: 200 <= status < 300,
    timeout: float = 30,
) -> LoadResult:
    """Send ``requests`` to 127.0.0.1:``port`` from ``concurrency`` threads, closed loop.

    Each thread keeps one ``http.client`` connection and sends its next request as soon as
    the previous answer is read. The connection reopens by itself when the server closes
    it (gunicorn's sync workers close after every response), so connect time is part of
    each latency, as it is for a browser posting a form.
    """
    next_index = iter(range(len(requests)))
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    start = threading.Barrier(concurrency + 1)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        mine: list[float] = []
        mine_status: Counter[int] = Counter()
        mine_failed: list[str] = []
        start.wait()
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            req = requests[index]
            began = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=req.body, headers=dict(req.headers))
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                mine_failed.append(f"{req.method} {req.path}: {exc!r}")
                continue
            mine.append(time.perf_counter() - began)
            mine_status[response.status] += 1
            if not expect(response.status, body):
                mine_failed.append(f"{req.method} {req.path}: {response.status} {body[:200]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(mine_status)
            failures.extend(mine_failed)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    cpu_before = time.process_time()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return LoadResult(
        latencies=latencies,
        wall=wall,
        statuses=statuses,
        failures=failures,
        client_cpu=time.process_time() - cpu_before,
    )


# --- Where the CPU went ----------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; the fields after its closing parenthesis do not.
    return text.rsplit(")", 1)[1].split()


def _pid_cpu(pid: int) -> float | None:
    fields = _proc_stat(pid)
    # utime and stime: fields 14 and 15 of /proc/<pid>/stat.
    return (int(fields[11]) + int(fields[12])) / _TICK if fields else None


def process_children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux ``/proc``)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            children.extend(int(child) for child in task.read_text().split())
    return children


@contextlib.contextmanager
def postgres_backends(database_url: str) -> Iterator[Callable[[], list[int]]]:
    """Yield a function listing the pids of the server processes serving the database of
    ``database_url`` (other databases on the server, e.g. the test suite's, are left out).
    Meaningful only when Postgres runs on this machine."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:

        def pids() -> list[int]:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
            return [int(row[0]) for row in rows]

        yield pids


class CpuMeter:
    """CPU seconds used by a changing set of processes while the ``with`` block runs.

    ``pids`` is asked for the processes every ``interval`` seconds; a process's CPU
    counter only grows, so its last reading minus its first (or zero, for a process born
    during the block) is what it used. A process that exits loses at most its last
    ``interval`` of work. Linux only (``/proc``); 0.0 elsewhere.
    """

    def __init__(self, pids: Callable[[], Iterable[int]], interval: float = 0.25) -> None:
        self._pids = pids
        self._interval = interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.seconds = 0.0

    def _sample(self, *, baseline: bool = False) -> None:
        for pid in self._pids():
            used = _pid_cpu(pid)
            if used is None:
                continue
            self._first.setdefault(pid, used if baseline else 0.0)
            self._last[pid] = used

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._sample(baseline=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.seconds = sum(self._last[pid] - self._first[pid] for pid in self._last)


def redis_cpu(url: str) -> float:
    """CPU seconds the Redis server has used so far (``INFO cpu``)."""
    import redis

    with redis.Redis.from_url(url) as client:
        info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (all processes, all CPUs; ``/proc/stat``).

    Take two readings around a run and subtract what the benchmark's own processes used:
    the rest is other work sharing the CPUs, which makes the figures noisy.
    """
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICK
