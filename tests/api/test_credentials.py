"""POST /connections/{id}/credentials/: fresh tokens and request params, cheaply."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from apps.api.views.connections import ConnectionCredentialsView
from apps.connections.credentials import credentials_get
from apps.connections.models import Connection, ConnectionEvent
from apps.connections.selectors import connection_get_for_tenant
from tests.connections.conftest import REVOKE_URL, add_token
from tests.factories import AuthVersionFactory, ConnectionFactory

pytestmark = pytest.mark.django_db


def credentials(api_client, connection, **data):
    return api_client.post(
        f"/api/v1/connections/{connection.pk}/credentials/", data or None, format="json"
    )


def test_returns_the_token_and_rendered_request_params(api_client, connection):
    response = credentials(api_client, connection)

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"] == connection.access_token
    assert body["token_type"] == "Bearer"
    assert body["expires_at"] is not None
    assert body["request_params"] == {
        "headers": {"Authorization": f"Bearer {connection.access_token}", "X-Region": "us"},
        "query": {"region": "us"},
        "body": {},
    }


def test_valid_token_costs_two_queries_and_writes_nothing(api_client, connection, issued_key):
    credentials(api_client, connection)  # the key's last_used_at write happens once a minute

    with CaptureQueriesContext(db) as queries:
        response = credentials(api_client, connection)

    assert response.status_code == 200
    assert len(queries) <= 2, [query["sql"] for query in queries]
    assert not ConnectionEvent.objects.exists()


def test_refreshes_when_the_token_expires_within_min_validity(
    api_client, connection, fake_provider
):
    Connection.objects.filter(pk=connection.pk).update(
        expires_at=timezone.now() + timedelta(seconds=100)
    )
    token = add_token(fake_provider)

    first = credentials(api_client, connection, min_validity=60)
    second = credentials(api_client, connection, min_validity=300)

    assert first.json()["access_token"] == connection.access_token
    assert second.status_code == 200
    assert second.json()["access_token"] == "new-access-token-abcdef"
    assert token.call_count == 1


def test_needs_reauth_answers_409_with_a_reconnect_link(api_client, connection):
    Connection.objects.filter(pk=connection.pk).update(
        status="needs_reauth", access_token=None, last_error="invalid_grant: token revoked"
    )

    response = credentials(api_client, connection)

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "needs_reauth"
    assert "reconnect" in body["detail"].lower()
    assert body["reconnect_url"] == (
        f"http://testserver/connect/{connection.plugin.slug}/?reconnect={connection.pk}"
    )
    assert "access_token" not in body


def test_dead_grant_during_refresh_answers_409(api_client, connection, fake_provider):
    Connection.objects.filter(pk=connection.pk).update(expires_at=timezone.now())
    add_token(fake_provider, status=400, body={"error": "invalid_grant"})
    fake_provider.add(responses.POST, REVOKE_URL, status=200)

    response = credentials(api_client, connection)

    assert response.status_code == 409
    assert Connection.objects.get(pk=connection.pk).status == "needs_reauth"


def test_provider_outage_during_refresh_answers_503(api_client, connection, fake_provider):
    Connection.objects.filter(pk=connection.pk).update(expires_at=timezone.now())
    add_token(fake_provider, status=502, body="Bad gateway")

    response = credentials(api_client, connection)

    assert response.status_code == 503
    assert response.json()["error"] == "provider_unavailable"


def test_unusable_token_answer_is_a_502(api_client, connection, fake_provider):
    Connection.objects.filter(pk=connection.pk).update(expires_at=timezone.now())
    add_token(fake_provider, status=200, body="<html>not a token</html>", content_type="text/html")

    response = credentials(api_client, connection)

    assert response.status_code == 502, response.json()
    assert response.json()["error"] == "bad_provider_response"


def test_request_params_template_error_is_a_422_naming_it(api_client, tenant):
    version = AuthVersionFactory(
        request_params={"headers": {"X-Account": "{{ me.account.id }}"}, "query": {}, "body": {}}
    )
    connection = ConnectionFactory(tenant=tenant, auth_version=version, me={"name": "x"})

    response = credentials(api_client, connection)

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "template_error"
    assert "me.account" in body["detail"]


def test_authorization_header_can_be_replaced_or_removed(api_client, tenant):
    version = AuthVersionFactory(
        request_params={
            "headers": {"authorization": None, "X-Api-Token": "{{ access_token }}"},
            "query": {},
            "body": {"token": "{{ access_token }}", "count": 3},
        }
    )
    connection = ConnectionFactory(tenant=tenant, auth_version=version)

    params = credentials(api_client, connection).json()["request_params"]

    assert params["headers"] == {"X-Api-Token": connection.access_token}
    assert params["body"] == {"token": connection.access_token, "count": 3}


@pytest.mark.parametrize(
    "data", [{"min_validity": -1}, {"min_validity": "soon"}, {"min_validity": 10**9}, {"x": 1}]
)
def test_rejects_bad_min_validity(api_client, connection, data):
    response = credentials(api_client, connection, **data)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"


@pytest.mark.parametrize(
    "data",
    [
        {}, {"min_validity": 0}, {"min_validity": "300"}, {"min_validity": 86_400},
        {"min_validity": -1}, {"min_validity": "soon"}, {"min_validity": None},
        {"min_validity": 10**9}, {"min_validity": 1.5}, {"x": 1}, {"min_validity": 5, "x": 1},
        [], "text",
    ],
)  # fmt: skip
def test_min_validity_reads_as_the_declared_serializer_validates(data):
    serializer = ConnectionCredentialsView.CredentialsRequestSerializer(data=data)
    view = ConnectionCredentialsView()
    if serializer.is_valid():
        assert view._min_validity(data) == serializer.validated_data["min_validity"]
    else:
        with pytest.raises(serializers.ValidationError) as raised:
            view._min_validity(data)
        detail = raised.value.detail
        assert detail == serializer.errors


@pytest.mark.parametrize("expires_in", [timedelta(hours=1), None])
def test_output_is_what_the_declared_serializer_fields_render(connection, expires_in):
    connection.expires_at = timezone.now() + expires_in if expires_in else None
    creds = credentials_get(connection=connection)
    serializer = ConnectionCredentialsView.CredentialsSerializer(creds)

    assert serializer.data == serializers.Serializer.to_representation(serializer, creds)


def test_connection_lookup_is_one_query_and_matches_the_orm(tenant, connection, other_tenant):
    with CaptureQueriesContext(db) as queries:
        loaded = connection_get_for_tenant(tenant=tenant, connection_id=str(connection.pk))
    orm = Connection.objects.select_related("plugin", "auth_version").get(pk=connection.pk)

    assert len(queries) == 1
    assert loaded.field_values == orm.field_values
    assert loaded.access_token == orm.access_token
    assert loaded.auth_version.request_params == orm.auth_version.request_params
    assert loaded.auth_version.client_secret == orm.auth_version.client_secret
    assert loaded.plugin.api_base_url == orm.plugin.api_base_url
    with pytest.raises(Connection.DoesNotExist):
        connection_get_for_tenant(tenant=other_tenant, connection_id=connection.pk)
