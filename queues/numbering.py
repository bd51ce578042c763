"""Issuing a token in as few statements as the database allows.

The day's counter row is the numbering lock: `UPDATE ... SET last = last + 1` takes it,
and it is held until commit, so every issuer of a department queues on it. Whatever runs
between the bump and the commit is time the whole department waits. Under fifty kiosks,
with the ORM building each statement while holding the lock (and waiting for the GIL
behind other requests to do it), that wait set the pace: about 8 ms per token.

So everything is prepared first, and the locked part is only ready-made SQL:

- PostgreSQL: one statement. The bump, the token, its ISSUED event and the department's
  version bump are one `WITH ... INSERT ... SELECT` (data-modifying CTEs); outside a
  transaction it commits on its own, and the lock is held for the statement alone.
- SQLite: its write lock covers the database anyway (`BEGIN IMMEDIATE`), so the same four
  statements run back to back, with nothing but the cursor between them.

The bump only happens if the department is active and under its daily limit; when no
number comes back, `issue_token` finds out why (no counter row yet, inactive, full).
"""

import functools

from django.db import connection

from hospital.models import Department
from hospital.sql import insert_fields, insert_params, insert_sql, mark_inserted
from queues.models import Token, TokenCounter, TokenEvent


def _bump_sql() -> str:
    counter = connection.ops.quote_name(TokenCounter._meta.db_table)
    department = connection.ops.quote_name(Department._meta.db_table)
    return (
        f"UPDATE {counter} SET last = last + 1 "
        "WHERE department_id = %s AND service_date = %s AND EXISTS ("
        f"SELECT 1 FROM {department} d WHERE d.id = %s AND d.is_active "
        f"AND (d.daily_token_limit IS NULL OR {counter}.last < d.daily_token_limit)"
        ") RETURNING last"
    )


def _version_sql() -> str:
    department = connection.ops.quote_name(Department._meta.db_table)
    return f"UPDATE {department} SET state_version = state_version + 1 WHERE id = %s"


# The statements depend only on the models and the database, so they are built once.
@functools.cache
def _postgresql_statement() -> tuple[str, tuple, tuple]:
    token_computed = {"number": "n.last"}
    event_computed = {"token_id": "t.id", "token_number": "t.number"}
    sql = (
        f"WITH n AS ({_bump_sql()}), "
        f"t AS ({insert_sql(Token, token_computed, 'n')} RETURNING id, number), "
        f"e AS ({insert_sql(TokenEvent, event_computed, 't')}), "
        f"v AS ({_version_sql()} AND EXISTS (SELECT 1 FROM t)) "
        "SELECT id, number FROM t"
    )
    return sql, insert_fields(Token, token_computed), insert_fields(TokenEvent, event_computed)


@functools.cache
def _sqlite_statements() -> tuple[str, str, tuple, str, tuple]:
    token_sql = insert_sql(Token) + " RETURNING id"
    event_sql = insert_sql(TokenEvent)
    return _bump_sql(), token_sql, insert_fields(Token), event_sql, insert_fields(TokenEvent)


def insert_numbered(token: Token, event: TokenEvent) -> bool:
    """Number and insert `token` and its ISSUED `event`, and move the department's
    version on. Sets token.pk and token.number; False (and nothing written) when the
    counter refused a number."""
    bump_params = [
        token.department_id,
        connection.ops.adapt_datefield_value(token.service_date),
        token.department_id,
    ]
    if connection.vendor == "postgresql":
        sql, token_fields, event_fields = _postgresql_statement()
        params = [
            *bump_params,
            *insert_params(token, token_fields),
            *insert_params(event, event_fields),
            token.department_id,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return False
        token_id, token.number = row
    else:
        bump_sql, token_sql, token_fields, event_sql, event_fields = _sqlite_statements()
        with connection.cursor() as cursor:
            cursor.execute(bump_sql, bump_params)
            row = cursor.fetchone()
            if row is None:
                return False
            token.number = row[0]
            cursor.execute(token_sql, insert_params(token, token_fields))
            token_id = cursor.fetchone()[0]
            event.token_id, event.token_number = token_id, token.number
            cursor.execute(event_sql, insert_params(event, event_fields))
            cursor.execute(_version_sql(), [token.department_id])
    mark_inserted(token, token_id)
    return True
