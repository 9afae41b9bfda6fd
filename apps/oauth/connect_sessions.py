"""Connect sessions: single-use links that let a tenant's end user connect a plugin without an account.

Only a SHA-256 hash of the link's token is stored. The authorization code flow runs through
`authorization_start(connect_session=...)` bound to the browser session's nonce, as in the portal;
client-credentials and password plugins connect directly from the link's form.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.connections import services as connection_services
from apps.connections.models import Connection
from apps.oauth import services as oauth_services
from apps.oauth.models import AuthorizationAttempt, ConnectSession
from apps.oauth.selectors import auth_version_for_connect
from apps.plugins.errors import PlugsmithError, ProviderError
from apps.plugins.http_client import url_allowed
from apps.plugins.models import AuthVersion, GrantType
from apps.tenants.models import Tenant

logger = logging.getLogger(__name__)

SESSION_LIFETIME = timedelta(minutes=30)
SESSION_KEY = "connect_sessions"
_DIRECT_CONNECT = {
    GrantType.CLIENT_CREDENTIALS: connection_services.connect_with_client_credentials,
    GrantType.PASSWORD: connection_services.connect_with_password,
}


class ConnectSessionUnusable(PlugsmithError):
    """The link was already used, has expired, or its plugin can no longer be connected."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class IssuedConnectSession:
    """A new connect session and its URL; the token inside the URL is shown only this once."""

    session: ConnectSession
    url: str


def return_url_allowed(*, tenant: Tenant, url: str) -> bool:
    """True when url starts with one of the tenant's allowed_return_urls (whole path segments)."""
    prefixes: Sequence[str] = [str(p) for p in (tenant.allowed_return_urls or []) if p]
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or parts.username or parts.password:
        return False
    return url_allowed(url, prefixes)


def connect_session_create(
    *,
    tenant: Tenant,
    plugin_slug: str,
    version: int | None = None,
    external_user_id: str = "",
    prefilled_fields: Mapping[str, Any] | None = None,
    return_url: str = "",
) -> IssuedConnectSession:
    """Issue a link valid for 30 minutes; the caller has validated the fields and return URL."""
    auth_version = auth_version_for_connect(plugin_slug=plugin_slug, version=version)
    if return_url and not return_url_allowed(tenant=tenant, url=return_url):
        raise ConnectSessionUnusable(
            "The return URL is not one of the tenant's allowed return URLs.", reason="return_url"
        )
    token = secrets.token_urlsafe(32)
    session = ConnectSession.objects.create(
        token_hash=oauth_services.hash_secret(token),
        tenant=tenant,
        plugin=auth_version.plugin,
        auth_version=auth_version if version is not None else None,
        external_user_id=external_user_id,
        prefilled_fields=dict(prefilled_fields or {}),
        return_url=return_url,
        expires_at=timezone.now() + SESSION_LIFETIME,
    )
    url = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("connect-session", args=[token])
    logger.info("connect session %s created for %s (tenant %s)", session.pk, plugin_slug, tenant.pk)
    return IssuedConnectSession(session=session, url=url)


def connect_session_for_token(*, token: str) -> ConnectSession:
    """The session behind a link's token (ConnectSession.DoesNotExist when there is none)."""
    return ConnectSession.objects.select_related("tenant", "plugin", "auth_version").get(
        token_hash=oauth_services.hash_secret(token)
    )


def connect_session_check(*, session: ConnectSession) -> AuthVersion:
    """The auth version to connect with, or ConnectSessionUnusable when the link cannot be used."""
    if session.completed_at is not None:
        raise ConnectSessionUnusable(
            "This link was already used: the account is connected. "
            "Ask the application that sent you here for a new link to connect again.",
            reason="used",
        )
    if session.is_expired:
        raise ConnectSessionUnusable(
            "This link has expired (links are valid for 30 minutes). "
            "Ask the application that sent you here for a new one.",
            reason="expired",
        )
    version = session.auth_version.version if session.auth_version else None
    try:
        return auth_version_for_connect(plugin_slug=session.plugin.slug, version=version)
    except AuthVersion.DoesNotExist:
        raise ConnectSessionUnusable(
            f"{session.plugin.name} can no longer be connected with this link.",
            reason="unavailable",
        ) from None


