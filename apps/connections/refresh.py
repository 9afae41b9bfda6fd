"""The token lifecycle: refresh under a lock, the failure policy, fresh credentials, the beat sweep.

Exactly one provider refresh per needed refresh, whatever the concurrency: every refresh runs under
`locked_connection` and re-checks, once it holds the lock, that the refresh is still needed.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection as db
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.connections import services
from apps.connections.locking import locked_connection
from apps.connections.models import Connection, ConnectionStatus, EventKind
from apps.core.fields import field_fernet
from apps.plugins import http_client
from apps.plugins.errors import InvalidGrant, PlugsmithError, TransientProviderError

logger = logging.getLogger(__name__)

FAILURE_THRESHOLD = 5
ERROR_RETRY_DELAY = timedelta(minutes=30)
CLAIM_DELAY = timedelta(minutes=5)
SCHEDULABLE = (ConnectionStatus.ACTIVE, ConnectionStatus.ERROR)
DEAD = (ConnectionStatus.NEEDS_REAUTH, ConnectionStatus.REVOKED)


class ConnectionNeedsReauth(PlugsmithError):
    """The connection's grant is dead (status needs_reauth or revoked): the user must reconnect."""

    def __init__(self, connection: Connection, message: str | None = None) -> None:
        self.connection = connection
        super().__init__(
            message
            or f"The connection {connection.label!r} needs to be reconnected: "
            f"{connection.last_error or 'its grant is no longer valid'}."
        )


def backoff_delay(failures: int) -> timedelta:
    """30 s, 60 s, 120 s ... capped at 30 minutes, with up to 20% jitter."""
    base = min(ERROR_RETRY_DELAY.total_seconds(), 30 * 2 ** max(failures - 1, 0))
    return timedelta(seconds=base + random.uniform(0, base * 0.2))  # noqa: S311 - jitter


def _needed(
    connection: Connection,
    *,
    force: bool,
    min_validity: int | None,
    scheduled_at: datetime | None,
    stale_access_token: str | None,
) -> bool:
    """Is a refresh still needed now that we hold the lock? (Another worker may have just done it.)"""
    if force:
        return True
    if stale_access_token is not None:
        return connection.access_token == stale_access_token
    if min_validity is not None:
        return connection.expires_within(min_validity)
    if scheduled_at is not None:
        return not (connection.last_refreshed_at and connection.last_refreshed_at >= scheduled_at)
    now = timezone.now()
    return connection.expires_within(0) or bool(
        connection.next_refresh_at and connection.next_refresh_at <= now
    )


def _record_failure(connection: Connection, exc: PlugsmithError) -> None:
    """Keep tokens and status; count the failure; back off; status error after the threshold."""
    connection.failure_count += 1
    connection.last_error = str(exc)[:2000]
    if connection.failure_count >= FAILURE_THRESHOLD:
        connection.status = ConnectionStatus.ERROR
        connection.next_refresh_at = timezone.now() + ERROR_RETRY_DELAY
    else:
        connection.next_refresh_at = timezone.now() + backoff_delay(connection.failure_count)
    connection.save(
        update_fields=["failure_count", "last_error", "status", "next_refresh_at", "updated_at"]
    )
    services.record_event(
        tenant_id=connection.tenant_id,
        tenant=connection.tenant,
        connection_id=connection.id,
        kind=EventKind.REFRESH_FAILED,
        detail={**services.error_detail(exc), "failure_count": connection.failure_count},
    )


@dataclass(frozen=True)
class _DeadTokens:
    access_token: str | None
    refresh_token: str | None


def _mark_dead(connection: Connection, exc: PlugsmithError) -> _DeadTokens:
    """needs_reauth: tokens cleared, event (and webhook) recorded; returns the tokens to revoke."""
    dead = _DeadTokens(connection.access_token, connection.refresh_token)
    connection.status = ConnectionStatus.NEEDS_REAUTH
    connection.last_error = str(exc)[:2000]
    connection.access_token = None
    connection.refresh_token = None
    connection.expires_at = None
    connection.next_refresh_at = None
    connection.save(
        update_fields=[
            "status", "last_error", "access_token", "refresh_token", "expires_at",
            "next_refresh_at", "updated_at",
        ]
    )  # fmt: skip
    services.record_event(
        tenant_id=connection.tenant_id,
        connection_id=connection.id,
        kind=EventKind.NEEDS_REAUTH,
        detail=services.error_detail(exc),
    )
    return dead


def connection_refresh(
    *,
    connection_id: Any,
    force: bool = False,
    min_validity: int | None = None,
    scheduled_at: datetime | None = None,
    stale_access_token: str | None = None,
) -> Connection:
    """Refresh a connection's token under its lock when still needed, applying the failure policy.

    `force` always refreshes; `min_validity` refreshes when the token expires sooner; `scheduled_at`
    (beat) skips when a refresh happened since; `stale_access_token` (proxy retry) refreshes only
    while that token is still the stored one. InvalidGrant marks the connection needs_reauth, revokes
    best-effort and raises ConnectionNeedsReauth; other provider errors are recorded and re-raised.
    """
    dead: _DeadTokens | None = None
    failure: PlugsmithError | None = None
    with locked_connection(connection_id) as connection:
        if connection.status in DEAD:
            raise ConnectionNeedsReauth(connection)
        if not _needed(
            connection,
            force=force,
            min_validity=min_validity,
            scheduled_at=scheduled_at,
            stale_access_token=stale_access_token,
        ):
            return connection
        try:
            services.refresh_tokens(connection)
        except InvalidGrant as exc:
            connection.refresh_from_db()
            dead = _mark_dead(connection, exc)
            failure = exc
        except PlugsmithError as exc:
            connection.refresh_from_db()
            _record_failure(connection, exc)
            failure = exc
    if dead is not None:
        revoke_dead_tokens(connection=connection, tokens=dead)
        raise ConnectionNeedsReauth(connection) from failure
    if failure is not None:
        raise failure
    return connection


