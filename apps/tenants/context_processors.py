"""Template context for the tenant switcher."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.tenants.selectors import memberships_for_user


def current_tenant(request: HttpRequest) -> dict[str, Any]:
    """The current membership and the user's other memberships (lazily evaluated)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_membership": getattr(request, "membership", None),
        "memberships": memberships_for_user(user=user),
    }