def connect_session_open(*, session: ConnectSession) -> AuthVersion:
    """Check the link and note when it was first opened."""
    auth_version = connect_session_check(session=session)
    if session.opened_at is None:
        session.opened_at = timezone.now()
        ConnectSession.objects.filter(pk=session.pk, opened_at__isnull=True).update(
            opened_at=session.opened_at
        )
    return auth_version


def finish_path(session: ConnectSession) -> str:
    """Where the OAuth callback sends the browser back to (a local path: no token in it)."""
    return reverse("connect-session-finish", args=[session.pk])


def connect_session_start(
    *, session: ConnectSession, field_values: Mapping[str, Any], browser_nonce: str
) -> str:
    """Start the authorization code flow for the link; returns the provider URL."""
    auth_version = connect_session_check(session=session)
    return oauth_services.authorization_start(
        tenant=session.tenant,
        auth_version=auth_version,
        browser_nonce=browser_nonce,
        field_values=field_values,
        connect_session=session,
        return_to=finish_path(session),
    )


def connect_session_connect(
    *, session: ConnectSession, field_values: Mapping[str, Any]
) -> Connection:
    """Connect a client-credentials or password plugin directly and use up the link."""
    auth_version = connect_session_check(session=session)
    connect = _DIRECT_CONNECT.get(auth_version.grant_type)
    if connect is None:
        raise ConnectSessionUnusable(
            f"{session.plugin.name} connects through its own sign-in page.", reason="grant"
        )
    with transaction.atomic():
        # Lock the link so two submissions cannot both use it.
        locked = ConnectSession.objects.select_for_update().get(pk=session.pk)
        connect_session_check(session=locked)
        connection = connect(
            tenant=session.tenant,
            auth_version=auth_version,
            field_values=field_values,
            external_user_id=session.external_user_id,
        )
        locked.connection = connection
        locked.completed_at = timezone.now()
        locked.save(update_fields=["connection", "completed_at"])
    session.connection, session.completed_at = connection, locked.completed_at
    return connection


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def success_url(*, session: ConnectSession) -> str | None:
    """The return URL with connection_id and status=connected, or None without a return URL."""
    if not session.return_url or session.connection_id is None:
        return None
    return _with_query(
        session.return_url, {"connection_id": str(session.connection_id), "status": "connected"}
    )


def error_url(*, session: ConnectSession, exc: BaseException) -> str | None:
    """The return URL with status=error and the error code, or None without a return URL."""
    if not session.return_url:
        return None
    code = "connect_failed"
    if isinstance(exc, ProviderError) and exc.error:
        code = exc.error
    return _with_query(
        session.return_url,
        {"status": "error", "error": code[:100], "error_description": str(exc)[:300]},
    )


def connect_session_finished(*, session_id: Any) -> ConnectSession | None:
    """A completed session by id (for the page the OAuth callback returns to), else None."""
    return (
        ConnectSession.objects.select_related("plugin", "tenant")
        .filter(pk=session_id, completed_at__isnull=False)
        .first()
    )


def failure_redirect(
    *, state: str | None, browser_nonce: str | None, exc: BaseException
) -> str | None:
    """For a failed OAuth callback of a connect session in this browser: its error return URL."""
    if not state or not browser_nonce:
        return None
    attempt = (
        AuthorizationAttempt.objects.select_related("connect_session")
        .filter(state_hash=oauth_services.hash_secret(state), connect_session__isnull=False)
        .first()
    )
    if attempt is None:
        return None
    if not hmac.compare_digest(
        oauth_services.hash_secret(browser_nonce), attempt.browser_binding_hash
    ):
        return None
    return error_url(session=attempt.connect_session, exc=exc)
