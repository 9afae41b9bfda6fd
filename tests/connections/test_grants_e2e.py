"""Client credentials and password connections against the real provider, through the web form."""

from __future__ import annotations

import pytest
from django.db import connection as db_connection

from apps.connections import services
from apps.connections.models import Connection, ConnectionEvent
from tests.factories import AuthFieldFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def raw_column(connection_id, column: str) -> str:
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM connections_connection WHERE id = %s", [connection_id]
        )
        return cursor.fetchone()[0] or ""


def test_client_credentials_connects_with_the_versions_own_client(
    web_client, oauth_provider_reset, provider_version, tenant
):
    version = provider_version("service", scopes=["read"])

    response = web_client.post(f"/connect/{version.plugin.slug}/", {})

    connection = Connection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/connections/{connection.pk}/"
    assert connection.tenant == tenant
    assert connection.label == "Demo service app"
    assert connection.unique_identifier == "app:demo-service"
    assert connection.refresh_token is None
    assert oauth_provider_reset.token_requests("client_credentials") == 1


def test_client_credentials_with_tenant_supplied_client(
    web_client, oauth_provider_reset, provider_version
):
    service = oauth_provider_reset.client("service")
    version = provider_version("service", client_id="", client_secret="", publish=False)
    AuthFieldFactory(auth_version=version, key="client_id", label="Client ID")
    AuthFieldFactory(
        auth_version=version,
        key="client_secret",
        label="Client secret",
        type="password",
        secret=True,
    )
    type(version).objects.filter(pk=version.pk).update(status="published")

    response = web_client.post(
        f"/connect/{version.plugin.slug}/",
        {"client_id": service["client_id"], "client_secret": service["client_secret"]},
    )

    assert response.status_code == 302
    connection = Connection.objects.get()
    assert connection.field_values["client_secret"] == service["client_secret"]
    assert service["client_secret"] not in raw_column(connection.pk, "field_values")


def test_wrong_client_secret_shows_the_providers_error(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("service", client_secret="not-the-secret")

    response = web_client.post(f"/connect/{version.plugin.slug}/", {})

    assert response.status_code == 400
    assert b"invalid_client" in response.content
    assert not Connection.objects.exists()


def test_password_grant_connects_and_drops_the_password_when_a_refresh_token_exists(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("password")

    response = web_client.post(
        f"/connect/{version.plugin.slug}/",
        {"username": oauth_provider_reset.username, "password": oauth_provider_reset.password},
    )

    assert response.status_code == 302
    connection = Connection.objects.get()
    assert connection.label == "Dana Demo"
    assert connection.refresh_token
    assert connection.field_values == {"username": "demo"}


def test_password_grant_keeps_the_password_encrypted_when_it_is_needed_again(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("password", refresh_request=None)

    web_client.post(
        f"/connect/{version.plugin.slug}/",
        {"username": oauth_provider_reset.username, "password": oauth_provider_reset.password},
    )

    connection = Connection.objects.get()
    assert connection.field_values["password"] == oauth_provider_reset.password
    assert oauth_provider_reset.password not in raw_column(connection.pk, "field_values")
    old_token = connection.access_token

    services.refresh_tokens(connection)

    connection.refresh_from_db()
    assert connection.access_token != old_token
    assert oauth_provider_reset.token_requests("password") == 2


def test_wrong_password_shows_the_providers_error_and_creates_nothing(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("password")

    response = web_client.post(
        f"/connect/{version.plugin.slug}/", {"username": "demo", "password": "wrong"}
    )

    assert response.status_code == 400
    assert b"invalid_grant" in response.content
    assert not Connection.objects.exists()
    assert not ConnectionEvent.objects.exists()


def test_reconnecting_with_client_credentials_updates_the_connection(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("service", scopes=["read"])
    web_client.post(f"/connect/{version.plugin.slug}/", {})
    first = Connection.objects.get()

    web_client.post(f"/connect/{version.plugin.slug}/", {})

    connection = Connection.objects.get()
    assert connection.pk == first.pk
    assert connection.access_token != first.access_token
    assert ConnectionEvent.objects.filter(kind="reconnected").count() == 1


def test_client_credentials_disconnect_revokes_the_token(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("service", scopes=["read"])
    web_client.post(f"/connect/{version.plugin.slug}/", {})
    connection = Connection.objects.get()
    token = connection.access_token

    services.disconnect(connection=connection)

    assert not oauth_provider_reset.token_is_active(token)
    assert Connection.objects.get().status == "revoked"
