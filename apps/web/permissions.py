"""View decorators: every portal page works inside the signed-in user's current tenant."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.tenants.models import Role

View = Callable[..., HttpResponse]


def member_required(view: View) -> View:
    """Require a signed-in member of a tenant; sets `request.tenant` to that tenant."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership:
            return render(request, "web/no_tenant.html", status=403)
        request.tenant = request.membership.tenant
        return view(request, *args, **kwargs)

    return wrapper


def manager_required(view: View) -> View:
    """Require an owner or admin of the current tenant (403 for plain members)."""

    @member_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership.can_manage:
            raise PermissionDenied("Only owners and admins can do this.")
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view: View) -> View:
    """Require an owner of the current tenant."""

    @member_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.membership.role != Role.OWNER:
            raise PermissionDenied("Only owners can do this.")
        return view(request, *args, **kwargs)

    return wrapper
