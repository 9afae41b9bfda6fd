"""The callback refuses every state it cannot trust, creates nothing, and never leaks a referrer."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from apps.connections.models import Connection, ConnectionEvent
from apps.oauth.models import AuthorizationAttempt
from tests.connections.conftest import add_me, add_token
from tests.factories import AuthVersionFactory, ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(db):
    return AuthVersionFactory(authorization_params={"access_type": "offline"})


def start(client, version, query: str = "") -> dict[str, str]:
    response = client.get(f"/connect/{version.plugin.slug}/{query}")
    assert response.status_code == 302, response.content[:300]
    return {
        key: values[0] for key, values in parse_qs(urlsplit(response["Location"]).query).items()
    }


def callback(client, **params):
    return client.get("/oauth/callback/?" + urlencode(params))


def assert_refused(response, text: str) -> None:
    assert response.status_code == 400
    assert response["Referrer-Policy"] == "no-referrer"
    assert text in response.content.decode()
    assert not Connection.objects.exists()


def test_the_authorization_request_has_every_parameter(web_client, version):
    params = start(web_client, version)

    assert params["response_type"] == "code"
    assert params["client_id"] == "plugsmith-client"
    assert params["redirect_uri"] == "http://testserver/oauth/callback/"
    assert params["scope"] == "read profile"
    assert params["code_challenge_method"] == "S256"
    assert params["access_type"] == "offline"
    attempt = AuthorizationAttempt.objects.get()
    assert attempt.code_verifier
    assert attempt.expires_at - attempt.created_at == pytest.approx(
        timedelta(minutes=10), abs=timedelta(seconds=5)
    )
    assert params["state"] not in attempt.state_hash


def test_comma_separated_scopes(web_client):
    version = AuthVersionFactory(scopes=["a", "b"], scope_separator=",", pkce=False)

    params = start(web_client, version)

    assert params["scope"] == "a,b"
    assert "code_challenge" not in params
    assert AuthorizationAttempt.objects.get().code_verifier is None


def test_missing_state_is_refused(web_client, version):
    assert_refused(callback(web_client, code="abc"), "no state parameter")


def test_unknown_state_is_refused(web_client, version):
    start(web_client, version)

    assert_refused(callback(web_client, code="abc", state="tampered"), "unknown state")


def test_expired_state_is_refused(web_client, version):
    params = start(web_client, version)
    AuthorizationAttempt.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_refused(callback(web_client, code="abc", state=params["state"]), "expired")


def test_consumed_state_is_refused(web_client, version):
    params = start(web_client, version)
    AuthorizationAttempt.objects.update(consumed_at=timezone.now())

    assert_refused(callback(web_client, code="abc", state=params["state"]), "already used")


def test_state_from_another_browser_session_is_refused(web_client, version, member):
    params = start(web_client, version)
    other_browser = Client()
    other_browser.force_login(member)

    response = callback(other_browser, code="abc", state=params["state"])

    assert_refused(response, "another browser session")
    assert AuthorizationAttempt.objects.get().consumed_at is None


def test_callback_without_code_is_refused_and_burns_the_attempt(web_client, version):
    params = start(web_client, version)

    assert_refused(callback(web_client, state=params["state"]), "no authorization code")
    assert AuthorizationAttempt.objects.get().consumed_at is not None


def test_the_providers_error_is_shown(web_client, version):
    params = start(web_client, version)

    response = callback(
        web_client,
        state=params["state"],
        error="access_denied",
        error_description="The user said no",
    )

    assert_refused(response, "Access was denied at the provider: The user said no")


def test_a_provider_error_on_reconnect_is_recorded_on_the_connection(web_client, version, tenant):
    existing = ConnectionFactory(tenant=tenant, auth_version=version)
    params = start(web_client, version, f"?reconnect={existing.pk}")

    response = callback(web_client, state=params["state"], error="server_error")

    assert response.status_code == 400
    assert "server_error" in response.content.decode()
    event = ConnectionEvent.objects.get()
    assert (event.kind, event.connection_ref) == ("reconnect_failed", existing.pk)


@pytest.mark.parametrize("iss", [None, "https://evil.example"])
def test_a_missing_or_wrong_issuer_is_refused(web_client, iss):
    version = AuthVersionFactory(issuer="https://provider.example")
    params = start(web_client, version)
    query = {"state": params["state"], "code": "abc"}
    if iss:
        query["iss"] = iss

    assert_refused(callback(web_client, **query), "unexpected issuer")


def test_an_off_site_return_to_is_refused_before_anything_starts(web_client, version):
    response = web_client.get(
        f"/connect/{version.plugin.slug}/?return_to=https://evil.example/steal"
    )

    assert response.status_code == 400
    assert "not on this site" in response.content.decode()
    assert not AuthorizationAttempt.objects.exists()


def test_a_stored_off_site_return_to_falls_back_to_the_connection_page(
    web_client, version, fake_provider
):
    params = start(web_client, version)
    AuthorizationAttempt.objects.update(return_to="//evil.example/")
    add_token(fake_provider)
    add_me(fake_provider)

    response = callback(web_client, state=params["state"], code="abc")

    connection = Connection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/connections/{connection.pk}/"
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_failed_exchange_shows_the_providers_message(web_client, version, fake_provider):
    params = start(web_client, version)
    add_token(
        fake_provider,
        status=400,
        body={"error": "invalid_grant", "error_description": "Code expired"},
    )

    response = callback(web_client, state=params["state"], code="abc")

    assert_refused(response, "invalid_grant: Code expired")


def test_a_logged_out_user_cannot_use_the_callback_of_a_signed_in_attempt(version, member):
    browser = Client()
    browser.force_login(member)
    params = start(browser, version)
    browser.logout()

    assert_refused(callback(browser, code="abc", state=params["state"]), "another browser session")


def test_connect_page_requires_login(client, version):
    response = client.get(f"/connect/{version.plugin.slug}/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_unknown_plugin_or_version_is_404(web_client, version):
    assert web_client.get("/connect/nope/").status_code == 404
    assert web_client.get(f"/connect/{version.plugin.slug}/?version=99").status_code == 404


def test_draft_versions_cannot_be_connected(web_client):
    version = AuthVersionFactory(publish=False)

    assert web_client.get(f"/connect/{version.plugin.slug}/").status_code == 404


def test_a_specific_version_can_be_chosen(web_client, version):
    newer = AuthVersionFactory(plugin=version.plugin, scopes=["newer"])

    assert start(web_client, newer)["scope"] == "newer"
    assert start(web_client, version, f"?version={version.version}")["scope"] == "read profile"


def test_reconnect_of_another_tenants_connection_is_404(web_client, version, other_tenant):
    foreign = ConnectionFactory(tenant=other_tenant, auth_version=version)

    response = web_client.get(f"/connect/{version.plugin.slug}/?reconnect={foreign.pk}")

    assert response.status_code == 404
