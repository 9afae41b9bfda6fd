"""The token lifecycle: refresh under a lock, the failure policy, fresh credentials, the beat sweep.

Exactly one provider refresh per needed refresh, whatever the concurrency: every refresh runs under
`locked_connection` and re-checks, once it holds the lock, that the refresh is still needed.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.connections import services
from apps.connections.locking import locked_connection
from apps.connections.models import Connection, ConnectionStatus, EventKind
from apps.core.fields import field_fernet
from apps.plugins import http_client
from apps.plugins.errors import InvalidGrant, PlugsmithError, ProviderError, TransientProviderError
from apps.plugins.token_response import TokenSet

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


# Refreshing a beat batch


@dataclass
class BatchResult:
    """What one refresh_scheduled_batch did, connection ids per outcome."""

    refreshed: list[str]
    failed: list[str]
    dead: list[str]
    not_needed: list[str]
    busy: list[str]


_send_pool: ThreadPoolExecutor | None = None
_send_pool_guard = threading.Lock()


def _sender() -> ThreadPoolExecutor:
    """The process's pool for provider calls of batches (threads start on demand)."""
    global _send_pool
    with _send_pool_guard:
        if _send_pool is None:
            _send_pool = ThreadPoolExecutor(
                max_workers=settings.REFRESH_SEND_THREADS, thread_name_prefix="refresh-send"
            )
        return _send_pool


def _send_refresh(built: Any) -> http_client.ProviderResponse | PlugsmithError:
    """One provider call from the pool: errors come back as values (nothing here touches the DB)."""
    try:
        return http_client.send(built)
    except PlugsmithError as exc:
        return exc
    except Exception:  # a bug must not undo the rest of the batch's refreshes
        logger.exception("refresh request failed unexpectedly")
        return ProviderError("The refresh failed unexpectedly (see the worker log).")


def _outcome(connection: Connection, sent: Any) -> TokenSet | PlugsmithError:
    if isinstance(sent, PlugsmithError):
        return sent
    try:
        return services.tokens_from_response(connection.auth_version, sent)
    except PlugsmithError as exc:
        return exc


def _lock_batch(connection_ids: Sequence[str]) -> list[Connection]:
    return list(
        Connection.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("auth_version", "plugin", "tenant")
        .prefetch_related("auth_version__fields")
        .filter(pk__in=list(connection_ids))
    )


def refresh_scheduled_batch(
    *, connection_ids: Sequence[str], scheduled_at: datetime
) -> BatchResult:
    """Refresh beat-claimed connections together: one lock query, parallel provider calls, one write.

    The rules of `connection_refresh(scheduled_at=...)` hold per connection: each is refreshed under
    its row lock, only if nobody refreshed it since `scheduled_at`, and failures follow the same
    policy (recorded, backoff; invalid_grant marks it needs_reauth and revokes). Connections whose
    lock is held elsewhere are returned as `busy` (the caller queues them one by one). Without row
    locks (SQLite) the connections are refreshed one after the other.
    """
    result = BatchResult([], [], [], [], [])
    if not db.features.has_select_for_update_skip_locked:
        for connection_id in connection_ids:
            _refresh_one_scheduled(connection_id, scheduled_at, result)
        return result

    revokes: list[tuple[Connection, _DeadTokens]] = []
    with transaction.atomic():
        locked = _lock_batch(connection_ids)
        found = {str(connection.pk) for connection in locked}
        result.busy = [str(pk) for pk in connection_ids if str(pk) not in found]
        due: list[Connection] = []
        requests: list[Any] = []
        for connection in locked:
            if connection.status in DEAD or not _needed(
                connection,
                force=False,
                min_validity=None,
                scheduled_at=scheduled_at,
                stale_access_token=None,
            ):
                result.not_needed.append(str(connection.pk))
                continue
            try:
                requests.append(services.refresh_request(connection))
            except PlugsmithError as exc:
                requests.append(exc)
            due.append(connection)
        pool = _sender()
        sent = [
            None if isinstance(built, PlugsmithError) else pool.submit(_send_refresh, built)
            for built in requests
        ]
        refreshed: list[tuple[Connection, TokenSet]] = []
        for connection, built, future in zip(due, requests, sent, strict=True):
            outcome = built if future is None else _outcome(connection, future.result())
            if isinstance(outcome, InvalidGrant):
                revokes.append((connection, _mark_dead(connection, outcome)))
                result.dead.append(str(connection.pk))
            elif isinstance(outcome, PlugsmithError):
                _record_failure(connection, outcome)
                result.failed.append(str(connection.pk))
            else:
                services.apply_refreshed_tokens(connection, outcome)
                refreshed.append((connection, outcome))
                result.refreshed.append(str(connection.pk))
        services.store_refreshed(refreshed)
    for connection, tokens in revokes:
        revoke_dead_tokens(connection=connection, tokens=tokens)
    return result


def _refresh_one_scheduled(connection_id: str, scheduled_at: datetime, result: BatchResult) -> None:
    try:
        connection = connection_refresh(connection_id=connection_id, scheduled_at=scheduled_at)
    except ConnectionNeedsReauth:
        result.dead.append(str(connection_id))
    except Connection.DoesNotExist:
        result.not_needed.append(str(connection_id))
    except PlugsmithError:
        result.failed.append(str(connection_id))
    else:
        done = connection.last_refreshed_at and connection.last_refreshed_at >= scheduled_at
        (result.refreshed if done else result.not_needed).append(str(connection_id))


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
    *,
    enqueue: Callable[[list[str], str], Any],
    batch_size: int = 500,
    max_batches: int = 100,
    message_size: int | None = None,
) -> int:
    """Claim every due connection, batch by batch, and enqueue them `message_size` ids per message.

    Returns how many connections were enqueued.
    """
    per_message = message_size or settings.REFRESH_BATCH_SIZE
    now = timezone.now()
    total = 0
    for _ in range(max_batches):
        ids = claim_due_connections(now=now, limit=batch_size)
        for start in range(0, len(ids), per_message):
            enqueue(ids[start : start + per_message], now.isoformat())
        total += len(ids)
        if len(ids) < batch_size:
            break
    if total:
        logger.info("scheduled %d refreshes", total)
    return total
