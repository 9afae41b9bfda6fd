"""Thin Celery tasks for the token lifecycle: load by id, call a service, retry with backoff."""

from __future__ import annotations

from datetime import datetime

from celery import Task, current_app, shared_task

from apps.connections.models import Connection
from apps.connections.refresh import (
    ConnectionNeedsReauth,
    connection_refresh,
    decrypt_tokens,
    refresh_scheduled_batch,
    revoke_dead_tokens,
    schedule_due_refreshes,
)
from apps.connections.selectors import connections_due_for_health_check
from apps.connections.services import test_connection
from apps.plugins.errors import PlugsmithError, TransientProviderError

REVOKE_MAX_ATTEMPTS = 6


@shared_task(name="connections.schedule_refreshes")
def schedule_refreshes() -> int:
    """Beat, every 30 s: enqueue the due connections, REFRESH_BATCH_SIZE per message.

    Claims make a repeated tick harmless. One broker connection serves the whole sweep.
    """
    with current_app.producer_or_acquire() as producer:
        return schedule_due_refreshes(
            enqueue=lambda connection_ids, scheduled_at: refresh_batch.apply_async(
                (connection_ids, scheduled_at), producer=producer
            )
        )


@shared_task(name="connections.refresh_batch", acks_late=True)
def refresh_batch(connection_ids: list[str], scheduled_at: str) -> dict[str, int]:
    """Refresh a batch of claimed connections together; ones locked elsewhere get their own task.

    Failures are recorded per connection and retried on the connection's backoff by beat.
    """
    result = refresh_scheduled_batch(
        connection_ids=connection_ids, scheduled_at=datetime.fromisoformat(scheduled_at)
    )
    for connection_id in result.busy:
        refresh_connection.delay(connection_id, scheduled_at)
    return {
        "refreshed": len(result.refreshed),
        "failed": len(result.failed),
        "dead": len(result.dead),
        "not_needed": len(result.not_needed),
        "busy": len(result.busy),
    }


@shared_task(
    bind=True,
    name="connections.refresh_connection",
    acks_late=True,
    autoretry_for=(TransientProviderError,),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=5,
)
def refresh_connection(self: Task, connection_id: str, scheduled_at: str | None = None) -> None:
    """Refresh one connection unless someone refreshed it since `scheduled_at` (duplicates are harmless)."""
    try:
        connection_refresh(
            connection_id=connection_id,
            scheduled_at=datetime.fromisoformat(scheduled_at) if scheduled_at else None,
        )
    except (ConnectionNeedsReauth, Connection.DoesNotExist):
        return  # dead grant (recorded, revoked) or deleted: nothing to retry
    except TransientProviderError:
        raise  # retried with backoff; the failure is already recorded on the connection
    except PlugsmithError:
        return  # recorded on the connection; beat tries again on its backoff schedule


@shared_task(bind=True, name="connections.revoke_tokens_later", acks_late=True)
def revoke_tokens_later(
    self: Task, connection_id: str, encrypted_tokens: str, attempt: int
) -> None:
    """Retry revoking a dead grant's tokens after the provider answered 503 (RFC 7009 2.2.1)."""
    if attempt > REVOKE_MAX_ATTEMPTS:
        return
    connection = Connection.objects.select_related("auth_version").filter(pk=connection_id).first()
    if connection is None:
        return
    revoke_dead_tokens(
        connection=connection, tokens=decrypt_tokens(encrypted_tokens), attempt=attempt
    )


@shared_task(name="connections.health_checks")
def health_checks() -> int:
    """Beat: enqueue a test call for connections whose auth version asks for periodic health checks."""
    ids = [str(pk) for pk in connections_due_for_health_check().values_list("id", flat=True)[:1000]]
    for connection_id in ids:
        health_check_connection.delay(connection_id)
    return len(ids)


@shared_task(name="connections.health_check_connection", acks_late=True)
def health_check_connection(connection_id: str) -> None:
    """Call the test API of one connection (refreshing once on an expired-token status)."""
    connection = (
        Connection.objects.select_related("auth_version", "plugin").filter(pk=connection_id).first()
    )
    if connection is None:
        return
    try:
        test_connection(connection=connection)
    except PlugsmithError:
        return  # recorded by the service (test_failed / needs_reauth)
