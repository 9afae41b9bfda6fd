"""The authorization code flow against the real (django-oauth-toolkit) provider."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from apps.connections.models import Connection, ConnectionEvent
from apps.oauth.models import AuthorizationAttempt
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def start(client, slug: str, query: str = "") -> str:
    """GET the connect page (no fields): the 302 Location to the provider."""
    response = client.get(f"/connect/{slug}/{query}")
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def callback_path(location: str) -> str:
    assert location.startswith("http://testserver/oauth/callback/"), location
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def connect(client, provider, slug: str, *, approve: bool = True, query: str = ""):
    """Run the whole browser round trip and return our callback's response."""
    location = provider.login_and_authorize(start(client, slug, query), approve=approve)
    return client.get(callback_path(location))


def test_pkce_flow_creates_connection_with_label_and_identifier(
    web_client, oauth_provider_reset, provider_version, tenant
):
    version = provider_version("pkce")

    response = connect(web_client, oauth_provider_reset, version.plugin.slug)

    connection = Connection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/connections/{connection.pk}/"
    assert response["Referrer-Policy"] == "no-referrer"
    assert connection.tenant == tenant
    assert connection.label == "Dana Demo"
    assert connection.unique_identifier.isdigit()
    assert connection.status == "active"
    assert set(connection.granted_scopes) == {"read", "profile"}
    assert connection.access_token
    assert connection.refresh_token
    assert connection.expires_at is not None
    assert connection.next_refresh_at is not None
    assert connection.me["email"] == "demo@example.com"
    assert list(ConnectionEvent.objects.values_list("kind", flat=True)) == ["created"]
    page = web_client.get(response["Location"])
    assert b"Dana Demo" in page.content


def test_authorization_url_carries_pkce_challenge_and_scopes(web_client, provider_version):
    version = provider_version("pkce", authorization_params={"prompt": "consent"})

    query = parse_qs(urlsplit(start(web_client, version.plugin.slug)).query)

    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["read profile"]
    assert query["prompt"] == ["consent"]
    assert query["redirect_uri"] == ["http://testserver/oauth/callback/"]
    attempt = AuthorizationAttempt.objects.get()
    assert attempt.state_hash != query["state"][0]
    assert len(query["state"][0]) >= 43


def test_flow_without_pkce_connects(web_client, oauth_provider_reset, provider_version):
    version = provider_version("web")

    location = start(web_client, version.plugin.slug)
    assert "code_challenge" not in location
    response = web_client.get(callback_path(oauth_provider_reset.login_and_authorize(location)))

    assert response.status_code == 302
    assert Connection.objects.get().label == "Dana Demo"


def test_denied_consent_shows_access_denied_and_creates_nothing(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("pkce")

    response = connect(web_client, oauth_provider_reset, version.plugin.slug, approve=False)

    assert response.status_code == 400
    assert b"Access was denied" in response.content
    assert b"access_denied" in response.content or b"denied" in response.content
    assert response["Referrer-Policy"] == "no-referrer"
    assert not Connection.objects.exists()
    assert oauth_provider_reset.token_requests() == 0


def test_reconnecting_the_same_account_updates_the_connection(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("pkce")
    connect(web_client, oauth_provider_reset, version.plugin.slug)
    first = Connection.objects.get()
    Connection.objects.filter(pk=first.pk).update(status="needs_reauth", failure_count=3)

    response = connect(
        web_client, oauth_provider_reset, version.plugin.slug, query=f"?reconnect={first.pk}"
    )

    assert response.status_code == 302
    connection = Connection.objects.get()
    assert connection.pk == first.pk
    assert connection.status == "active"
    assert connection.failure_count == 0
    assert connection.access_token != first.access_token
    kinds = list(ConnectionEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["created", "reconnected"]


def test_the_same_account_in_another_tenant_is_a_separate_connection(
    client, oauth_provider_reset, provider_version, member, other_tenant
):
    version = provider_version("pkce")
    client.force_login(member)
    connect(client, oauth_provider_reset, version.plugin.slug)
    other_user = UserFactory()
    MembershipFactory(user=other_user, tenant=other_tenant)
    client.force_login(other_user)

    connect(client, oauth_provider_reset, version.plugin.slug)

    assert Connection.objects.count() == 2
    assert set(Connection.objects.values_list("tenant", flat=True)) == {
        member.memberships.get().tenant_id,
        other_tenant.pk,
    }


def test_replayed_callback_is_refused_and_the_code_is_exchanged_once(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("pkce")
    location = oauth_provider_reset.login_and_authorize(start(web_client, version.plugin.slug))
    assert web_client.get(callback_path(location)).status_code == 302

    replay = web_client.get(callback_path(location))

    assert replay.status_code == 400
    assert b"already used" in replay.content
    assert oauth_provider_reset.token_requests("authorization_code") == 1
    assert Connection.objects.count() == 1


def test_matching_issuer_is_accepted(web_client, oauth_provider_reset, provider_version):
    version = provider_version("pkce", issuer=oauth_provider_reset.issuer)

    response = connect(web_client, oauth_provider_reset, version.plugin.slug)

    assert response.status_code == 302
    assert Connection.objects.count() == 1


def test_wrong_issuer_is_refused_before_the_exchange(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("pkce", issuer="https://issuer.example/")

    response = connect(web_client, oauth_provider_reset, version.plugin.slug)

    assert response.status_code == 400
    assert b"unexpected issuer" in response.content
    assert oauth_provider_reset.token_requests() == 0
    assert not Connection.objects.exists()


def test_on_site_return_to_is_followed(web_client, oauth_provider_reset, provider_version):
    version = provider_version("pkce")

    response = connect(
        web_client, oauth_provider_reset, version.plugin.slug, query="?return_to=/somewhere/"
    )

    assert response.status_code == 302
    assert response["Location"] == "/somewhere/"


def test_disconnect_revokes_the_token_at_the_provider(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("pkce")
    connect(web_client, oauth_provider_reset, version.plugin.slug)
    connection = Connection.objects.get()
    access_token = connection.access_token
    assert oauth_provider_reset.token_is_active(access_token)

    response = web_client.post(f"/connections/{connection.pk}/disconnect/")

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == "revoked"
    assert connection.access_token is None
    assert connection.refresh_token is None
    assert not oauth_provider_reset.token_is_active(access_token)
    kinds = set(ConnectionEvent.objects.values_list("kind", flat=True))
    assert "revoked" in kinds
    assert "revoke_failed" not in kinds


def test_test_button_refreshes_an_expired_token_once(
    web_client, oauth_provider_reset, provider_version
):
    version = provider_version("pkce")
    connect(web_client, oauth_provider_reset, version.plugin.slug)
    connection = Connection.objects.get()
    old_refresh = connection.refresh_token
    oauth_provider_reset.expire_access_tokens()

    response = web_client.post(f"/connections/{connection.pk}/test/")

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == "active"
    assert connection.refresh_token != old_refresh  # the provider rotates refresh tokens
    assert connection.last_refreshed_at is not None
    assert oauth_provider_reset.token_requests("refresh_token") == 1
    kinds = list(ConnectionEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["created", "refreshed", "tested"]
