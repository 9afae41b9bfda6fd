"""The web request's current tenant: kept in the session, always one the user is a member of."""

from __future__ import annotations

from django.http import HttpRequest

from apps.tenants.models import Membership
from apps.tenants.selectors import membership_for, memberships_for_user

SESSION_KEY = "current_tenant_id"


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership for the session's tenant, falling back to the user's first tenant."""
    user = request.user
    if not user.is_authenticated:
        return None
    tenant_id = request.session.get(SESSION_KEY)
    membership = membership_for(user=user, tenant_id=tenant_id) if tenant_id else None
    if membership is None:
        membership = memberships_for_user(user=user).first()
        if membership is not None:
            request.session[SESSION_KEY] = str(membership.tenant_id)
    return membership


def switch_tenant(request: HttpRequest, *, tenant_id: str) -> Membership | None:
    """Make `tenant_id` the session's tenant if the user is a member; return the membership."""
    membership = membership_for(user=request.user, tenant_id=tenant_id)
    if membership is not None:
        request.session[SESSION_KEY] = str(membership.tenant_id)
    return membership
