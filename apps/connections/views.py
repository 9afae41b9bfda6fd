"""Web pages of one connection: details and events, test and disconnect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.connections import services
from apps.connections.models import Connection
from apps.connections.selectors import connection_get_for_tenant, events_for_connection
from apps.plugins.errors import PlugsmithError


def _connection_or_404(request: HttpRequest, connection_id: str) -> Connection:
    if not request.membership:
        raise Http404("No such connection.")
    try:
        return connection_get_for_tenant(
            tenant=request.membership.tenant, connection_id=connection_id
        )
    except Connection.DoesNotExist:
        raise Http404("No such connection.") from None


@login_required
@require_GET
def connection_detail(request: HttpRequest, connection_id: str) -> HttpResponse:
    """One connection: label, plugin, status, scopes, expiry and its events."""
    connection = _connection_or_404(request, connection_id)
    events = events_for_connection(connection=connection)[:50]
    return render(request, "connections/detail.html", {"connection": connection, "events": events})


@login_required
@require_POST
def connection_test(request: HttpRequest, connection_id: str) -> HttpResponse:
    """Call the test API now and report the outcome."""
    connection = _connection_or_404(request, connection_id)
    try:
        services.test_connection(connection=connection)
    except PlugsmithError as exc:
        messages.error(request, f"The test failed: {exc}")
    else:
        messages.success(request, "The connection works.")
    return HttpResponseRedirect(reverse("connection-detail", args=[connection.pk]))


@login_required
@require_POST
def connection_disconnect(request: HttpRequest, connection_id: str) -> HttpResponse:
    """Revoke the tokens (best effort) and mark the connection revoked."""
    connection = _connection_or_404(request, connection_id)
    services.disconnect(connection=connection)
    messages.success(request, f"{connection.label} was disconnected.")
    return HttpResponseRedirect(reverse("connection-detail", args=[connection.pk]))
