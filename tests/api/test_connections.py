"""Connections through the API: list, filters, pagination, retrieve, delete, refresh, test, create."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from apps.connections.models import Connection, ConnectionEvent
from tests.connections.conftest import ME, ME_URL, REVOKE_URL, add_me, add_token
from tests.factories import AuthVersionFactory, ConnectionFactory, PluginFactory

pytestmark = pytest.mark.django_db

TOKEN_FIELDS = {"access_token", "refresh_token", "token_response", "field_values"}


def test_list_returns_the_tenants_connections_without_tokens(
    api_client, connection, other_connection
):
    response = api_client.get("/api/v1/connections/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["id"] for item in results] == [str(connection.pk)]
    item = results[0]
    assert item["plugin"] == connection.plugin.slug
    assert item["auth_version"] == connection.auth_version.version
    assert item["fields"] == {"region": "us"}
    assert not TOKEN_FIELDS & set(item)
    assert item["reconnect_url"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=needs_reauth", ["broken"]),
        ("external_user_id=user-2", ["second"]),
        ("external_user_id=", ["broken"]),
        ("plugin=other-plugin", ["second"]),
        ("plugin=other-plugin&status=active", ["second"]),
        ("plugin=nothing-here", []),
    ],
)
def test_list_filters(api_client, tenant, version, query, expected):
    ConnectionFactory(tenant=tenant, auth_version=version, label="first", external_user_id="user-1")
    ConnectionFactory(tenant=tenant, auth_version=version, label="broken", status="needs_reauth")
    other = AuthVersionFactory(plugin=PluginFactory(slug="other-plugin"))
    ConnectionFactory(tenant=tenant, auth_version=other, label="second", external_user_id="user-2")

    response = api_client.get(f"/api/v1/connections/?{query}")

    assert response.status_code == 200
    assert [item["label"] for item in response.json()["results"]] == expected


@pytest.mark.parametrize(
    "query", ["status=sleeping", "plugin=not%20a%20slug", f"external_user_id={'x' * 256}"]
)
def test_list_rejects_bad_filters_with_field_messages(api_client, query):
    response = api_client.get(f"/api/v1/connections/?{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert set(body["fields"]) == {query.split("=")[0]}


def test_list_is_cursor_paginated_newest_first(api_client, tenant, version):
    now = timezone.now()
    for index in range(5):
        ConnectionFactory(tenant=tenant, auth_version=version, label=f"c{index}")
        Connection.objects.filter(label=f"c{index}").update(
            created_at=now - timedelta(minutes=index)
        )

    first = api_client.get("/api/v1/connections/?limit=2").json()
    second = api_client.get(first["next"]).json()
    third = api_client.get(second["next"]).json()

    labels = [item["label"] for page in (first, second, third) for item in page["results"]]
    assert labels == ["c0", "c1", "c2", "c3", "c4"]
    assert third["next"] is None


def test_retrieve_shows_one_connection_and_a_reconnect_link_when_it_needs_one(
    api_client, connection
):
    Connection.objects.filter(pk=connection.pk).update(status="needs_reauth")

    body = api_client.get(f"/api/v1/connections/{connection.pk}/").json()

    assert body["id"] == str(connection.pk)
    assert body["status"] == "needs_reauth"
    assert body["reconnect_url"] == (
        f"http://testserver/connect/{connection.plugin.slug}/?reconnect={connection.pk}"
    )


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_or_malformed_id_is_a_json_404(api_client, bad_id):
    response = api_client.get(f"/api/v1/connections/{bad_id}/")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_delete_revokes_at_the_provider_deletes_and_keeps_the_audit_log(
    api_client, connection, fake_provider
):
    revoke = fake_provider.add(responses.POST, REVOKE_URL, status=200)

    response = api_client.delete(f"/api/v1/connections/{connection.pk}/")

    assert response.status_code == 204
    assert revoke.call_count == 2
    assert not Connection.objects.filter(pk=connection.pk).exists()
    kinds = list(
        ConnectionEvent.objects.filter(connection_ref=connection.pk).values_list("kind", flat=True)
    )
    assert kinds[:2] == ["deleted", "revoked"]
    events = api_client.get(f"/api/v1/events/?connection={connection.pk}").json()["results"]
    assert events[0]["kind"] == "deleted"
    assert events[0]["detail"]["plugin"] == connection.plugin.slug


def test_delete_goes_ahead_when_the_provider_cannot_revoke(api_client, connection, fake_provider):
    fake_provider.add(responses.POST, REVOKE_URL, status=503)

    response = api_client.delete(f"/api/v1/connections/{connection.pk}/")

    assert response.status_code == 204
    assert not Connection.objects.filter(pk=connection.pk).exists()


def test_force_refresh_gets_a_new_token(api_client, connection, fake_provider):
    add_token(fake_provider)

    response = api_client.post(f"/api/v1/connections/{connection.pk}/refresh/")

    assert response.status_code == 200, response.json()
    connection.refresh_from_db()
    assert connection.access_token == "new-access-token-abcdef"
    assert "access_token" not in response.json()


def test_refresh_with_a_dead_grant_answers_409_with_a_reconnect_link(
    api_client, connection, fake_provider
):
    add_token(fake_provider, status=400, body={"error": "invalid_grant"})
    fake_provider.add(responses.POST, REVOKE_URL, status=200)

    response = api_client.post(f"/api/v1/connections/{connection.pk}/refresh/")

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "needs_reauth"
    assert body["reconnect_url"].endswith(f"?reconnect={connection.pk}")
    connection.refresh_from_db()
    assert connection.status == "needs_reauth"


def test_refresh_when_the_provider_is_down_answers_503(api_client, connection, fake_provider):
    add_token(fake_provider, status=503, body={"error": "temporarily_unavailable"})

    response = api_client.post(f"/api/v1/connections/{connection.pk}/refresh/")

    assert response.status_code == 503
    assert response.json()["error"] == "provider_unavailable"
    assert response["Retry-After"]


def test_refresh_without_a_refresh_token_is_refused(api_client, connection):
    Connection.objects.filter(pk=connection.pk).update(refresh_token=None)

    response = api_client.post(f"/api/v1/connections/{connection.pk}/refresh/")

    assert response.status_code == 409
    assert "no refresh token" in response.json()["detail"]


def test_test_calls_the_test_api_and_updates_the_label(api_client, connection, fake_provider):
    add_me(fake_provider, body={**ME, "name": "Renamed"})

    response = api_client.post(f"/api/v1/connections/{connection.pk}/test/")

    assert response.status_code == 200
    assert response.json()["label"] == "Renamed"


def test_test_reports_the_providers_error_as_422(api_client, connection, fake_provider):
    fake_provider.add(
        responses.GET,
        ME_URL,
        status=403,
        json={"error": "insufficient_scope", "error_description": "Needs profile scope"},
    )

    response = api_client.post(f"/api/v1/connections/{connection.pk}/test/")

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "provider_error"
    assert body["provider_error"] == "insufficient_scope"
    assert "Needs profile scope" in body["detail"]


def test_test_of_a_connection_that_needs_reauth_is_409(api_client, connection):
    Connection.objects.filter(pk=connection.pk).update(status="needs_reauth", access_token=None)

    response = api_client.post(f"/api/v1/connections/{connection.pk}/test/")

    assert response.status_code == 409
    assert response.json()["error"] == "needs_reauth"


# Create (client credentials and password)


@pytest.fixture
def cc_version(db):
    return AuthVersionFactory(
        grant_type="client_credentials",
        client_id="",
        client_secret="",
        fields=[
            {
                "key": "region",
                "label": "Region",
                "type": "select",
                "choices": ["eu", "us"],
                "required": True,
            }
        ],
    )


def test_create_client_credentials_connection(api_client, tenant, cc_version, fake_provider):
    token = add_token(fake_provider, json={"access_token": "cc-token-abcdef", "expires_in": 600})
    add_me(fake_provider)

    response = api_client.post(
        "/api/v1/connections/",
        {
            "plugin": cc_version.plugin.slug,
            "fields": {"client_id": "tenant-app", "client_secret": "tenant-secret", "region": "eu"},
            "external_user_id": "user-7",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["label"] == ME["name"]
    assert body["external_user_id"] == "user-7"
    assert body["fields"] == {"client_id": "tenant-app", "region": "eu"}
    assert "tenant-secret" not in response.content.decode()
    assert token.call_count == 1
    connection = Connection.objects.get(pk=body["id"])
    assert connection.tenant == tenant
    assert connection.access_token == "cc-token-abcdef"


def test_create_password_connection(api_client, fake_provider):
    version = AuthVersionFactory(grant_type="password", refresh_request=None)
    add_token(fake_provider)
    add_me(fake_provider)

    response = api_client.post(
        "/api/v1/connections/",
        {
            "plugin": version.plugin.slug,
            "auth_version": version.version,
            "fields": {"username": "jane", "password": "hunter2-hunter2"},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert "hunter2" not in response.content.decode()


def test_create_reports_the_providers_refusal_as_422(api_client, cc_version, fake_provider):
    add_token(
        fake_provider,
        status=401,
        body={"error": "invalid_client", "error_description": "Unknown client tenant-app"},
    )

    response = api_client.post(
        "/api/v1/connections/",
        {
            "plugin": cc_version.plugin.slug,
            "fields": {"client_id": "tenant-app", "client_secret": "wrong", "region": "eu"},
        },
        format="json",
    )

    assert response.status_code == 422
    body = response.json()
    assert body["provider_error"] == "invalid_client"
    assert "Unknown client tenant-app" in body["detail"]
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"fields": {"client_id": "a", "client_secret": "b"}}, "fields"),
        ({"fields": {"client_id": "a", "client_secret": "b", "region": "mars"}}, "fields"),
        ({"fields": {"client_id": "a", "client_secret": "b", "region": "eu", "x": "1"}}, "fields"),
        ({"fields": {"client_id": ["a"], "client_secret": "b", "region": "eu"}}, "fields"),
        ({"fields": "client_id=a"}, "fields"),
        ({"plugin": "no-such-plugin"}, "plugin"),
        ({"plugin": 12}, "plugin"),
        ({"auth_version": 999}, "auth_version"),
        ({"auth_version": "one"}, "auth_version"),
        ({"external_user_id": "x" * 256}, "external_user_id"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_create_rejects_bad_input_with_field_messages(
    api_client, cc_version, fake_provider, payload, field
):
    data = {
        "plugin": cc_version.plugin.slug,
        "fields": {"client_id": "a", "client_secret": "b", "region": "eu"},
        **payload,
    }

    response = api_client.post("/api/v1/connections/", data, format="json")

    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["error"] == "invalid"
    assert field in body["fields"]
    assert not Connection.objects.exists()
    assert len(fake_provider.calls) == 0


def test_create_for_an_authorization_code_plugin_points_to_connect_sessions(api_client, version):
    response = api_client.post(
        "/api/v1/connections/", {"plugin": version.plugin.slug}, format="json"
    )

    assert response.status_code == 400
    assert "connect session" in response.json()["fields"]["plugin"][0]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"just a string"', "application/json"),
        (b"plugin=x", "application/x-www-form-urlencoded"),
        (b'{"plugin": "' + b"x" * 300_000 + b'"}', "application/json"),
    ],
)
def test_create_rejects_malformed_bodies(api_client, cc_version, body, content_type):
    response = api_client.generic("POST", "/api/v1/connections/", body, content_type=content_type)

    assert response.status_code in (400, 415)
    assert set(response.json()) >= {"error", "detail"}
    assert not Connection.objects.exists()


def test_create_refuses_token_url_outside_https(api_client, fake_provider):
    version = AuthVersionFactory(
        grant_type="client_credentials", token_request="http://provider.example/oauth/token"
    )

    response = api_client.post(
        "/api/v1/connections/", {"plugin": version.plugin.slug}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"] == "url_not_allowed"
    assert "http://provider.example/oauth/token" in response.json()["detail"]
