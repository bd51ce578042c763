"""INSERT statements built from a model's fields, for the few hot paths that must say in
one statement what the ORM would say in several (queues.numbering: a token and its event
with the number; appointments: a patient found or registered, a slot taken or not).

The SQL text depends only on the model and the database, so callers build it once
(functools.cache) and pass only the parameters per call, in `insert_fields` order.
"""

import functools

from django.db import connection
from django.db.models import Model


def insert_fields(model: type[Model], computed=()) -> tuple:
    """The concrete fields passed as parameters (all but the primary key and the
    `computed` attnames), in column order."""
    return tuple(
        f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in computed
    )


def insert_params(obj: Model, fields: tuple) -> list:
    """The parameters for `obj`'s row, as Model.save would send them (pre_save fills
    auto_now_add and the like)."""
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def insert_sql(
    model: type[Model], computed: dict[str, str] | None = None, select_from="", rows=1
) -> str:
    """INSERT of every concrete column but the primary key: a placeholder per field of
    insert_fields(model, computed), the given SQL for the `computed` columns, `rows`
    rows. With `select_from`, INSERT ... SELECT from that relation (the rows joined by
    UNION ALL, which both databases insert in the order written); else INSERT ...
    VALUES."""
    computed = computed or {}
    qn = connection.ops.quote_name
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        names.append(qn(field.column))
        values.append(computed.get(field.attname, "%s"))
    head = f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(names)})"
    if select_from:
        select = f"SELECT {', '.join(values)} FROM {select_from}"
        return f"{head} {' UNION ALL '.join([select] * rows)}"
    row = f"({', '.join(values)})"
    return f"{head} VALUES {', '.join([row] * rows)}"


@functools.cache
def _returning_insert_sql(model: type[Model], rows: int, suffix: str) -> str:
    pk = connection.ops.quote_name(model._meta.pk.column)
    return " ".join(filter(None, [insert_sql(model, rows=rows), suffix, f"RETURNING {pk}"]))


def insert(objs: list[Model], suffix="") -> bool:
    """Insert `objs` (all of one model) in one ready-made statement, the SQL built once
    per model, row count and `suffix` (e.g. "ON CONFLICT DO NOTHING"): what
    bulk_create does, without building the query each time. Sets each object's primary
    key; False when the database inserted nothing (a conflict the suffix let pass)."""
    model = type(objs[0])
    fields = insert_fields(model)
    params = [param for obj in objs for param in insert_params(obj, fields)]
    with connection.cursor() as cursor:
        cursor.execute(_returning_insert_sql(model, len(objs), suffix), params)
        pks = cursor.fetchall()
    if not pks:
        return False
    # Both databases return the rows of a VALUES list in its order (bulk_create relies
    # on the same).
    for obj, (pk,) in zip(objs, pks, strict=True):
        mark_inserted(obj, pk)
    return True


def mark_inserted(obj: Model, pk) -> None:
    """Make `obj` what Model.save would have left: its primary key set, known to be in
    the database (so related objects can point at it, and a later save updates)."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
