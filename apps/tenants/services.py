"""Writes for tenants, memberships and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.tenants.models import ApiKey, Membership, Role, Tenant

API_KEY_PREFIX = "psk"
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class IssuedApiKey:
    """A freshly created key: `secret` is the only time the full key exists in plaintext."""

    api_key: ApiKey
    secret: str


def hash_api_key(raw_key: str) -> str:
    """SHA-256 of the full key (the key carries 256 bits of randomness, so no slow hash is needed)."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "tenant"
    slug, n = base, 2
    while Tenant.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def tenant_create(*, name: str, owner: AbstractBaseUser, slug: str | None = None) -> Tenant:
    """Create a tenant with `owner` as its owner."""
    tenant = Tenant.objects.create(name=name, slug=slug or _unique_slug(name))
    Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    return tenant


def user_get_or_create(*, email: str, password: str | None = None) -> tuple[AbstractBaseUser, bool]:
    """The user with this email (as username and email), created when missing."""
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    user = User.objects.create_user(username=email, email=email, password=password)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user, True


def api_key_create(
    *, tenant: Tenant, name: str, created_by: AbstractBaseUser | None = None
) -> IssuedApiKey:
    """Issue a new key `psk_<prefix>_<secret>`; only its hash is stored."""
    prefix = secrets.token_hex(6)
    raw_key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=prefix,
        key_hash=hash_api_key(raw_key),
        created_by=created_by,
    )
    return IssuedApiKey(api_key=api_key, secret=raw_key)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key; later requests with it get 401."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Constant-time hash comparison."""
    parts = raw_key.split("_")
    if len(parts) < 3 or parts[0] != API_KEY_PREFIX:
        return None
    api_key = ApiKey.objects.select_related("tenant").filter(prefix=parts[1]).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, hash_api_key(raw_key)):
        return None
    if api_key.revoked_at is not None:
        return None
    _touch_last_used(api_key)
    return api_key


def _touch_last_used(api_key: ApiKey) -> None:
    # At most one write a minute per key: this runs on every API request.
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
