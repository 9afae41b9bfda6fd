"""Suite-wide fixtures."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.tenants.services import IssuedApiKey, api_key_create
from tests.factories import MembershipFactory, TenantFactory, UserFactory

pytest_plugins = ["tests.provider.fixtures"]


@pytest.fixture
def tenant(db):
    return TenantFactory()


@pytest.fixture
def other_tenant(db):
    return TenantFactory()


@pytest.fixture
def member(tenant):
    return MembershipFactory(tenant=tenant).user


@pytest.fixture
def issued_key(tenant) -> IssuedApiKey:
    return api_key_create(tenant=tenant, name="test service")


@pytest.fixture
def api_client(issued_key) -> APIClient:
    """An API client authenticated with the tenant's key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued_key.secret}")
    return client


@pytest.fixture
def user(db):
    return UserFactory()


# Connect flows (tests/oauth, tests/connections).


@pytest.fixture
def provider_version(db, oauth_provider_reset):
    """Make a published auth version that talks to the e2e provider as one of its demo apps."""
    from tests.factories import AuthVersionFactory, PluginFactory

    provider = oauth_provider_reset

    def make(client_key: str = "pkce", **overrides):
        client = provider.client(client_key)
        grant_type = {
            "service": "client_credentials",
            "password": "password",
        }.get(client_key, "authorization_code")
        plugin = overrides.pop("plugin", None) or PluginFactory(
            api_base_url=provider.provider_url + "/api/"
        )
        values = {
            "plugin": plugin,
            "grant_type": grant_type,
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "authorization_url": provider.authorize_url,
            "pkce": client_key == "pkce",
            "scopes": ["read", "profile"],
            "token_request": provider.token_url,
            "refresh_request": provider.token_url,
            "revoke_request": provider.revoke_url,
            "test_request": provider.me_url,
            "allowed_urls": [provider.provider_url + "/api/"],
            "connection_label": "{{ me.name }}",
            "unique_identifier": "{{ me.id }}",
        }
        values.update(overrides)
        return AuthVersionFactory(**values)

    return make


@pytest.fixture
def web_client(client, member):
    """A Django test client signed in as a member of `tenant`."""
    client.force_login(member)
    return client


@pytest.fixture
def fake_dns(monkeypatch):
    """Resolve every host to a public address so `responses` fakes pass the SSRF checks."""
    import ipaddress

    from apps.plugins import http_client

    monkeypatch.setattr(
        http_client, "_resolve", lambda hostname, port: [ipaddress.ip_address("93.184.216.34")]
    )


@pytest.fixture
def fake_provider(fake_dns):
    """A `responses` mock for unit-level provider fakes (helpers in tests/connections/conftest.py)."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
