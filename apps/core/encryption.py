"""Re-encryption of every encrypted column with the primary key (key rotation)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.db import connection, models, transaction

from apps.core.fields import KeyedEncryptionMixin, encrypted_fields_of, field_fernet, primary_fernet


@dataclass(frozen=True)
class EncryptedColumn:
    """One encrypted column of one model."""

    model: type[models.Model]
    field: KeyedEncryptionMixin

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted column of every installed, managed model."""
    return [
        EncryptedColumn(model, field)
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
        for field in encrypted_fields_of(model)
    ]


def _raw_batches(column: EncryptedColumn, batch_size: int) -> Iterator[list[tuple[object, str]]]:
    """Yield (pk, stored token) pairs in primary-key order, bypassing decryption."""
    meta = column.model._meta
    quote = connection.ops.quote_name
    table, pk_col = quote(meta.db_table), quote(meta.pk.column)
    col = quote(column.field.column)
    last_pk: object = None
    while True:
        where = f"{col} IS NOT NULL" + (f" AND {pk_col} > %s" if last_pk is not None else "")
        params = [last_pk] if last_pk is not None else []
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {pk_col}, {col} FROM {table} WHERE {where} ORDER BY {pk_col} LIMIT %s",  # noqa: S608
                [*params, batch_size],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last_pk = rows[-1][0]


def count_stored_values(column: EncryptedColumn) -> int:
    """How many rows hold a value in this column."""
    return column.model._base_manager.filter(**{f"{column.field.name}__isnull": False}).count()


def rotate_column(
    column: EncryptedColumn,
    *,
    batch_size: int = 500,
    on_progress: Callable[[int], None] = lambda _n: None,
) -> int:
    """Re-encrypt one column's values that are not yet under the primary key; return how many.

    Values already encrypted with the primary key are skipped, so an interrupted run resumes
    where it stopped. Each batch is committed on its own.
    """
    primary, every_key = primary_fernet(), field_fernet()
    meta = column.model._meta
    quote = connection.ops.quote_name
    update_sql = (
        f"UPDATE {quote(meta.db_table)} SET {quote(column.field.column)} = %s "  # noqa: S608
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    rotated = 0
    for rows in _raw_batches(column, batch_size):
        updates = []
        for pk, token in rows:
            try:
                primary.decrypt(token.encode())
            except InvalidToken:
                try:
                    updates.append((every_key.rotate(token.encode()).decode(), pk))
                except InvalidToken:
                    column.field.decrypt_raw(token)  # raises DecryptionError naming the column
        if updates:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(update_sql, updates)
        rotated += len(updates)
        on_progress(len(rows))
    return rotated
