"""Read-replica routing: heavy reads go to ``DATABASE_REPLICA_URL`` when it is set.

Only code that asks for it reads from the replica (``with replica_reads(): ...``): the KPI
selectors, whose figures may lag the primary by the replica's delay. Everything else keeps
read-your-writes on the primary, and every write goes there. Without a replica configured,
``replica_reads()`` changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

REPLICA = "replica"

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Send the ORM's reads inside this block to the replica, when there is one."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def read_alias() -> str:
    """The alias that reads go to here and now (for raw SQL: ``connections[read_alias()]``)."""
    return REPLICA if _replica_reads.get() and REPLICA in settings.DATABASES else "default"


class ReplicaRouter:
    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two ways in

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"


class _PreparingCursor(psycopg.Cursor[Any]):
    """A psycopg cursor that binds on the server and prepares every statement it runs."""

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        return super().execute(query, params, **{**options, "prepare": True})


def prepared_fetchone(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run ``sql`` on the default connection as a server-side prepared statement and return
    its first row.

    Django binds parameters on the client, so Postgres parses and plans every statement
    anew. For a hot statement whose planning costs more than running it (the pool claim,
    the two statements of a form capture: CTEs planned in about a millisecond, executed in
    a fraction of one), this prepares it once per connection and then only executes it.
    The cursor is wrapped as Django wraps its own, so the statement runs inside the
    connection's execute wrappers, shows in ``connection.queries`` while queries are
    logged, and raises Django's exceptions. Parameters are bound on the server: a name may
    be missing from ``sql`` but not from ``params``, and ``%%`` is a literal ``%``. Behind
    PgBouncer in transaction mode, this needs PgBouncer 1.21 or later with
    ``max_prepared_statements`` set.
    """
    connection = connections["default"]
    connection.ensure_connection()
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    with wrapper(_PreparingCursor(connection.connection), connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
