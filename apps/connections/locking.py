"""One refresh at a time per connection: a row lock on PostgreSQL, a claim column on SQLite."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.db import connection as db
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.connections.models import Connection

CLAIM_SECONDS = 60
POLL_SECONDS = 0.05


class ConnectionBusy(Exception):
    """Another process held the connection longer than the wait allowed (SQLite claim only)."""


def _fresh(connection_id: Any) -> Connection:
    return Connection.objects.select_related("auth_version", "plugin", "tenant").get(
        pk=connection_id
    )


@contextmanager
def locked_connection(connection_id: Any, *, wait_seconds: float = 40.0) -> Iterator[Connection]:
    """Yield the connection re-read under an exclusive lock; concurrent callers wait their turn.

    PostgreSQL: `SELECT ... FOR UPDATE` inside a transaction (the provider call made inside is bounded
    by the outbound client's timeouts). SQLite has no row locks and its write lock would block the
    whole database, so a short conditional UPDATE claims the row instead and no transaction is held
    across the provider call.
    """
    if db.features.has_select_for_update:
        with transaction.atomic():
            yield (
                Connection.objects.select_for_update(of=("self",))
                .select_related("auth_version", "plugin", "tenant")
                .get(pk=connection_id)
            )
        return
    deadline = time.monotonic() + wait_seconds
    while True:
        now = timezone.now()
        claimed = (
            Connection.objects.filter(pk=connection_id)
            .filter(Q(refresh_lock_until__isnull=True) | Q(refresh_lock_until__lt=now))
            .update(refresh_lock_until=now + timedelta(seconds=CLAIM_SECONDS))
        )
        if claimed:
            break
        if not Connection.objects.filter(pk=connection_id).exists():
            raise Connection.DoesNotExist(f"Connection {connection_id} does not exist.")
        if time.monotonic() > deadline:
            raise ConnectionBusy(f"Connection {connection_id} is being refreshed elsewhere.")
        time.sleep(POLL_SECONDS)
    try:
        yield _fresh(connection_id)
    finally:
        Connection.objects.filter(pk=connection_id).update(refresh_lock_until=None)
