"""The authorization code flow: start an attempt (state, PKCE, redirect) and complete the callback."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils import timezone

from apps.connections import services as connection_services
from apps.connections.models import Connection, EventKind
from apps.oauth.models import AuthorizationAttempt, ConnectSession
from apps.plugins import request_spec
from apps.plugins.errors import PlugsmithError, ProviderError
from apps.plugins.models import AuthVersion, GrantType
from apps.tenants.models import Tenant

logger = logging.getLogger(__name__)

ATTEMPT_LIFETIME = timedelta(minutes=10)


class AuthorizationRefused(PlugsmithError):
    """The callback cannot be trusted (state missing, unknown, expired, used or from elsewhere)."""


class ProviderDenied(ProviderError):
    """The provider sent the user back with an error (e.g. access_denied)."""


@dataclass(frozen=True)
class CallbackResult:
    """A completed authorization: the connection and where to send the user."""

    connection: Connection
    return_to: str


def redirect_uri() -> str:
    """The deployment's one OAuth callback URL: PUBLIC_BASE_URL + /oauth/callback/."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("oauth-callback")


def hash_secret(value: str) -> str:
    """SHA-256 hex digest (state and browser nonces carry 256 random bits)."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_browser_nonce() -> str:
    """A random nonce to keep in the browser session that starts a flow."""
    return secrets.token_urlsafe(32)


def authorization_start(
    *,
    tenant: Tenant,
    auth_version: AuthVersion,
    browser_nonce: str,
    field_values: Mapping[str, Any] | None = None,
    user: AbstractBaseUser | None = None,
    connect_session: ConnectSession | None = None,
    return_to: str = "",
    reconnect: Connection | None = None,
) -> str:
    """Record an authorization attempt and return the provider URL to send the browser to."""
    if auth_version.grant_type != GrantType.AUTHORIZATION_CODE:
        raise PlugsmithError(f"{auth_version} does not use the authorization code grant.")
    if not auth_version.is_published:
        raise PlugsmithError(f"{auth_version} is not published: it cannot be connected.")
    field_values = dict(field_values or {})
    state = secrets.token_urlsafe(32)
    code_verifier, code_challenge = request_spec.pkce_pair() if auth_version.pkce else (None, None)
    callback_url = redirect_uri()
    context = connection_services.template_context(
        auth_version, field_values=field_values, redirect_uri=callback_url, state=state
    )
    # Build the URL first: a template error leaves no attempt behind.
    url = request_spec.build_authorization_url(
        auth_version,
        redirect_uri=callback_url,
        state=state,
        code_challenge=code_challenge,
        context=context,
    )
    now = timezone.now()
    attempt = AuthorizationAttempt.objects.create(
        state_hash=hash_secret(state),
        browser_binding_hash=hash_secret(browser_nonce),
        tenant=tenant,
        user=user if getattr(user, "pk", None) else None,
        connect_session=connect_session,
        auth_version=auth_version,
        reconnect=reconnect,
        field_values=field_values,
        code_verifier=code_verifier,
        redirect_uri=callback_url,
        return_to=return_to,
        expires_at=now + ATTEMPT_LIFETIME,
    )
    logger.info(
        "authorization attempt %s started for %s (tenant %s)",
        attempt.pk,
        auth_version.plugin.slug,
        tenant.pk,
    )
    return url


def _attempt_for_state(
    state: str | None, *, browser_nonce: str | None, user: AbstractBaseUser | None
) -> AuthorizationAttempt:
    """The attempt this callback belongs to, checked against the browser that started it."""
    if not state:
        raise AuthorizationRefused(
            "The provider's answer has no state parameter, so it cannot be matched to a "
            "connection attempt. Start connecting again."
        )
    attempt = (
        AuthorizationAttempt.objects.select_related(
            "auth_version", "auth_version__plugin", "tenant", "reconnect"
        )
        .filter(state_hash=hash_secret(state))
        .first()
    )
    if attempt is None:
        raise AuthorizationRefused(
            "This authorization answer does not match any connection attempt (unknown state). "
            "Start connecting again."
        )
    binding = hash_secret(browser_nonce) if browser_nonce else ""
    if not hmac.compare_digest(binding, attempt.browser_binding_hash):
        raise AuthorizationRefused(
            "This authorization was started in another browser session. "
            "Start connecting again from this browser."
        )
    if attempt.user_id is not None and getattr(user, "pk", None) != attempt.user_id:
        raise AuthorizationRefused(
            "This authorization was started by another user. Start connecting again."
        )
    if attempt.consumed_at is not None:
        raise AuthorizationRefused(
            "This authorization answer was already used. Start connecting again."
        )
    if attempt.expires_at <= timezone.now():
        raise AuthorizationRefused(
            "This connection attempt expired (attempts are valid for 10 minutes). "
            "Start connecting again."
        )
    return attempt


def _consume(attempt: AuthorizationAttempt) -> None:
    """Mark the attempt used, atomically: of two concurrent callbacks only one gets through."""
    now = timezone.now()
    consumed = AuthorizationAttempt.objects.filter(
        pk=attempt.pk, consumed_at__isnull=True, expires_at__gt=now
    ).update(consumed_at=now)
    if consumed != 1:
        raise AuthorizationRefused(
            "This authorization answer was already used. Start connecting again."
        )
    attempt.consumed_at = now


def _provider_error(params: Mapping[str, str]) -> ProviderDenied:
    error = params.get("error", "")
    description = params.get("error_description", "")
    if error == "access_denied":
        message = "Access was denied at the provider"
    else:
        message = f"The provider returned an error: {error}"
    if description:
        message = f"{message}: {description}"
    return ProviderDenied(message, error=error, error_description=description or None)


def _check_issuer(attempt: AuthorizationAttempt, iss: str | None) -> None:
    """RFC 9207: when the version names its issuer, the callback's `iss` must be exactly that."""
    expected = attempt.auth_version.issuer
    if not expected:
        return
    if not iss or not hmac.compare_digest(iss.encode(), expected.encode()):
        raise AuthorizationRefused(
            "The authorization answer came from an unexpected issuer "
            f"({iss or 'no iss parameter'}; expected {expected}). Nothing was connected."
        )


