"""The API end to end against the django-oauth-toolkit provider: connect link, credentials, proxy."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from apps.connections.models import Connection

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

RETURN_URL = "https://app.example.com/done"


@pytest.fixture
def app_tenant(tenant):
    tenant.allowed_return_urls = ["https://app.example.com/"]
    tenant.save()
    return tenant


def connect_through_a_link(api_client, provider, slug: str, *, approve: bool = True) -> str:
    """Create a connect link, open it as an anonymous end user, consent; the final Location."""
    url = api_client.post(
        "/api/v1/connect-sessions/",
        {"plugin": slug, "external_user_id": "end-user-1", "return_url": RETURN_URL},
        format="json",
    ).json()["url"]
    browser = Client()
    assert browser.get(url).status_code == 200
    started = browser.post(url)
    assert started.status_code == 302, started.content[:300]
    callback = urlsplit(provider.login_and_authorize(started["Location"], approve=approve))
    response = browser.get(f"{callback.path}?{callback.query}")
    assert response.status_code == 302
    if response["Location"].startswith("/connect-session/"):
        response = browser.get(response["Location"])
        assert response.status_code == 302
    return response["Location"]


@pytest.fixture
def linked(api_client, app_tenant, oauth_provider_reset, provider_version):
    """A connection made by an end user through a connect link (PKCE, with a refresh token)."""
    version = provider_version("pkce")
    location = connect_through_a_link(api_client, oauth_provider_reset, version.plugin.slug)
    return Connection.objects.get(), location


def test_connect_link_connects_the_end_user_and_returns_to_the_app(linked, app_tenant):
    connection, location = linked

    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == RETURN_URL
    assert parse_qs(parts.query) == {"connection_id": [str(connection.pk)], "status": ["connected"]}
    assert connection.tenant == app_tenant
    assert connection.external_user_id == "end-user-1"
    assert connection.refresh_token


def test_denied_consent_returns_to_the_app_with_the_error(
    api_client, app_tenant, oauth_provider_reset, provider_version
):
    version = provider_version("pkce")

    location = connect_through_a_link(
        api_client, oauth_provider_reset, version.plugin.slug, approve=False
    )

    query = parse_qs(urlsplit(location).query)
    assert query["status"] == ["error"]
    assert query["error"] == ["access_denied"]
    assert not Connection.objects.exists()


def test_credentials_are_live_at_the_provider(api_client, linked, oauth_provider_reset):
    connection, _ = linked

    body = api_client.post(f"/api/v1/connections/{connection.pk}/credentials/").json()

    assert oauth_provider_reset.token_is_active(body["access_token"])
    assert body["request_params"]["headers"]["Authorization"] == f"Bearer {body['access_token']}"


def test_credentials_refresh_at_the_provider_when_asked_for_more_validity(
    api_client, linked, oauth_provider_reset
):
    connection, _ = linked
    Connection.objects.filter(pk=connection.pk).update(
        expires_at=timezone.now() + timedelta(seconds=30)
    )

    body = api_client.post(
        f"/api/v1/connections/{connection.pk}/credentials/", {"min_validity": 120}, format="json"
    ).json()

    assert body["access_token"] != connection.access_token
    assert oauth_provider_reset.token_is_active(body["access_token"])
    assert oauth_provider_reset.token_requests("refresh_token") == 1


def test_proxy_reaches_the_providers_api(api_client, linked, oauth_provider_reset):
    connection, _ = linked

    got = api_client.get(
        f"/api/v1/connections/{connection.pk}/proxy/echo/contacts?page=2", HTTP_X_TRACE="t-1"
    )
    posted = api_client.post(
        f"/api/v1/connections/{connection.pk}/proxy/echo/contacts", {"name": "Ada"}, format="json"
    )

    assert got.status_code == 200, got.content
    echo = got.json()
    assert echo["method"] == "GET"
    assert echo["path"] == "/demo-provider/api/echo/contacts"
    assert echo["query"] == {"page": ["2"]}
    assert echo["headers"]["X-Trace"] == "t-1"
    assert posted.json()["body"] == {"name": "Ada"}


def test_proxy_refreshes_and_retries_when_the_provider_expired_the_token(
    api_client, linked, oauth_provider_reset
):
    connection, _ = linked
    assert oauth_provider_reset.expire_access_tokens() >= 1

    response = api_client.put(
        f"/api/v1/connections/{connection.pk}/proxy/echo/item", {"n": 1}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["body"] == {"n": 1}
    assert oauth_provider_reset.token_requests("refresh_token") == 1
    assert oauth_provider_reset.request_count("/demo-provider/api/echo/item", "PUT") == 2
    connection.refresh_from_db()
    assert oauth_provider_reset.token_is_active(connection.access_token)
    kinds = list(connection.events.values_list("kind", flat=True))
    assert "refreshed" in kinds


def test_proxy_passes_the_providers_own_answer_when_it_is_down(
    api_client, linked, oauth_provider_reset
):
    connection, _ = linked
    oauth_provider_reset.fail_next(
        "/demo-provider/api/echo/x", status=503, body={"error": "maintenance"}
    )

    response = api_client.get(f"/api/v1/connections/{connection.pk}/proxy/echo/x")

    assert response.status_code == 503
    assert response.json() == {"error": "maintenance"}


def test_client_credentials_connection_from_the_api(
    api_client, oauth_provider_reset, provider_version
):
    version = provider_version("service")

    response = api_client.post(
        "/api/v1/connections/", {"plugin": version.plugin.slug}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["unique_identifier"].startswith("app:")
    assert oauth_provider_reset.token_requests("client_credentials") == 1
