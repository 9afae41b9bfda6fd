"""Fixtures for the REST API tests: connections of the API key's tenant at the faked provider."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import AuthVersionFactory, ConnectionFactory

CLIENT_SECRET = "client-secret-value-1234"


@pytest.fixture
def version(db):
    """A published authorization-code version at https://provider.example with a region field."""
    return AuthVersionFactory(
        fields=[
            {"key": "region", "label": "Region", "required": False, "default": "eu"},
            {"key": "api_secret", "label": "API secret", "secret": True, "required": False},
        ],
        request_params={
            "headers": {"X-Region": "{{ fields.region }}"},
            "query": {"region": "{{ fields.region }}"},
            "body": {},
        },
    )


@pytest.fixture
def connection(tenant, version):
    """An active connection of the key's tenant whose token is valid for an hour."""
    return ConnectionFactory(
        tenant=tenant,
        auth_version=version,
        field_values={"region": "us", "api_secret": "field-secret-value-9876"},
        expires_at=timezone.now() + timedelta(hours=1),
        external_user_id="user-1",
    )


@pytest.fixture
def other_connection(other_tenant, version):
    """A connection of another tenant."""
    return ConnectionFactory(
        tenant=other_tenant,
        auth_version=version,
        expires_at=timezone.now() + timedelta(hours=1),
    )
