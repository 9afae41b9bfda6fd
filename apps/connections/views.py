"""Web pages of one connection: details and events; test, refresh, reconnect and disconnect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.connections import services
from apps.connections.locking import ConnectionBusy
from apps.connections.models import Connection, ConnectionEvent, ConnectionStatus, EventKind
from apps.connections.refresh import ConnectionNeedsReauth, connection_refresh
from apps.connections.selectors import connection_get_for_tenant, events_for_connection
from apps.plugins.errors import PlugsmithError
from apps.plugins.models import FieldType

MASK = "••••"
EVENT_TONES = {
    EventKind.CREATED: "ok",
    EventKind.RECONNECTED: "ok",
    EventKind.REFRESHED: "ok",
    EventKind.TESTED: "ok",
    EventKind.NEEDS_REAUTH: "warn",
    EventKind.REFRESH_FAILED: "err",
    EventKind.RECONNECT_FAILED: "err",
    EventKind.REVOKE_FAILED: "err",
    EventKind.TEST_FAILED: "err",
}
EVENT_LIMIT = 50


@dataclass(frozen=True)
class FieldRow:
    """One field value as shown on the page (secrets masked)."""

    label: str
    value: str
    secret: bool


@dataclass(frozen=True)
class EventRow:
    """One audit event as shown on the page."""

    event: ConnectionEvent
    tone: str
    summary: str


def _connection_or_404(request: HttpRequest, connection_id: Any) -> Connection:
    """The current tenant's connection; 404 for anyone else's (or no tenant at all)."""
    if not request.membership:
        raise Http404("No such connection.")
    try:
        return connection_get_for_tenant(
            tenant=request.membership.tenant, connection_id=connection_id
        )
    except Connection.DoesNotExist:
        raise Http404("No such connection.") from None


def _detail_url(connection: Connection) -> str:
    return reverse("connection-detail", args=[connection.pk])


def _field_rows(connection: Connection) -> list[FieldRow]:
    """The declared fields and their stored values; password and secret fields never shown."""
    values = connection.field_values or {}
    rows = []
    for field in connection.auth_version.fields.all():
        secret = field.secret or field.type == FieldType.PASSWORD
        value = values.get(field.key)
        if secret:
            shown = MASK if value not in (None, "") else "not stored"
        else:
            shown = "" if value is None else str(value)
        rows.append(FieldRow(label=field.label or field.key, value=shown, secret=secret))
    return rows


def _event_summary(event: ConnectionEvent) -> str:
    """A one-line, secret-free description of what an event recorded."""
    detail = event.detail or {}
    if message := detail.get("message"):
        return str(message)
    if event.kind in (EventKind.CREATED, EventKind.RECONNECTED) and detail.get("grant_type"):
        scopes = ", ".join(detail.get("scopes") or []) or "none"
        grant = str(detail["grant_type"]).replace("_", " ").capitalize()
        return f"{grant} grant, scopes {scopes}"
    if event.kind == EventKind.REFRESHED and detail.get("expires_at"):
        rotated = " (refresh token rotated)" if detail.get("rotated") else ""
        return f"New access token until {detail['expires_at'][:19].replace('T', ' ')} UTC{rotated}"
    if event.kind == EventKind.TESTED and detail.get("status"):
        return f"Test API answered HTTP {detail['status']}"
    if event.kind == EventKind.REVOKED and "revoked_at_provider" in detail:
        return (
            "Tokens revoked at the provider"
            if detail["revoked_at_provider"]
            else "Tokens dropped (the provider did not confirm the revoke)"
        )
    return ""


def _event_rows(connection: Connection) -> list[EventRow]:
    events = events_for_connection(connection=connection)[:EVENT_LIMIT]
    return [
        EventRow(
            event=event, tone=EVENT_TONES.get(event.kind, "muted"), summary=_event_summary(event)
        )
        for event in events
    ]


def _next_refresh(connection: Connection) -> str:
    """'in 2 minutes', 'due now', or '' when nothing is scheduled."""
    if connection.status == ConnectionStatus.REVOKED or connection.next_refresh_at is None:
        return ""
    now = timezone.now()
    if connection.next_refresh_at <= now:
        return "due now"
    return f"in {timeuntil(connection.next_refresh_at, now).split(',')[0]}"


@login_required
@require_GET
def connection_detail(request: HttpRequest, connection_id: Any) -> HttpResponse:
    """One connection: label, plugin, status, fields, scopes, token times and its events."""
    connection = _connection_or_404(request, connection_id)
    context = {
        "connection": connection,
        "plugin": connection.plugin,
        "fields": _field_rows(connection),
        "events": _event_rows(connection),
        "next_refresh": _next_refresh(connection),
        "can_refresh": connection.status != ConnectionStatus.REVOKED
        and services.can_refresh(connection),
        "reconnect_url": (
            reverse("oauth-connect", args=[connection.plugin.slug]) + f"?reconnect={connection.pk}"
        ),
    }
    return render(request, "connections/detail.html", context)


@login_required
@require_POST
def connection_test(request: HttpRequest, connection_id: Any) -> HttpResponse:
    """Call the test API now and report the outcome."""
    connection = _connection_or_404(request, connection_id)
    try:
        tested = services.test_connection(connection=connection)
    except PlugsmithError as exc:
        messages.error(request, f"The test failed: {exc}")
    else:
        messages.success(request, f"The connection works: the provider knows it as {tested.label}.")
    return HttpResponseRedirect(_detail_url(connection))


@login_required
@require_POST
def connection_refresh_now(request: HttpRequest, connection_id: Any) -> HttpResponse:
    """Force a token refresh now and report the outcome with the provider's error text."""
    connection = _connection_or_404(request, connection_id)
    if connection.status == ConnectionStatus.REVOKED or not services.can_refresh(connection):
        messages.error(
            request,
            "This connection cannot get a new token without you: reconnect the account.",
        )
        return HttpResponseRedirect(_detail_url(connection))
    try:
        refreshed = connection_refresh(connection_id=connection.pk, force=True)
    except ConnectionNeedsReauth as exc:
        messages.error(request, f"The provider refused the refresh. {exc} Use Reconnect.")
    except ConnectionBusy:
        messages.warning(request, "A refresh is already running; try again in a moment.")
    except PlugsmithError as exc:
        messages.error(request, f"The refresh failed: {exc} Plugsmith will retry on its own.")
    else:
        if refreshed.expires_at:
            expiry = f"it expires in {timeuntil(refreshed.expires_at).split(',')[0]}"
        else:
            expiry = "it does not expire"
        messages.success(request, f"Refreshed: new access token, {expiry}.")
    return HttpResponseRedirect(_detail_url(connection))


@login_required
@require_http_methods(["GET", "POST"])
def connection_disconnect(request: HttpRequest, connection_id: Any) -> HttpResponse:
    """Confirm (GET), then revoke the tokens (best effort) and mark the connection revoked (POST)."""
    connection = _connection_or_404(request, connection_id)
    if request.method == "GET":
        return render(request, "connections/disconnect.html", {"connection": connection})
    if connection.status == ConnectionStatus.REVOKED:
        messages.info(request, f"{connection.label} was already disconnected.")
        return HttpResponseRedirect(_detail_url(connection))
    disconnected = services.disconnect(connection=connection)
    revoked = events_for_connection(connection=disconnected).filter(kind=EventKind.REVOKED).first()
    confirmed = bool(revoked and revoked.detail.get("revoked_at_provider"))
    if connection.auth_version.revoke_request and not confirmed:
        messages.warning(
            request,
            f"{connection.label} was disconnected. The provider did not confirm the revoke; "
            "you can also remove the app's access in your account there.",
        )
    else:
        messages.success(request, f"{connection.label} was disconnected.")
    return HttpResponseRedirect(_detail_url(connection))
