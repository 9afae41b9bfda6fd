"""The API proxy against a faked provider: URLs, headers, bodies, streaming, retry, limits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
from django.utils import timezone
from responses import matchers

from apps.connections import proxy
from apps.connections.models import Connection
from tests.connections.conftest import add_token
from tests.factories import PROVIDER_BASE, AuthVersionFactory, ConnectionFactory, PluginFactory

pytestmark = pytest.mark.django_db

API = f"{PROVIDER_BASE}/api"


def proxy_url(connection, path: str) -> str:
    return f"/api/v1/connections/{connection.pk}/proxy/{path}"


def test_get_forwards_path_query_and_request_params(api_client, connection, fake_provider):
    upstream = fake_provider.add(
        responses.GET,
        f"{API}/v1/contacts",
        json={"contacts": []},
        headers={"X-RateLimit-Remaining": "99", "Connection": "keep-alive, X-Secret-Hop"},
        match=[
            matchers.query_param_matcher({"page": "2", "region": "us", "tag": ["a", "b"]}),
            matchers.header_matcher(
                {"Authorization": f"Bearer {connection.access_token}", "X-Region": "us"}
            ),
        ],
    )

    response = api_client.get(proxy_url(connection, "v1/contacts?page=2&tag=a&tag=b&region=eu"))

    assert response.status_code == 200, response.content
    assert response.json() == {"contacts": []}
    assert response["Content-Type"] == "application/json"
    assert response["X-RateLimit-Remaining"] == "99"
    assert upstream.call_count == 1


def test_callers_api_key_and_cookies_never_reach_the_provider(
    api_client, connection, fake_provider, issued_key
):
    fake_provider.add(responses.GET, f"{API}/me", json={})

    api_client.get(
        proxy_url(connection, "me"),
        HTTP_COOKIE="sessionid=abc",
        HTTP_X_CUSTOM="kept",
        HTTP_PROXY_AUTHORIZATION="Basic eA==",
        HTTP_TE="trailers",
        HTTP_UPGRADE="websocket",
    )

    sent = fake_provider.calls[0].request.headers
    assert sent["Authorization"] == f"Bearer {connection.access_token}"
    assert issued_key.secret not in json.dumps(dict(sent))
    assert "Cookie" not in sent
    assert sent["X-Custom"] == "kept"
    for hop in ("Proxy-Authorization", "TE", "Upgrade"):
        assert hop not in sent


def test_hop_by_hop_and_cookie_headers_of_the_answer_are_dropped(
    api_client, connection, fake_provider
):
    fake_provider.add(
        responses.GET,
        f"{API}/me",
        body="ok",
        content_type="text/plain",
        headers={"Set-Cookie": "provider=1", "Keep-Alive": "timeout=5", "ETag": '"v1"'},
    )

    response = api_client.get(proxy_url(connection, "me"))

    assert response.content == b"ok"
    assert response["ETag"] == '"v1"'
    assert "Set-Cookie" not in response
    assert "Keep-Alive" not in response
    assert response["Content-Type"] == "text/plain"


def test_provider_errors_come_back_as_they_are(api_client, connection, fake_provider):
    fake_provider.add(
        responses.POST, f"{API}/v1/contacts", status=422, json={"message": "name is required"}
    )

    response = api_client.post(proxy_url(connection, "v1/contacts"), {}, format="json")

    assert response.status_code == 422
    assert response.json() == {"message": "name is required"}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_bodies_pass_through_unchanged(api_client, connection, fake_provider, method):
    fake_provider.add(method.upper(), f"{API}/v1/things/7", json={"ok": True})
    payload = b'{"name": "Ada", "tags": [1, 2]}'

    response = getattr(api_client, method)(
        proxy_url(connection, "v1/things/7"), payload, content_type="application/json"
    )

    assert response.status_code == 200
    assert fake_provider.calls[0].request.body == payload
    assert fake_provider.calls[0].request.headers["Content-Type"] == "application/json"


def test_request_params_body_is_merged_into_json_and_form_bodies(api_client, tenant, fake_provider):
    version = AuthVersionFactory(
        request_params={"headers": {}, "query": {}, "body": {"api_key": "{{ access_token }}"}}
    )
    connection = ConnectionFactory(tenant=tenant, auth_version=version)
    fake_provider.add(responses.POST, f"{API}/json", json={})
    fake_provider.add(responses.POST, f"{API}/form", json={})
    fake_provider.add(responses.POST, f"{API}/raw", json={})

    api_client.post(proxy_url(connection, "json"), {"name": "Ada"}, format="json")
    api_client.post(
        proxy_url(connection, "form"),
        "name=Ada&api_key=forged",
        content_type="application/x-www-form-urlencoded",
    )
    api_client.post(proxy_url(connection, "raw"), b"\x00\x01", content_type="image/png")

    token = connection.access_token
    assert json.loads(fake_provider.calls[0].request.body) == {"name": "Ada", "api_key": token}
    assert fake_provider.calls[1].request.body in (
        f"name=Ada&api_key={token}",
        f"name=Ada&api_key={token}".encode(),
    )
    assert fake_provider.calls[2].request.body == b"\x00\x01"


def test_json_body_that_cannot_be_merged_is_a_400(api_client, tenant, fake_provider):
    version = AuthVersionFactory(
        request_params={"headers": {}, "query": {}, "body": {"api_key": "x"}}
    )
    connection = ConnectionFactory(tenant=tenant, auth_version=version)

    response = api_client.post(proxy_url(connection, "x"), "[1]", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert not fake_provider.calls


@pytest.mark.parametrize(
    "path",
    ["../../oauth/token", "v1/%2e%2e/%2e%2e/admin", "..%2F..%2Foauth/token"],
)
def test_paths_that_climb_out_of_the_base_url_are_refused(
    api_client, connection, path, fake_provider
):
    response = api_client.get(proxy_url(connection, path))

    assert response.status_code == 403
    assert response.json()["error"] == "url_not_allowed"
    assert not fake_provider.calls


def test_url_outside_allowed_urls_is_403_naming_it(api_client, tenant, fake_provider):
    version = AuthVersionFactory(allowed_urls=[f"{API}/v2/"])
    connection = ConnectionFactory(tenant=tenant, auth_version=version)

    response = api_client.get(proxy_url(connection, "v1/contacts?secret=x"))

    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "url_not_allowed"
    assert f"{API}/v1/contacts" in body["detail"]
    assert body["url"].startswith(f"{API}/v1/contacts")
    assert not fake_provider.calls


def test_api_base_url_is_rendered_per_connection(api_client, tenant, fake_provider):
    plugin = PluginFactory(api_base_url="https://{{ fields.subdomain }}.example.com/api/")
    version = AuthVersionFactory(
        plugin=plugin, allowed_urls=["https://{{ fields.subdomain }}.example.com/"]
    )
    connection = ConnectionFactory(
        tenant=tenant, auth_version=version, field_values={"subdomain": "acme"}
    )
    fake_provider.add(responses.GET, "https://acme.example.com/api/users", json=[1])

    response = api_client.get(proxy_url(connection, "users"))

    assert response.status_code == 200
    assert response.json() == [1]


def test_plugin_without_api_base_url_is_a_422(api_client, tenant):
    version = AuthVersionFactory(plugin=PluginFactory(api_base_url=""))
    connection = ConnectionFactory(tenant=tenant, auth_version=version)

    response = api_client.get(proxy_url(connection, "x"))

    assert response.status_code == 422
    assert response.json()["error"] == "configuration_error"


def test_expired_token_status_refreshes_once_and_retries(api_client, connection, fake_provider):
    old = connection.access_token
    fake_provider.add(
        responses.POST,
        f"{API}/me",
        status=401,
        json={"error": "invalid_token"},
        match=[matchers.header_matcher({"Authorization": f"Bearer {old}"})],
    )
    fake_provider.add(
        responses.POST,
        f"{API}/me",
        json={"id": 1},
        match=[matchers.header_matcher({"Authorization": "Bearer new-access-token-abcdef"})],
    )
    token = add_token(fake_provider)

    response = api_client.post(proxy_url(connection, "me"), {"a": 1}, format="json")

    assert response.status_code == 200
    assert response.json() == {"id": 1}
    assert token.call_count == 1
    assert len(fake_provider.calls) == 3
    assert json.loads(fake_provider.calls[2].request.body) == {"a": 1}


def test_a_second_expired_answer_is_passed_back_without_another_refresh(
    api_client, connection, fake_provider
):
    fake_provider.add(responses.GET, f"{API}/me", status=401, json={"error": "invalid_token"})
    token = add_token(fake_provider)

    response = api_client.get(proxy_url(connection, "me"))

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}
    assert token.call_count == 1


def test_custom_expired_statuses(api_client, tenant, fake_provider):
    version = AuthVersionFactory(expired_token_statuses=[403])
    connection = ConnectionFactory(tenant=tenant, auth_version=version)
    fake_provider.add(responses.GET, f"{API}/me", status=401, json={})
    token = add_token(fake_provider)

    response = api_client.get(proxy_url(connection, "me"))

    assert response.status_code == 401
    assert token.call_count == 0


def test_dead_grant_on_retry_answers_409(api_client, connection, fake_provider):
    fake_provider.add(responses.GET, f"{API}/me", status=401, json={})
    add_token(fake_provider, status=400, body={"error": "invalid_grant"})
    fake_provider.add(responses.POST, f"{PROVIDER_BASE}/oauth/revoke", status=200)

    response = api_client.get(proxy_url(connection, "me"))

    assert response.status_code == 409
    assert response.json()["error"] == "needs_reauth"


def test_expired_token_is_refreshed_before_the_call(api_client, connection, fake_provider):
    Connection.objects.filter(pk=connection.pk).update(
        expires_at=timezone.now() - timedelta(seconds=5)
    )
    add_token(fake_provider)
    fake_provider.add(
        responses.GET,
        f"{API}/me",
        json={},
        match=[matchers.header_matcher({"Authorization": "Bearer new-access-token-abcdef"})],
    )

    assert api_client.get(proxy_url(connection, "me")).status_code == 200


def test_needs_reauth_connection_is_409(api_client, connection, fake_provider):
    Connection.objects.filter(pk=connection.pk).update(status="needs_reauth", access_token=None)

    response = api_client.get(proxy_url(connection, "me"))

    assert response.status_code == 409
    assert not fake_provider.calls


def test_large_answers_are_streamed(api_client, connection, fake_provider):
    payload = b"x" * (proxy.BUFFERED_RESPONSE_BYTES * 3 + 17)
    fake_provider.add(
        responses.GET, f"{API}/export", body=payload, content_type="application/octet-stream"
    )

    response = api_client.get(proxy_url(connection, "export"))

    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == payload
    assert response["Content-Type"] == "application/octet-stream"


def test_small_answers_are_not_streamed(api_client, connection, fake_provider):
    fake_provider.add(responses.GET, f"{API}/me", json={"id": 1})

    response = api_client.get(proxy_url(connection, "me"))

    assert not response.streaming


def test_oversized_request_body_is_413_and_not_sent(api_client, connection, fake_provider):
    response = api_client.generic(
        "POST",
        proxy_url(connection, "upload"),
        b"x" * (proxy.MAX_REQUEST_BYTES + 1),
        content_type="application/octet-stream",
    )

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert not fake_provider.calls


def test_large_request_bodies_are_streamed_and_not_retried(
    api_client, connection, fake_provider, monkeypatch
):
    monkeypatch.setattr(proxy, "BUFFERED_REQUEST_BYTES", 1024)
    fake_provider.add(responses.POST, f"{API}/upload", status=401, json={})
    token = add_token(fake_provider)
    payload = b"y" * 5000

    response = api_client.generic(
        "POST", proxy_url(connection, "upload"), payload, content_type="application/octet-stream"
    )

    assert response.status_code == 401
    assert token.call_count == 0
    sent = fake_provider.calls[0].request
    body = sent.body.read() if hasattr(sent.body, "read") else sent.body
    assert body == payload
    assert sent.headers["Content-Length"] == "5000"


def test_provider_timeout_is_503(api_client, connection, fake_provider):
    import requests

    fake_provider.add(responses.GET, f"{API}/slow", body=requests.Timeout("slow"))

    response = api_client.get(proxy_url(connection, "slow"))

    assert response.status_code == 503
    assert response.json()["error"] == "provider_unavailable"


def test_head_and_options_are_not_proxied(api_client, connection, fake_provider):
    assert api_client.head(proxy_url(connection, "me")).status_code == 405
    assert api_client.options(proxy_url(connection, "me")).status_code == 405
    assert not fake_provider.calls


def test_accept_header_goes_to_the_provider(api_client, connection, fake_provider):
    fake_provider.add(responses.GET, f"{API}/logo", body=b"PNG", content_type="image/png")

    response = api_client.get(proxy_url(connection, "logo"), HTTP_ACCEPT="image/png")

    assert response.status_code == 200
    assert fake_provider.calls[0].request.headers["Accept"] == "image/png"
