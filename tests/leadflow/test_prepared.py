"""``prepared_fetchone``: the same rows as Django's cursor, prepared once per connection,
seen by Django's query log and execute wrappers, and Django's exceptions on error."""

import pytest
from django.db import DataError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from leadflow.db import prepared_fetchone

pytestmark = pytest.mark.django_db

SQL = "SELECT %(a)s::int + %(b)s::int"


def test_a_prepared_statement_answers_like_a_plain_one_and_is_planned_once():
    rows = [prepared_fetchone(SQL, {"a": n, "b": 1}) for n in range(3)]
    assert rows == [(1,), (2,), (3,)]
    with connection.cursor() as cursor:
        # This session's protocol-level statements: ours is there, once, in server form.
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements "
            "WHERE NOT from_sql AND statement = 'SELECT $1::int + $2::int'"
        )
        assert cursor.fetchone()[0] == 1


def test_an_error_is_djangos():
    with pytest.raises(DataError):
        prepared_fetchone("SELECT 1 / %(zero)s::int", {"zero": 0})


def test_it_is_logged_and_wrapped_like_any_statement_of_djangos():
    seen = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as logged, connection.execute_wrapper(spy):
        assert prepared_fetchone(SQL, {"a": 2, "b": 3}) == (5,)
    assert seen == [SQL]
    assert [query["sql"] for query in logged.captured_queries] == [
        f"QUERY = {SQL!r} - PARAMS = {{'a': 2, 'b': 3}}"
    ]


def test_it_refuses_to_run_in_a_broken_transaction():
    with transaction.atomic():
        connection.needs_rollback = True  # as after an error caught inside the block
        with pytest.raises(TransactionManagementError):
            prepared_fetchone(SQL, {"a": 1, "b": 1})
