"""Reads the API needs beyond the apps' own selectors."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from apps.connections.models import ConnectionEvent
from apps.plugins.models import AuthVersion, Plugin, VersionStatus
from apps.tenants.models import Tenant


def published_plugins() -> QuerySet[Plugin]:
    """Plugins with at least one published auth version; `published_versions` newest first."""
    published = (
        AuthVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .prefetch_related("fields")
        .order_by("-version")
    )
    return (
        Plugin.objects.filter(auth_versions__status=VersionStatus.PUBLISHED)
        .distinct()
        .prefetch_related(
            Prefetch("auth_versions", queryset=published, to_attr="published_versions")
        )
        .order_by("name", "slug")
    )


def events_for_tenant(
    *, tenant: Tenant, connection_id: str | None = None, kind: str | None = None
) -> QuerySet[ConnectionEvent]:
    """The tenant's audit log, newest first, optionally for one connection (also deleted) or kind."""
    queryset = ConnectionEvent.objects.filter(tenant=tenant)
    if connection_id:
        queryset = queryset.filter(connection_ref=connection_id)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.order_by("-created_at", "-id")
