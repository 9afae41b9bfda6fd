"""Reads for connections and their events."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.connections.models import Connection, ConnectionEvent, ConnectionStatus
from apps.core.db import CompiledGet
from apps.plugins.models import AuthVersion
from apps.tenants.models import Tenant

# Every credentials and proxy call loads its connection: compiling this three-table query cost
# more than running it (docs/benchmarks.md).
_CONNECTION_OF_TENANT = CompiledGet(
    Connection, fields=("pk", "tenant_id"), select_related=("plugin", "auth_version")
)


def connection_get_for_tenant(*, tenant: Tenant, connection_id: Any) -> Connection:
    """The tenant's connection with this id; Connection.DoesNotExist otherwise (also for a bad id)."""
    try:
        connection_uuid = uuid.UUID(str(connection_id))
    except ValueError as exc:
        raise Connection.DoesNotExist(f"No connection {connection_id!r}.") from exc
    return _CONNECTION_OF_TENANT.get(pk=connection_uuid, tenant_id=tenant.pk)


def connections_for_tenant(
    *,
    tenant: Tenant,
    plugin_slug: str | None = None,
    status: str | None = None,
    external_user_id: str | None = None,
) -> QuerySet[Connection]:
    """The tenant's connections, newest first, optionally filtered."""
    queryset = Connection.objects.filter(tenant=tenant).select_related("plugin", "auth_version")
    if plugin_slug:
        queryset = queryset.filter(plugin__slug=plugin_slug)
    if status:
        queryset = queryset.filter(status=status)
    if external_user_id is not None:
        queryset = queryset.filter(external_user_id=external_user_id)
    return queryset.order_by("-created_at")


def events_for_connection(*, connection: Connection) -> QuerySet[ConnectionEvent]:
    """A connection's audit log, newest first."""
    return ConnectionEvent.objects.filter(
        tenant_id=connection.tenant_id, connection_ref=connection.id
    ).order_by("-created_at", "-id")


def connections_due_for_health_check() -> QuerySet[Connection]:
    """Active connections whose auth version asks for a periodic test call that is now due."""
    now = timezone.now()
    due = Q(pk__in=[])
    versions = AuthVersion.objects.filter(health_check_seconds__isnull=False).values_list(
        "id", "health_check_seconds"
    )
    for version_id, seconds in versions:
        due |= Q(auth_version_id=version_id) & (
            Q(last_tested_at__isnull=True) | Q(last_tested_at__lt=now - timedelta(seconds=seconds))
        )
    return Connection.objects.filter(due, status=ConnectionStatus.ACTIVE)
