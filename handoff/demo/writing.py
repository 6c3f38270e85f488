"""Bulk writing: ids drawn from a table's own sequence, and unsaved rows written with COPY."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models
from django.db.backends.utils import CursorWrapper
from psycopg import sql
from psycopg.types.json import Jsonb


class _Ids:
    """Ids from a table's own sequence, drawn in blocks; unused ones are ordinary gaps."""

    def __init__(self, cursor: CursorWrapper, model: type[models.Model]) -> None:
        self.cursor, self.table = cursor, model._meta.db_table
        self.free: list[int] = []

    def next(self) -> int:
        if not self.free:
            self.cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, 1000)",
                [self.table],
            )
            self.free = sorted((row[0] for row in self.cursor.fetchall()), reverse=True)
        return self.free.pop()


def _copy(cursor: CursorWrapper, rows: Sequence[models.Model]) -> int:
    """Write unsaved instances of one model with COPY: every concrete field as it is set on
    the instance (no ``auto_now``, no ``save()``); a primary key left None is the table's
    to assign."""
    if not rows:
        return 0
    meta = rows[0]._meta
    fields = [
        f
        for f in meta.concrete_fields
        if not (f.primary_key and rows[0].pk is None) and not getattr(f, "generated", False)
    ]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(meta.db_table),
        sql.SQL(", ").join(sql.Identifier(f.column or f.attname) for f in fields),
    )
    json = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
    with cursor.copy(statement) as copy:
        for row in rows:
            values = [getattr(row, f.attname) for f in fields]
            for i in json:
                values[i] = Jsonb(values[i])
            copy.write_row(values)
    return len(rows)