def authorization_complete(
    *,
    params: Mapping[str, str],
    browser_nonce: str | None,
    user: AbstractBaseUser | None = None,
) -> CallbackResult:
    """Check and consume the attempt, exchange the code once, and upsert the connection."""
    attempt = _attempt_for_state(params.get("state"), browser_nonce=browser_nonce, user=user)
    _consume(attempt)
    reconnect = attempt.reconnect
    try:
        if params.get("error"):
            raise _provider_error(params)
        _check_issuer(attempt, params.get("iss"))
        code = params.get("code")
        if not code:
            raise AuthorizationRefused(
                "The provider's answer has no authorization code. Start connecting again."
            )
    except PlugsmithError as exc:
        if reconnect is not None:
            connection_services.record_event(
                tenant_id=attempt.tenant_id,
                connection_id=reconnect.pk,
                kind=EventKind.RECONNECT_FAILED,
                detail=connection_services.error_detail(exc),
            )
        raise
    connection = connection_services.connect_with_code(
        tenant=attempt.tenant,
        auth_version=attempt.auth_version,
        code=code,
        redirect_uri=attempt.redirect_uri,
        code_verifier=attempt.code_verifier,
        field_values=attempt.field_values or {},
        created_by=attempt.user,
        external_user_id=attempt.connect_session.external_user_id
        if attempt.connect_session
        else "",
        reconnect=reconnect,
    )
    if attempt.connect_session is not None:
        ConnectSession.objects.filter(pk=attempt.connect_session_id).update(
            connection=connection, completed_at=timezone.now()
        )
    return CallbackResult(connection=connection, return_to=attempt.return_to)
