"""Reads for the connect flows."""

from __future__ import annotations

from apps.plugins.models import AuthVersion, VersionStatus


def auth_version_for_connect(*, plugin_slug: str, version: int | None = None) -> AuthVersion:
    """The published auth version to connect with: `version`, else the plugin's highest one."""
    queryset = (
        AuthVersion.objects.select_related("plugin")
        .prefetch_related("fields")
        .filter(plugin__slug=plugin_slug, status=VersionStatus.PUBLISHED)
    )
    if version is not None:
        return queryset.get(version=version)
    found = queryset.order_by("-version").first()
    if found is None:
        raise AuthVersion.DoesNotExist(f"{plugin_slug} has no published auth version.")
    return found
