"""API key authentication on the REST API."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.tenants.models import ApiKey
from apps.tenants.services import api_key_create, api_key_revoke, hash_api_key

pytestmark = pytest.mark.django_db
TENANT_URL = "/api/v1/tenant/"


def test_valid_key_answers_its_own_tenant(api_client, tenant):
    response = api_client.get(TENANT_URL)
    assert response.status_code == 200
    assert response.json() == {"id": str(tenant.id), "slug": tenant.slug, "name": tenant.name}


def test_key_of_another_tenant_answers_that_tenant_only(other_tenant, tenant):
    issued = api_key_create(tenant=other_tenant, name="other")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    body = client.get(TENANT_URL).json()
    assert body["id"] == str(other_tenant.id)
    assert body["id"] != str(tenant.id)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer psk_000000000000_unknownsecret",
        "Bearer not-a-key",
        "Bearer a b",
        "Basic dXNlcjpwYXNz",
        "",
    ],
)
def test_unknown_or_missing_key_gets_401_json(header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(TENANT_URL)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "unauthenticated"
    assert response.json()["detail"]


def test_tampered_secret_with_valid_prefix_gets_401(issued_key):
    tampered = issued_key.secret[:-4] + (
        "AAAA" if not issued_key.secret.endswith("AAAA") else "BBBB"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tampered}")
    assert client.get(TENANT_URL).status_code == 401


def test_revoked_key_gets_401(api_client, issued_key):
    api_key_revoke(api_key=issued_key.api_key)
    response = api_client.get(TENANT_URL)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"].lower()


def test_key_is_stored_only_as_hash(issued_key):
    stored = ApiKey.objects.get(pk=issued_key.api_key.pk)
    assert stored.key_hash == hash_api_key(issued_key.secret)
    assert issued_key.secret not in stored.key_hash
    assert issued_key.secret.startswith(f"psk_{stored.prefix}_")


def test_use_records_last_used_at_at_most_once_a_minute(api_client, issued_key):
    api_client.get(TENANT_URL)
    first = ApiKey.objects.get(pk=issued_key.api_key.pk).last_used_at
    assert first is not None
    api_client.get(TENANT_URL)
    assert ApiKey.objects.get(pk=issued_key.api_key.pk).last_used_at == first
    ApiKey.objects.filter(pk=issued_key.api_key.pk).update(
        last_used_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    api_client.get(TENANT_URL)
    assert ApiKey.objects.get(pk=issued_key.api_key.pk).last_used_at > first


def test_schema_is_public():
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/tenant/" in response.content
