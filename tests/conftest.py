"""Suite-wide fixtures."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.tenants.services import IssuedApiKey, api_key_create
from tests.factories import MembershipFactory, TenantFactory, UserFactory

pytest_plugins = ["tests.provider.fixtures"]

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
