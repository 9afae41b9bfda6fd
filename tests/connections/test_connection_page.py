"""The connection page: secrets masked, refresh outcomes with the provider's words, a confirmed disconnect."""

from __future__ import annotations

import pytest

from apps.connections.models import Connection
from tests.connections.conftest import add_token
from tests.factories import AuthFieldFactory, AuthVersionFactory, ConnectionFactory

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(message).replace("\xa0", " ") for message in response.context["messages"]]


def test_secret_field_values_are_masked_and_plain_ones_shown(web_client, tenant):
    version = AuthVersionFactory(publish=False)
    AuthFieldFactory(auth_version=version, key="region", label="Region")
    AuthFieldFactory(
        auth_version=version, key="api_key", label="API key", type="password", secret=True
    )
    version.status = "published"
    version.save()
    connection = ConnectionFactory(
        tenant=tenant,
        auth_version=version,
        field_values={"region": "eu-west", "api_key": "sk-live-very-secret"},
    )

    page = web_client.get(f"/connections/{connection.pk}/").content.decode()

    assert "eu-west" in page
    assert "sk-live-very-secret" not in page
    assert "••••" in page
    assert connection.access_token not in page
    assert connection.refresh_token not in page


def test_refresh_now_reports_the_new_expiry(web_client, tenant, fake_provider):
    connection = ConnectionFactory(tenant=tenant)
    add_token(fake_provider)

    response = web_client.post(f"/connections/{connection.pk}/refresh/", follow=True)

    assert _messages(response) == ["Refreshed: new access token, it expires in 59 minutes."]
    connection.refresh_from_db()
    assert connection.access_token == "new-access-token-abcdef"


def test_refresh_now_shows_the_providers_error_text(web_client, tenant, fake_provider):
    connection = ConnectionFactory(tenant=tenant)
    add_token(
        fake_provider,
        status=400,
        body={"error": "invalid_grant", "error_description": "Refresh token revoked by the user"},
    )

    response = web_client.post(f"/connections/{connection.pk}/refresh/", follow=True)

    [message] = _messages(response)
    assert message.startswith("The provider refused the refresh.")
    assert "Refresh token revoked by the user" in message
    assert Connection.objects.get().status == "needs_reauth"


def test_refresh_now_without_a_refresh_token_asks_to_reconnect(web_client, tenant, fake_provider):
    connection = ConnectionFactory(tenant=tenant, refresh_token=None)

    response = web_client.post(f"/connections/{connection.pk}/refresh/", follow=True)

    assert "reconnect the account" in _messages(response)[0]
    assert len(fake_provider.calls) == 0
    assert Connection.objects.get().status == "active"


def test_disconnect_asks_for_confirmation_first(web_client, tenant, fake_provider):
    connection = ConnectionFactory(tenant=tenant, label="Sales inbox")

    page = web_client.get(f"/connections/{connection.pk}/disconnect/")

    assert "Disconnect “Sales inbox”?" in page.content.decode()
    assert Connection.objects.get().status == "active"
    assert len(fake_provider.calls) == 0


def test_reconnect_link_points_at_the_connect_page(web_client, tenant):
    connection = ConnectionFactory(tenant=tenant)

    page = web_client.get(f"/connections/{connection.pk}/").content.decode()

    assert f'href="/connect/{connection.plugin.slug}/?reconnect={connection.pk}"' in page


@pytest.mark.parametrize("action", ["test", "refresh", "disconnect"])
def test_another_tenants_connection_is_a_404(web_client, other_tenant, action):
    theirs = ConnectionFactory(tenant=other_tenant)

    assert web_client.get(f"/connections/{theirs.pk}/").status_code == 404
    assert web_client.post(f"/connections/{theirs.pk}/{action}/").status_code == 404
    assert Connection.objects.get().status == "active"
