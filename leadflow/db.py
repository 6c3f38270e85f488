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

from django.conf import settings

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