def get_fresh_credentials(*, connection: Connection, min_validity: int = 60) -> Connection:
    """The connection with an access token valid for at least `min_validity` seconds.

    The common case (token still valid) costs no query. Otherwise concurrent callers queue on the
    connection's lock and all get the one refresh's result.
    """
    if connection.status in DEAD:
        raise ConnectionNeedsReauth(connection)
    if connection.access_token and not connection.expires_within(min_validity):
        return connection
    refreshed = connection_refresh(connection_id=connection.pk, min_validity=min_validity)
    if not refreshed.access_token:
        raise ConnectionNeedsReauth(refreshed)
    return refreshed


# Revoking a dead grant (RFC 7009)


def _encrypt_tokens(tokens: _DeadTokens) -> str:
    plain = json.dumps({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token})
    return field_fernet().encrypt(plain.encode()).decode()


def decrypt_tokens(blob: str) -> _DeadTokens:
    """The tokens carried (encrypted) by a delayed revoke task."""
    data = json.loads(field_fernet().decrypt(blob.encode()))
    return _DeadTokens(data.get("access_token"), data.get("refresh_token"))


def revoke_dead_tokens(*, connection: Connection, tokens: _DeadTokens, attempt: int = 0) -> bool:
    """Best-effort revoke of tokens no longer stored; a 503 or outage retries later from a task.

    Returns True when the provider confirmed (200, also for unknown tokens per RFC 7009).
    """
    if not connection.auth_version.revoke_request or not (
        tokens.access_token or tokens.refresh_token
    ):
        return False
    holder = Connection(
        id=connection.id,
        tenant_id=connection.tenant_id,
        plugin_id=connection.plugin_id,
        auth_version=connection.auth_version,
        field_values=connection.field_values,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_response=connection.token_response,
        me=connection.me,
    )
    try:
        requests = services.revoke_requests(holder)
        for built in requests:
            response = http_client.send(built)
            if response.status == 503 or response.status >= 500 or response.status == 429:
                raise TransientProviderError(
                    f"The revoke endpoint answered HTTP {response.status}", status=response.status
                )
            if response.status >= 400:
                raise services.provider_error(response, "The revoke endpoint")
    except TransientProviderError as exc:
        from apps.connections.tasks import revoke_tokens_later

        services.record_event(
            tenant_id=connection.tenant_id,
            connection_id=connection.id,
            kind=EventKind.REVOKE_FAILED,
            detail={**services.error_detail(exc), "will_retry": True},
        )
        blob = _encrypt_tokens(tokens)
        transaction.on_commit(
            lambda: revoke_tokens_later.apply_async(
                (str(connection.id), blob, attempt + 1), countdown=min(3600, 60 * 2**attempt)
            )
        )
        return False
    except PlugsmithError as exc:
        services.record_event(
            tenant_id=connection.tenant_id,
            connection_id=connection.id,
            kind=EventKind.REVOKE_FAILED,
            detail=services.error_detail(exc),
        )
        return False
    services.record_event(
        tenant_id=connection.tenant_id,
        connection_id=connection.id,
        kind=EventKind.REVOKED,
        detail={"reason": "dead grant", "revoked_at_provider": True},
    )
    return True


# The beat sweep


def due_connections(*, now: datetime) -> QuerySet[Connection]:
    """Connections whose scheduled refresh time has come (uses the (status, next_refresh_at) index)."""
    return Connection.objects.filter(status__in=SCHEDULABLE, next_refresh_at__lte=now).order_by(
        "next_refresh_at"
    )


def claim_due_connections(*, now: datetime, limit: int) -> list[str]:
    """Claim up to `limit` due connections: their next_refresh_at moves past the claim window.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets concurrent sweeps take disjoint batches. A claimed
    connection whose task is lost comes due again after the claim window.
    """
    with transaction.atomic():
        query = due_connections(now=now)
        if db.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True)
        ids = list(query.values_list("id", flat=True)[:limit])
        if ids:
            Connection.objects.filter(id__in=ids).update(next_refresh_at=now + CLAIM_DELAY)
    return [str(pk) for pk in ids]


def schedule_due_refreshes(
    *, enqueue: Callable[[str, str], Any], batch_size: int = 500, max_batches: int = 100
) -> int:
    """Enqueue a refresh task for every due connection, batch by batch; returns how many."""
    now = timezone.now()
    total = 0
    for _ in range(max_batches):
        ids = claim_due_connections(now=now, limit=batch_size)
        for connection_id in ids:
            enqueue(connection_id, now.isoformat())
        total += len(ids)
        if len(ids) < batch_size:
            break
    if total:
        logger.info("scheduled %d refreshes", total)
    return total
