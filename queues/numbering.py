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

from django.db import connection
from django.db.models import Model

from hospital.models import Department
from queues.models import Token, TokenCounter, TokenEvent


def _columns(obj: Model, computed: dict[str, str]) -> tuple[list[str], list[str], list]:
    """Every concrete column of `obj` but the primary key: quoted names, SQL value
    expressions (a placeholder, or the given SQL for the columns in `computed`), params."""
    qn = connection.ops.quote_name
    names, values, params = [], [], []
    for field in obj._meta.concrete_fields:
        if field.primary_key:
            continue
        names.append(qn(field.column))
        if field.attname in computed:
            values.append(computed[field.attname])
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
    return names, values, params


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


def insert_numbered(token: Token, event: TokenEvent) -> bool:
    """Number and insert `token` and its ISSUED `event`, and move the department's
    version on. Sets token.pk and token.number; False (and nothing written) when the
    counter refused a number."""
    bump_params = [
        token.department_id,
        connection.ops.adapt_datefield_value(token.service_date),
        token.department_id,
    ]
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        t_names, t_values, t_params = _columns(token, {"number": "n.last"})
        e_names, e_values, e_params = _columns(
            event, {"token_id": "t.id", "token_number": "t.number"}
        )
        sql = (
            f"WITH n AS ({_bump_sql()}), "
            f"t AS (INSERT INTO {qn(Token._meta.db_table)} ({', '.join(t_names)}) "
            f"SELECT {', '.join(t_values)} FROM n RETURNING id, number), "
            f"e AS (INSERT INTO {qn(TokenEvent._meta.db_table)} ({', '.join(e_names)}) "
            f"SELECT {', '.join(e_values)} FROM t), "
            f"v AS ({_version_sql()} AND EXISTS (SELECT 1 FROM t)) "
            "SELECT id, number FROM t"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*bump_params, *t_params, *e_params, token.department_id])
            row = cursor.fetchone()
        if row is None:
            return False
        token.pk, token.number = row
    else:
        with connection.cursor() as cursor:
            cursor.execute(_bump_sql(), bump_params)
            row = cursor.fetchone()
            if row is None:
                return False
            token.number = row[0]
            cursor.execute(*_insert_sql(token, "RETURNING id"))
            token.pk = cursor.fetchone()[0]
            event.token_id, event.token_number = token.pk, token.number
            cursor.execute(*_insert_sql(event))
            cursor.execute(_version_sql(), [token.department_id])
    token._state.adding = False
    token._state.db = connection.alias
    return True


def _insert_sql(obj: Model, suffix: str = "") -> tuple[str, list]:
    names, values, params = _columns(obj, {})
    table = connection.ops.quote_name(obj._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(values)}) {suffix}"
    return sql, params
