"""The connect-session pages: an end user without an account connects a plugin for a tenant."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from apps.oauth import connect_sessions
from apps.oauth.forms import AuthFieldsForm
from apps.oauth.models import ConnectSession
from apps.oauth.web import browser_nonce
from apps.plugins.errors import PlugsmithError
from apps.plugins.models import GrantType


def _unusable(request: HttpRequest, exc: connect_sessions.ConnectSessionUnusable) -> HttpResponse:
    titles = {
        "used": "This link was already used",
        "expired": "This link has expired",
    }
    title = titles.get(exc.reason, "This link cannot be used")
    return render(
        request,
        "oauth/connect_session_unusable.html",
        {"title": title, "message": str(exc)},
        status=410,
    )


def _remember(request: HttpRequest, session: ConnectSession) -> None:
    """Bind the session to this browser so that only it sees the result page."""
    started = request.session.get(connect_sessions.SESSION_KEY, [])
    if str(session.pk) not in started:
        request.session[connect_sessions.SESSION_KEY] = [*started[-9:], str(session.pk)]


def _done(request: HttpRequest, session: ConnectSession) -> HttpResponse:
    url = connect_sessions.success_url(session=session)
    if url:
        return HttpResponseRedirect(url)
    return render(request, "oauth/connect_session_done.html", {"session": session})


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def connect_session(request: HttpRequest, token: str) -> HttpResponse:
    """Show the plugin's fields (prefilled), then start the provider flow or connect directly."""
    try:
        session = connect_sessions.connect_session_for_token(token=token)
    except ConnectSession.DoesNotExist:
        raise Http404("No such connect link.") from None
    try:
        auth_version = connect_sessions.connect_session_open(session=session)
    except connect_sessions.ConnectSessionUnusable as exc:
        return _unusable(request, exc)
    data = request.POST if request.method == "POST" else None
    form = AuthFieldsForm(data, auth_version=auth_version, initial=session.prefilled_fields or {})
    if form.is_bound and form.is_valid():
        try:
            if auth_version.grant_type == GrantType.AUTHORIZATION_CODE:
                _remember(request, session)
                url = connect_sessions.connect_session_start(
                    session=session,
                    field_values=form.field_values(),
                    browser_nonce=browser_nonce(request),
                )
                return HttpResponseRedirect(url)
            connect_sessions.connect_session_connect(
                session=session, field_values=form.field_values()
            )
            return _done(request, session)
        except connect_sessions.ConnectSessionUnusable as exc:
            return _unusable(request, exc)
        except PlugsmithError as exc:
            form.add_error(None, str(exc))
    context: dict[str, Any] = {
        "form": form,
        "auth_version": auth_version,
        "plugin": session.plugin,
        "tenant": session.tenant,
    }
    return render(
        request, "oauth/connect_session.html", context, status=400 if form.errors else 200
    )


@login_not_required
@never_cache
@require_GET
def connect_session_finish(request: HttpRequest, session_id: Any) -> HttpResponse:
    """Where the OAuth callback returns: send the end user back to the tenant's application."""
    if str(session_id) not in request.session.get(connect_sessions.SESSION_KEY, []):
        raise Http404("No such connect link in this browser.")
    session = connect_sessions.connect_session_finished(session_id=session_id)
    if session is None:
        raise Http404("This connect link is not complete.")
    return _done(request, session)
