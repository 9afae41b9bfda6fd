"""Every endpoint: another tenant's objects are 404, and no answer ever carries a secret."""

from __future__ import annotations

import json

import pytest
import responses

from apps.connections.models import Connection
from tests.connections.conftest import REVOKE_URL, add_me, add_token, token_body
from tests.factories import AuthVersionFactory

pytestmark = pytest.mark.django_db

CONNECTION_ENDPOINTS = [
    ("get", "/api/v1/connections/{id}/"),
    ("delete", "/api/v1/connections/{id}/"),
    ("post", "/api/v1/connections/{id}/credentials/"),
    ("post", "/api/v1/connections/{id}/refresh/"),
    ("post", "/api/v1/connections/{id}/test/"),
    *[
        (method, "/api/v1/connections/{id}/proxy/v1/me")
        for method in ("get", "post", "put", "patch", "delete")
    ],
]


@pytest.mark.parametrize(("method", "path"), CONNECTION_ENDPOINTS)
def test_another_tenants_connection_is_404_and_untouched(
    api_client, other_connection, fake_provider, method, path
):
    before = Connection.objects.get(pk=other_connection.pk)

    response = getattr(api_client, method)(path.format(id=other_connection.pk), {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "No connection with this id."}
    after = Connection.objects.get(pk=other_connection.pk)
    assert (after.access_token, after.status, after.updated_at) == (
        before.access_token,
        before.status,
        before.updated_at,
    )
    assert not fake_provider.calls


def test_another_tenants_events_and_connections_are_not_listed(api_client, other_connection):
    listed = api_client.get("/api/v1/connections/").json()["results"]
    events = api_client.get(f"/api/v1/events/?connection={other_connection.pk}").json()["results"]

    assert listed == []
    assert events == []


@pytest.mark.parametrize(("method", "path"), CONNECTION_ENDPOINTS)
def test_every_endpoint_needs_an_api_key(client, connection, method, path):
    response = getattr(client, method)(path.format(id=connection.pk))

    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


def test_revoked_api_key_is_refused(api_client, issued_key):
    from apps.tenants.services import api_key_revoke

    api_key_revoke(api_key=issued_key.api_key)

    response = api_client.get("/api/v1/connections/")

    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


def _strings(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif value is not None:
        yield str(value)


def test_no_endpoint_returns_secrets_and_only_credentials_returns_the_access_token(
    api_client, tenant, connection, version, fake_provider, issued_key
):
    tenant.allowed_return_urls = ["https://app.example.com/"]
    tenant.save()
    cc = AuthVersionFactory(
        grant_type="client_credentials",
        client_id="",
        client_secret="",
        fields=[{"key": "pin", "label": "PIN", "secret": True, "default": "secret-pin-default-42"}],
    )
    password = AuthVersionFactory(grant_type="password", refresh_request=None)
    secrets = {
        version.client_secret,
        connection.refresh_token,
        "field-secret-value-9876",
        "secret-pin-default-42",
        "tenant-client-secret-77",
        "end-user-password-88",
        "new-refresh-token-abcdef",
        "cc-refresh-token-xyz",
        issued_key.secret,
    }
    tokens = {connection.access_token, "new-access-token-abcdef", "cc-access-token-xyz"}
    add_token(fake_provider)
    add_token(
        fake_provider,
        body=token_body(access_token="cc-access-token-xyz", refresh_token="cc-refresh-token-xyz"),
    )
    add_token(fake_provider)
    add_me(fake_provider)
    fake_provider.add(responses.POST, REVOKE_URL, status=200)

    answers = {}

    def call(name, method, path, data=None):
        response = getattr(api_client, method)(path, data, format="json")
        assert response.status_code < 500, (name, response.content)
        answers[name] = response.json() if response.content else None
        return answers[name]

    cid = connection.pk
    call("tenant", "get", "/api/v1/tenant/")
    call("plugins", "get", "/api/v1/plugins/")
    call("list", "get", "/api/v1/connections/")
    call("detail", "get", f"/api/v1/connections/{cid}/")
    call("refresh", "post", f"/api/v1/connections/{cid}/refresh/")
    call("test", "post", f"/api/v1/connections/{cid}/test/")
    call(
        "create cc",
        "post",
        "/api/v1/connections/",
        {
            "plugin": cc.plugin.slug,
            "fields": {"client_id": "tenant-app", "client_secret": "tenant-client-secret-77"},
        },
    )
    call(
        "create password",
        "post",
        "/api/v1/connections/",
        {
            "plugin": password.plugin.slug,
            "fields": {"username": "jane", "password": "end-user-password-88"},
        },
    )
    call(
        "connect session",
        "post",
        "/api/v1/connect-sessions/",
        {"plugin": cc.plugin.slug, "return_url": "https://app.example.com/x"},
    )
    call("events", "get", "/api/v1/events/")
    call("credentials", "post", f"/api/v1/connections/{cid}/credentials/")
    call("delete", "delete", f"/api/v1/connections/{cid}/")
    call("events after delete", "get", "/api/v1/events/")

    for name, answer in answers.items():
        text = json.dumps(answer)
        leaked = [secret for secret in secrets if secret and secret in text]
        assert not leaked, (name, leaked)
        if name != "credentials":
            shown = [token for token in tokens if token in text]
            assert not shown, (name, shown)
    assert answers["credentials"]["access_token"] == "new-access-token-abcdef"
    assert any("fields" in item for item in answers["list"]["results"])
    assert "pin" in json.dumps(answers["plugins"])
    assert list(_strings(answers["events after delete"]))
