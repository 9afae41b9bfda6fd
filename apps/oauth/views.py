"""Connect views: the fields form, the redirect to the provider, and the callback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from apps.connections import services as connection_services
from apps.connections.models import Connection
from apps.connections.selectors import connection_get_for_tenant
from apps.oauth import connect_sessions, services
from apps.oauth.forms import AuthFieldsForm
from apps.oauth.selectors import auth_version_for_connect
from apps.oauth.web import browser_nonce, existing_browser_nonce, is_safe_return_to
from apps.plugins.errors import PlugsmithError
from apps.plugins.models import AuthVersion, GrantType

CONNECT_SERVICES = {
    GrantType.CLIENT_CREDENTIALS: connection_services.connect_with_client_credentials,
    GrantType.PASSWORD: connection_services.connect_with_password,
}


def _connection_url(connection: Connection) -> str:
    return reverse("connection-detail", args=[connection.pk])


def _error_page(
    request: HttpRequest, message: str, *, title: str, status: int = 400
) -> HttpResponse:
    return render(request, "oauth/error.html", {"title": title, "message": message}, status=status)


def _version_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("version")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise Http404("No such auth version.") from None


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest, plugin_slug: str) -> HttpResponse:
    """Show the fields form; then start the authorization code flow or connect directly."""
    tenant = request.membership.tenant if request.membership else None
    if tenant is None:
        return _error_page(
            request, "You are not a member of any tenant.", title="No tenant", status=403
        )
    try:
        auth_version = auth_version_for_connect(
            plugin_slug=plugin_slug, version=_version_param(request)
        )
    except AuthVersion.DoesNotExist:
        raise Http404("This plugin cannot be connected.") from None
    reconnect = None
    if reconnect_id := request.GET.get("reconnect"):
        try:
            reconnect = connection_get_for_tenant(tenant=tenant, connection_id=reconnect_id)
        except Connection.DoesNotExist:
            raise Http404("No such connection.") from None
        if reconnect.plugin_id != auth_version.plugin_id:
            raise Http404("No such connection.")
    return_to = request.GET.get("return_to", "")
    if return_to and not is_safe_return_to(request, return_to):
        return _error_page(
            request,
            "The return address is not on this site, so the connection was not started.",
            title="Return address not allowed",
        )

    initial = {}
    if reconnect is not None:
        secret_keys = {f.key for f in auth_version.fields.all() if f.secret}
        initial = {
            key: value
            for key, value in (reconnect.field_values or {}).items()
            if key not in secret_keys and key not in ("password", "client_secret")
        }
    data = request.POST if request.method == "POST" else None
    form = AuthFieldsForm(data, auth_version=auth_version, initial=initial)
    starts_now = request.method == "GET" and not form.has_visible_fields
    if starts_now or (form.is_bound and form.is_valid()):
        field_values = form.field_values() if form.is_bound else {}
        try:
            if auth_version.grant_type == GrantType.AUTHORIZATION_CODE:
                url = services.authorization_start(
                    tenant=tenant,
                    auth_version=auth_version,
                    browser_nonce=browser_nonce(request),
                    field_values=field_values,
                    user=request.user,
                    return_to=return_to,
                    reconnect=reconnect,
                )
                return HttpResponseRedirect(url)
            connection = CONNECT_SERVICES[auth_version.grant_type](
                tenant=tenant,
                auth_version=auth_version,
                field_values=field_values,
                created_by=request.user,
                reconnect=reconnect,
            )
            return HttpResponseRedirect(return_to or _connection_url(connection))
        except PlugsmithError as exc:
            form.add_error(None, str(exc))
    context = {"form": form, "auth_version": auth_version, "plugin": auth_version.plugin}
    context["reconnect"] = reconnect
    return render(request, "oauth/connect.html", context, status=400 if form.errors else 200)


def no_referrer(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Set Referrer-Policy: no-referrer so the callback's code and state never leak onwards."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapper


@no_referrer
@never_cache
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """The provider's redirect back: complete the attempt and go to the connection."""
    try:
        result = services.authorization_complete(
            params=request.GET.dict(),
            browser_nonce=existing_browser_nonce(request),
            user=request.user if request.user.is_authenticated else None,
        )
    except PlugsmithError as exc:
        # A connect session's end user goes back to the tenant's application with the error.
        failed = connect_sessions.failure_redirect(
            state=request.GET.get("state"), browser_nonce=existing_browser_nonce(request), exc=exc
        )
        if failed:
            return HttpResponseRedirect(failed)
        return _error_page(request, str(exc), title="The account was not connected")
    if result.return_to and is_safe_return_to(request, result.return_to):
        return HttpResponseRedirect(result.return_to)
    return HttpResponseRedirect(_connection_url(result.connection))
