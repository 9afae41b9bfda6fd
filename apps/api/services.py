"""API operations that combine connection services (create from fields, refresh, delete)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from apps.connections import services as connection_services
from apps.connections.models import Connection, EventKind
from apps.connections.refresh import DEAD, ConnectionNeedsReauth, connection_refresh
from apps.plugins.errors import ConfigurationError
from apps.plugins.models import AuthVersion, GrantType
from apps.tenants.models import Tenant

DIRECT_GRANTS = {
    GrantType.CLIENT_CREDENTIALS: connection_services.connect_with_client_credentials,
    GrantType.PASSWORD: connection_services.connect_with_password,
}


def connection_create(
    *,
    tenant: Tenant,
    auth_version: AuthVersion,
    field_values: Mapping[str, Any],
    external_user_id: str = "",
) -> Connection:
    """Connect a client-credentials or password plugin from fields (token request and test call)."""
    connect = DIRECT_GRANTS.get(auth_version.grant_type)
    if connect is None:
        raise ConfigurationError(
            f"{auth_version.plugin.slug} uses the {auth_version.grant_type} grant: "
            "create a connect session instead."
        )
    return connect(
        tenant=tenant,
        auth_version=auth_version,
        field_values=field_values,
        external_user_id=external_user_id,
    )


def connection_force_refresh(*, connection: Connection) -> Connection:
    """Refresh now; a connection that cannot be refreshed without its user is refused (409)."""
    if connection.status in DEAD:
        raise ConnectionNeedsReauth(connection)
    if not connection_services.can_refresh(connection):
        raise connection_services.ConnectError(
            "This connection cannot be refreshed: the provider gave no refresh token. "
            "Its token stays valid until it expires; then the account must be connected again."
        )
    return connection_refresh(connection_id=connection.pk, force=True)


def connection_delete(*, connection: Connection) -> None:
    """Revoke at the provider (best effort), then delete; the audit log keeps a `deleted` event."""
    connection = connection_services.disconnect(connection=connection)
    with transaction.atomic():
        connection_services.record_event(
            tenant_id=connection.tenant_id,
            connection_id=connection.pk,
            kind=EventKind.DELETED,
            detail={
                "plugin": connection.plugin.slug,
                "label": connection.label,
                "external_user_id": connection.external_user_id or None,
            },
        )
        connection.delete()


def connection_test(*, connection: Connection) -> Connection:
    """Call the test API; a connection that must be reconnected answers with how to do it."""
    if connection.status in DEAD:
        raise ConnectionNeedsReauth(connection)
    return connection_services.test_connection(connection=connection)
