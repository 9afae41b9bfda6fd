"""Connect sessions: the API creates a single-use link; an end user without an account connects."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from apps.connections.models import Connection
from apps.oauth.models import ConnectSession
from apps.oauth.services import hash_secret
from tests.connections.conftest import ME, add_me, add_token
from tests.factories import AuthVersionFactory

pytestmark = pytest.mark.django_db

RETURN_URL = "https://app.example.com/integrations/done"


@pytest.fixture
def allowed_tenant(tenant):
    tenant.allowed_return_urls = ["https://app.example.com/integrations/"]
    tenant.save()
    return tenant


@pytest.fixture
def cc_version(db):
    return AuthVersionFactory(
        grant_type="client_credentials",
        client_id="",
        client_secret="",
        fields=[{"key": "region", "label": "Region", "required": True}],
    )


def create(api_client, **data):
    return api_client.post("/api/v1/connect-sessions/", data, format="json")


def token_of(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def test_create_returns_a_single_use_url_and_stores_only_a_hash(
    api_client, allowed_tenant, cc_version
):
    response = create(
        api_client,
        plugin=cc_version.plugin.slug,
        external_user_id="user-9",
        prefilled_fields={"region": "eu"},
        return_url=RETURN_URL,
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["url"].startswith("http://testserver/connect-session/")
    session = ConnectSession.objects.get(pk=body["id"])
    token = token_of(body["url"])
    assert session.token_hash == hash_secret(token)
    assert token not in session.token_hash
    assert session.tenant == allowed_tenant
    assert session.external_user_id == "user-9"
    remaining = session.expires_at - timezone.now()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)


@pytest.mark.parametrize(
    "return_url",
    [
        "https://app.example.com/integrations-evil/done",
        "https://app.example.com/other",
        "https://evil.example.com/integrations/done",
        "http://app.example.com/integrations/done",
        "https://app.example.com:8443/integrations/done",
        "https://user@app.example.com/integrations/done",
        "javascript:alert(1)",
    ],
)
def test_return_url_must_start_with_an_allowed_prefix(
    api_client, allowed_tenant, cc_version, return_url
):
    response = create(api_client, plugin=cc_version.plugin.slug, return_url=return_url)

    assert response.status_code == 400
    assert "return_url" in response.json()["fields"]
    assert not ConnectSession.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"plugin": "nope"}, "plugin"),
        ({"auth_version": 77}, "auth_version"),
        ({"prefilled_fields": {"colour": "red"}}, "prefilled_fields"),
        ({"prefilled_fields": {"client_secret": "x"}}, "prefilled_fields"),
        ({"prefilled_fields": {"region": {"a": 1}}}, "prefilled_fields"),
        ({"external_user_id": 5 * "x" * 100}, "external_user_id"),
        ({"expires_in": 10}, "expires_in"),
    ],
)
def test_create_rejects_bad_input(api_client, allowed_tenant, cc_version, data, field):
    response = create(api_client, **{"plugin": cc_version.plugin.slug, **data})

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_client_credentials_link_connects_and_returns_to_the_app(
    api_client, allowed_tenant, cc_version, fake_provider
):
    url = create(
        api_client,
        plugin=cc_version.plugin.slug,
        external_user_id="user-9",
        prefilled_fields={"region": "eu"},
        return_url=RETURN_URL + "?step=3",
    ).json()["url"]
    add_token(fake_provider)
    add_me(fake_provider)
    browser = Client()

    page = browser.get(url)
    assert page.status_code == 200
    assert b'value="eu"' in page.content
    done = browser.post(
        url, {"region": "eu", "client_id": "end-user-app", "client_secret": "end-user-secret"}
    )

    connection = Connection.objects.get()
    assert connection.tenant == allowed_tenant
    assert connection.external_user_id == "user-9"
    assert connection.label == ME["name"]
    assert done.status_code == 302
    location = urlsplit(done["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN_URL
    assert parse_qs(location.query) == {
        "step": ["3"],
        "connection_id": [str(connection.pk)],
        "status": ["connected"],
    }
    again = browser.get(url)
    assert again.status_code == 410
    assert b"already used" in again.content


def test_provider_refusal_is_shown_on_the_form(
    api_client, allowed_tenant, cc_version, fake_provider
):
    url = create(api_client, plugin=cc_version.plugin.slug).json()["url"]
    add_token(
        fake_provider, status=401, body={"error": "invalid_client", "error_description": "Bad app"}
    )

    page = Client().post(url, {"region": "eu", "client_id": "a", "client_secret": "b"})

    assert page.status_code == 400
    assert b"Bad app" in page.content
    assert not Connection.objects.exists()
    assert ConnectSession.objects.get().completed_at is None


def test_without_return_url_a_done_page_is_shown(api_client, tenant, cc_version, fake_provider):
    url = create(api_client, plugin=cc_version.plugin.slug).json()["url"]
    add_token(fake_provider)
    add_me(fake_provider)

    page = Client().post(url, {"region": "eu", "client_id": "a", "client_secret": "b"})

    assert page.status_code == 200
    assert b"connected" in page.content


def test_expired_and_unknown_links(api_client, tenant, cc_version):
    url = create(api_client, plugin=cc_version.plugin.slug).json()["url"]
    ConnectSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    expired = Client().get(url)
    unknown = Client().get("/connect-session/not-a-real-token/")

    assert expired.status_code == 410
    assert b"expired" in expired.content
    assert unknown.status_code == 404


def test_finish_page_needs_the_browser_that_started(api_client, tenant, cc_version):
    session_id = create(api_client, plugin=cc_version.plugin.slug).json()["id"]

    assert Client().get(f"/connect-session/{session_id}/finish/").status_code == 404
