"""Encrypted columns: unreadable at rest, keyed by FIELD_ENCRYPTION_KEYS, rotatable."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from apps.core.fields import DecryptionError
from apps.tenants.models import Tenant
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db
SECRET = "whsec_super-secret-value-123"


def raw_webhook_secret(tenant: Tenant) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_secret FROM tenants_tenant WHERE id = %s", [tenant.id])
        return cursor.fetchone()[0]


def test_round_trip_and_raw_row_is_not_plaintext():
    tenant = TenantFactory(webhook_secret=SECRET)
    raw = raw_webhook_secret(tenant)
    assert raw
    assert SECRET not in raw
    assert Tenant.objects.get(pk=tenant.pk).webhook_secret == SECRET


def test_empty_secret_is_stored_as_null():
    tenant = TenantFactory(webhook_secret="")
    assert raw_webhook_secret(tenant) is None
    assert Tenant.objects.get(pk=tenant.pk).webhook_secret is None


def test_changing_secret_key_does_not_lose_data(settings):
    tenant = TenantFactory(webhook_secret=SECRET)
    settings.SECRET_KEY = "an-entirely-different-django-secret-key-0123456789-abcdefghijkl"
    assert Tenant.objects.get(pk=tenant.pk).webhook_secret == SECRET


def test_old_key_still_decrypts_after_adding_a_new_primary(settings):
    tenant = TenantFactory(webhook_secret=SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    assert Tenant.objects.get(pk=tenant.pk).webhook_secret == SECRET


def test_rotation_reencrypts_with_new_key_and_old_key_can_then_go(settings):
    tenants = [TenantFactory(webhook_secret=f"{SECRET}-{i}") for i in range(7)]
    TenantFactory(webhook_secret=None)
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = StringIO()
    call_command("rotate_encryption_keys", batch_size=3, stdout=out, stderr=StringIO())
    assert "tenants.Tenant.webhook_secret: 7 of 7 re-encrypted" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    for i, tenant in enumerate(tenants):
        assert Tenant.objects.get(pk=tenant.pk).webhook_secret == f"{SECRET}-{i}"
        assert (
            Fernet(new_key.encode()).decrypt(raw_webhook_secret(tenant).encode()).decode()
            == f"{SECRET}-{i}"
        )


def test_rotation_is_resumable_and_skips_rows_already_rotated(settings):
    TenantFactory(webhook_secret="a")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    TenantFactory(webhook_secret="b")  # written under the new key already
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out, stderr=StringIO())
    assert "1 of 2 re-encrypted" in out.getvalue()
    again = StringIO()
    call_command("rotate_encryption_keys", stdout=again, stderr=StringIO())
    assert "0 of 2 re-encrypted" in again.getvalue()


def test_unknown_key_raises_instead_of_returning_ciphertext(settings):
    tenant = TenantFactory(webhook_secret=SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError, match=r"Tenant\.webhook_secret"):
        Tenant.objects.get(pk=tenant.pk)


def test_rotation_with_a_missing_old_key_fails_loudly_and_changes_nothing(settings):
    tenant = TenantFactory(webhook_secret=SECRET)
    before = raw_webhook_secret(tenant)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError):
        call_command("rotate_encryption_keys", stdout=StringIO(), stderr=StringIO())
    assert raw_webhook_secret(tenant) == before
