"""No secret (client secret, token, code, verifier, password) reaches any log line of the e2e flows."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.connections import services
from apps.connections.models import Connection
from apps.oauth.models import AuthorizationAttempt

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_the_e2e_flows_log_no_secrets(web_client, oauth_provider_reset, provider_version, caplog):
    provider = oauth_provider_reset
    caplog.set_level(logging.DEBUG)
    secrets: set[str] = {provider.password}
    for key in ("pkce", "service", "password"):
        secrets.add(provider.client(key)["client_secret"])

    # Authorization code with PKCE, a test with a refresh, and a disconnect.
    code_version = provider_version("pkce")
    authorize_url = web_client.get(f"/connect/{code_version.plugin.slug}/")["Location"]
    secrets.add(AuthorizationAttempt.objects.get().code_verifier)
    location = provider.login_and_authorize(authorize_url)
    secrets.add(parse_qs(urlsplit(location).query)["code"][0])
    parts = urlsplit(location)
    assert web_client.get(f"{parts.path}?{parts.query}").status_code == 302
    connection = Connection.objects.get(plugin=code_version.plugin)
    secrets |= {connection.access_token, connection.refresh_token}
    provider.expire_access_tokens()
    services.test_connection(connection=connection)
    connection.refresh_from_db()
    secrets |= {connection.access_token, connection.refresh_token}
    web_client.post(f"/connections/{connection.pk}/disconnect/")

    # Client credentials and password.
    service_version = provider_version("service", scopes=["read"])
    assert web_client.post(f"/connect/{service_version.plugin.slug}/", {}).status_code == 302
    password_version = provider_version("password", refresh_request=None)
    response = web_client.post(
        f"/connect/{password_version.plugin.slug}/",
        {"username": provider.username, "password": provider.password},
    )
    assert response.status_code == 302
    for connection in Connection.objects.exclude(plugin=code_version.plugin):
        secrets |= {connection.access_token, connection.refresh_token}
        services.refresh_tokens(connection)
        connection.refresh_from_db()
        secrets.add(connection.access_token)
    # A failing password connect must not log the attempted password either.
    secrets.add("wrong-password-xyz")
    web_client.post(
        f"/connect/{password_version.plugin.slug}/",
        {"username": provider.username, "password": "wrong-password-xyz"},
    )

    secrets.discard(None)
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    assert caplog.records, "expected the flows to log something"
    leaked = [secret[:6] + "…" for secret in secrets if secret and secret in logged]
    assert not leaked
