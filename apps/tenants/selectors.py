"""Reads for tenants and memberships."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from apps.tenants.models import Membership


def memberships_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    """The user's memberships with their tenants, oldest first."""
    return Membership.objects.filter(user=user).select_related("tenant").order_by("created_at")


def membership_for(*, user: AbstractBaseUser, tenant_id: object) -> Membership | None:
    """The user's membership in the tenant with this id, if any (None for a malformed id)."""
    try:
        tenant_id = uuid.UUID(str(tenant_id))
    except ValueError:
        return None
    return memberships_for_user(user=user).filter(tenant_id=tenant_id).first()
