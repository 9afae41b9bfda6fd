"""Web views for tenant selection."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.tenants.web import switch_tenant


@login_required
@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    """Switch the session's tenant, then go back where the user was."""
    membership = switch_tenant(request, tenant_id=request.POST.get("tenant", ""))
    if membership is None:
        messages.error(request, "You are not a member of that tenant.")
    else:
        messages.success(request, f"Switched to {membership.tenant.name}.")
    next_url = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    return HttpResponseRedirect(next_url)
