"""Database helpers for hot paths: a one-row lookup compiled once, and a one-statement bulk UPDATE.

CompiledGet: a one-row ORM lookup whose SQL is compiled once per thread, for per-request hot paths.

Turning a QuerySet into SQL costs Python time proportional to the selected columns: for a
three-table select_related that is more CPU than PostgreSQL spends running the query. A lookup
made on every API call with the same shape (only the values change) compiles once per thread and
database, then binds new values. Rows become model instances exactly as QuerySet iteration makes
them (the fields' from_db_value converters, Model.from_db, select_related objects attached), and
the query still goes through Django's cursor (query logging, execute wrappers, assertNumQueries).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model
from django.db.models.fields import Field

# Builds the select_related objects of a row, as QuerySet iteration does (stable since Django 1.x).
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)


class _Compiled:
    """One thread's compiled statement and what turns its row into instances."""

    def __init__(self, model: type[Model], db: str, select_related: Sequence[str], values: dict):
        queryset = (
            model._default_manager.using(db)
            .select_related(*select_related)
            .filter(**values)
            .order_by()[:2]
        )
        compiler = queryset.query.get_compiler(using=db)
        self.connection = compiler.connection
        self.sql, params = compiler.as_sql()
        self.names = sorted(values)  # Q() orders keyword filters by name
        if list(params) != [values[name] for name in self.names]:
            raise RuntimeError(f"CompiledGet({model.__name__}): unexpected parameters {params!r}")
        klass_info, select = compiler.klass_info, compiler.select
        self.start, self.end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        self.converters = compiler.get_converters([column[0] for column in select])
        self.populators = get_related_populators(klass_info, select, db)


def _cursor(connection: Any) -> Any:
    """Django's cursor, binding parameters server-side on PostgreSQL when statements may be prepared.

    Django's default psycopg cursor binds client-side and so never prepares. With
    `DATABASES[...]["OPTIONS"]["prepare_threshold"]` set, a server-binding cursor lets psycopg
    prepare this lookup on the connection after that many executions: PostgreSQL then skips
    parsing and planning it (a three-table join costs more to plan than to run).
    """
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
    ):
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(ServerBindingCursor(connection.connection))


class CompiledGet(Generic[M]):
    """`Model.objects.select_related(...).get(<field>=<value>, ...)` with its SQL compiled once.

    The filters are exact matches on concrete fields (`pk`, `tenant_id`, ...); raises
    Model.DoesNotExist / MultipleObjectsReturned like QuerySet.get().
    """

    def __init__(self, model: type[M], *, fields: Sequence[str], select_related: Sequence[str]):
        self.model = model
        self.fields = tuple(fields)
        self.select_related = tuple(select_related)
        self._local = threading.local()

    def get(self, **values: Any) -> M:
        """The one row matching `values` (exactly the declared fields)."""
        if set(values) != set(self.fields):
            raise TypeError(f"expected the filters {sorted(self.fields)}, got {sorted(values)}")
        db = router.db_for_read(self.model)
        connection = connections[db]
        prepared = {name: self._prep(name, value, connection) for name, value in values.items()}
        cache: dict[str, _Compiled] = self._local.__dict__.setdefault("compiled", {})
        compiled = cache.get(db)
        # A compiler belongs to one connection wrapper (one per thread and database).
        if compiled is None or compiled.connection is not connection:
            compiled = cache[db] = _Compiled(self.model, db, self.select_related, prepared)
        with _cursor(connection) as cursor:
            cursor.execute(compiled.sql, [prepared[name] for name in compiled.names])
            rows = cursor.fetchall()
        if not rows:
            raise self.model.DoesNotExist(
                f"{self.model._meta.object_name} matching query does not exist."
            )
        if len(rows) > 1:
            raise self.model.MultipleObjectsReturned(
                f"get() returned more than one {self.model._meta.object_name}."
            )
        row = list(rows[0])
        for position, (converters, expression) in compiled.converters.items():
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        instance = self.model.from_db(db, compiled.init_list, row[compiled.start : compiled.end])
        for populator in compiled.populators:
            populator.populate(row, instance)
        return instance

    def _prep(self, name: str, value: Any, connection: Any) -> Any:
        field = self.model._meta.pk if name == "pk" else self.model._meta.get_field(name)
        return field.get_db_prep_value(value, connection, prepared=False)


def bulk_update_by_pk(objs: Sequence[Model], field_names: Sequence[str]) -> int:
    """Save `field_names` of many instances in one `UPDATE ... FROM (VALUES ...)`; returns rows.

    Django's bulk_update builds a `CASE WHEN pk = ... THEN ...` expression per field and row,
    which costs more Python time than the refresh it stores (docs/benchmarks.md). Values go
    through each field's get_db_prep_save (encryption, JSON adaptation) as with save(); auto_now
    fields are not touched, set them yourself. Other databases than PostgreSQL use bulk_update.
    """
    if not objs:
        return 0
    model = type(objs[0])
    db = router.db_for_write(model)
    connection = connections[db]
    if connection.vendor != "postgresql":
        return model._default_manager.using(db).bulk_update(objs, field_names)
    meta = model._meta
    columns: list[Field] = [meta.pk, *(meta.get_field(name) for name in field_names)]
    quote = connection.ops.quote_name
    casts = [f"%s::{field.db_type(connection)}" for field in columns]
    row = f"({', '.join(casts)})"
    params: list[Any] = []
    for obj in objs:
        for field in columns:
            params.append(field.get_db_prep_save(getattr(obj, field.attname), connection))
    pk_column = quote(meta.pk.column)
    assignments = ", ".join(
        f"{quote(field.column)} = v.{quote(field.column)}" for field in columns[1:]
    )
    # Identifiers come from the model's meta and are quoted; every value is a parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(objs))}) "
        f"AS v({', '.join(quote(field.column) for field in columns)}) "
        f"WHERE t.{pk_column} = v.{pk_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
