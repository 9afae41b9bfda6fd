"""API keys page: create (shown once), list, revoke with confirmation."""

from __future__ import annotations

import re

import pytest

from apps.tenants.models import ApiKey
from apps.tenants.services import api_key_authenticate, api_key_create
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_new_key_is_shown_once_and_works(admin_client, tenant):
    response = admin_client.post("/settings/api-keys/", {"name": "Backend"})
    assert response["Location"] == "/settings/api-keys/"
    page = admin_client.get("/settings/api-keys/")
    assert page["Cache-Control"] == "no-store"
    secret = re.search(r'value="(psk_[^"]+)"', page.content.decode()).group(1)
    assert api_key_authenticate(raw_key=secret).tenant == tenant
    again = admin_client.get("/settings/api-keys/").content.decode()
    assert secret not in again
    assert "Backend" in again


def test_key_hash_never_reaches_the_page(admin_client, tenant):
    issued = api_key_create(tenant=tenant, name="Listed")
    page = admin_client.get("/settings/api-keys/").content.decode()
    assert f"psk_{issued.api_key.prefix}_" in page
    assert issued.api_key.key_hash not in page
    assert issued.secret not in page


def test_empty_name_is_refused(admin_client, tenant):
    response = admin_client.post("/settings/api-keys/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_revoke_asks_for_confirmation_then_revokes(admin_client, tenant):
    api_key = api_key_create(tenant=tenant, name="Old").api_key
    confirm = admin_client.get(f"/settings/api-keys/{api_key.pk}/revoke/")
    assert "Revoke “Old”?" in confirm.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is None
    response = admin_client.post(f"/settings/api-keys/{api_key.pk}/revoke/", follow=True)
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert "API key “Old” revoked." in response.content.decode()


def test_revoking_twice_says_so(admin_client, tenant):
    api_key = api_key_create(tenant=tenant, name="Old").api_key
    admin_client.post(f"/settings/api-keys/{api_key.pk}/revoke/")
    response = admin_client.post(f"/settings/api-keys/{api_key.pk}/revoke/", follow=True)
    assert "was already revoked" in response.content.decode()


def test_another_tenants_key_is_404(admin_client):
    foreign = api_key_create(tenant=TenantFactory(), name="Theirs").api_key
    assert admin_client.get(f"/settings/api-keys/{foreign.pk}/revoke/").status_code == 404
    assert admin_client.post(f"/settings/api-keys/{foreign.pk}/revoke/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_member_cannot_revoke(member_client, tenant):
    api_key = api_key_create(tenant=tenant, name="Keep").api_key
    assert member_client.post(f"/settings/api-keys/{api_key.pk}/revoke/").status_code == 403
    api_key.refresh_from_db()
    assert api_key.revoked_at is None
