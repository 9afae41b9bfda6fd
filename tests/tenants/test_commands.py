"""The create_tenant and create_api_key management commands."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from apps.tenants.models import ApiKey, Membership, Role, Tenant
from apps.tenants.services import api_key_authenticate
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_tenant_creates_owner_user_with_password():
    out = StringIO()
    call_command(
        "create_tenant", "Acme Inc", owner="ops@acme.test", password="s3cret-pass!", stdout=out
    )
    tenant = Tenant.objects.get(slug="acme-inc")
    user = get_user_model().objects.get(email="ops@acme.test")
    assert user.check_password("s3cret-pass!")
    assert Membership.objects.get(user=user, tenant=tenant).role == Role.OWNER
    assert "acme-inc" in out.getvalue()


def test_create_tenant_reuses_existing_user():
    user = UserFactory(username="me@x.test", email="me@x.test")
    call_command("create_tenant", "Second", owner="ME@x.test", stdout=StringIO())
    assert get_user_model().objects.filter(email__iexact="me@x.test").count() == 1
    assert Membership.objects.filter(user=user, role=Role.OWNER).count() == 1


def test_create_tenant_makes_slugs_unique():
    call_command("create_tenant", "Dup", owner="a@x.test", stdout=StringIO())
    call_command("create_tenant", "Dup", owner="b@x.test", stdout=StringIO())
    assert set(Tenant.objects.values_list("slug", flat=True)) == {"dup", "dup-2"}


def test_create_tenant_rejects_bad_email_and_taken_slug():
    TenantFactory(slug="taken")
    with pytest.raises(CommandError, match="not an email"):
        call_command("create_tenant", "X", owner="nope", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_tenant", "X", owner="x@x.test", slug="taken", stdout=StringIO())


def test_create_api_key_prints_only_a_working_key():
    tenant = TenantFactory(slug="acme")
    out = StringIO()
    call_command("create_api_key", "acme", name="billing", stdout=out)
    printed = out.getvalue()
    assert printed.count("\n") == 1
    key = printed.strip()
    api_key = api_key_authenticate(raw_key=key)
    assert api_key is not None
    assert api_key.tenant == tenant
    assert api_key.name == "billing"
    assert ApiKey.objects.count() == 1


def test_create_api_key_unknown_tenant_fails():
    with pytest.raises(CommandError, match="No tenant"):
        call_command("create_api_key", "ghost", name="x", stdout=StringIO())
