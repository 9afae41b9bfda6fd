"""Writes for connections: connect (three grants), test, refresh and disconnect.

Every provider call goes through apps.plugins.http_client. A failing call never changes a stored
connection except to record what happened (event, last_error, status where the issue says so).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from apps.connections.locking import locked_connection
from apps.connections.models import Connection, ConnectionEvent, ConnectionStatus, EventKind
from apps.core.db import bulk_update_by_pk
from apps.plugins import http_client, request_spec, templating, token_response
from apps.plugins.errors import (
    ConfigurationError,
    InvalidGrant,
    PlugsmithError,
    ProviderError,
    TemplateError,
)
from apps.plugins.models import AuthVersion, GrantType
from apps.plugins.token_response import TokenSet
from apps.tenants.models import Tenant

logger = logging.getLogger(__name__)

MAX_LABEL_LENGTH = 500


class ConnectError(PlugsmithError):
    """Connecting failed for a reason the user can act on (wrong account, unusable answer)."""


@dataclass(frozen=True)
class Identity:
    """What the test API says about the connected account."""

    me: Any
    label: str
    unique_identifier: str


# Contexts and calls


def _secret_field_values(auth_version: AuthVersion, field_values: Mapping[str, Any]) -> list[str]:
    secret_keys = {f.key for f in auth_version.fields.all() if f.secret or f.type == "password"}
    secret_keys |= {"password", "client_secret"}
    return [str(v) for k, v in field_values.items() if k in secret_keys and v]


def template_context(
    auth_version: AuthVersion,
    *,
    field_values: Mapping[str, Any],
    access_token: str | None = None,
    refresh_token: str | None = None,
    token: Mapping[str, Any] | None = None,
    me: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """The template context for one call or template of a connection."""
    client_id, client_secret = request_spec.effective_client(auth_version, field_values)
    return templating.build_context(
        fields=field_values,
        client_id=client_id,
        client_secret=client_secret,
        scopes=auth_version.scopes,
        scope_separator=auth_version.scope_separator,
        access_token=access_token,
        refresh_token=refresh_token,
        token=token,
        me=me,
        **extra,
    )


def _connection_context(connection: Connection, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "field_values": connection.field_values or {},
        "access_token": connection.access_token,
        "refresh_token": connection.refresh_token,
        "token": connection.token_response or None,
        "me": connection.me or None,
    }
    values.update(overrides)
    return template_context(connection.auth_version, **values)


def _content_type(response: Any) -> str | None:
    headers = response.headers or {}
    return next((v for k, v in headers.items() if k.lower() == "content-type"), None)


def build_token_request(
    auth_version: AuthVersion, kind: str, context: Mapping[str, Any]
) -> request_spec.BuiltRequest:
    """The token (or refresh) request of an auth version, rendered for one call."""
    secret_values = _secret_field_values(auth_version, context.get("fields", {}))
    return request_spec.build_request(auth_version, kind, context, secret_values=secret_values)


def tokens_from_response(
    auth_version: AuthVersion, response: http_client.ProviderResponse
) -> TokenSet:
    """Parse a token endpoint's answer into a TokenSet, or raise its classified error."""
    # Raises with secrets redacted from the provider's message (some echo the code back).
    http_client.raise_for_token_error(response)
    tokens = token_response.parse_token_response(
        status=response.status,
        content_type=_content_type(response),
        body=response.content,
        mapping=auth_version.token_response or {},
        default_expires_in=auth_version.default_expires_in,
        now=timezone.now(),
    )
    if not tokens.scopes:
        tokens = replace(tokens, scopes=list(auth_version.scopes or []))
    return tokens


def _token_call(auth_version: AuthVersion, kind: str, context: Mapping[str, Any]) -> TokenSet:
    """Send a token (or refresh) request exactly once and parse the answer into a TokenSet."""
    response = http_client.send(build_token_request(auth_version, kind, context))
    return tokens_from_response(auth_version, response)


def _allowed_urls(auth_version: AuthVersion, context: Mapping[str, Any]) -> list[str]:
    return [str(url) for url in templating.render_value(list(auth_version.allowed_urls), context)]


def _test_call(auth_version: AuthVersion, context: Mapping[str, Any]) -> Any:
    """Call the test API (within allowed_urls) and return the provider's response."""
    secret_values = _secret_field_values(auth_version, context.get("fields", {}))
    built = request_spec.build_request(auth_version, "test", context, secret_values=secret_values)
    return http_client.send(built, allowed_urls=_allowed_urls(auth_version, context))


def provider_error(response: Any, what: str) -> ProviderError:
    """A ProviderError for a failed API answer, carrying the provider's own error text."""
    parsed = token_response.parse_body(_content_type(response), response.content or b"")
    error = token_response.classify_error_response(response.status, parsed)
    detail = http_client.redact(error.error_description or error.error or "", response.secrets)
    message = f"{what} answered HTTP {response.status}"
    return ProviderError(
        f"{message}: {detail}" if detail else f"{message}.",
        status=response.status,
        error=error.error,
        error_description=detail or None,
    )


def _test_error(response: Any) -> ProviderError:
    return provider_error(response, "The test API")


def _me_from(response: Any) -> Any:
    """The test API's JSON body, or a clear error when it is not JSON."""
    try:
        return json.loads(response.content or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderError(
            "The test API did not answer with JSON.", status=response.status
        ) from exc


def _identify(auth_version: AuthVersion, context: Mapping[str, Any]) -> Identity:
    """Call the test API with a new token and render the label and unique identifier."""
    response = _test_call(auth_version, context)
    if response.status >= 400:
        raise _test_error(response)
    me = _me_from(response)
    ctx = {**context, "me": me}
    label = templating.render(auth_version.connection_label or "", ctx).strip()
    identifier = templating.render(auth_version.unique_identifier or "", ctx).strip()
    if not identifier:
        raise TemplateError(
            "The unique identifier is empty: check the plugin's unique_identifier template.",
            path="unique_identifier",
        )
    return Identity(
        me=me, label=(label or identifier)[:MAX_LABEL_LENGTH], unique_identifier=identifier
    )


# Token bookkeeping


def _next_refresh_at(
    auth_version: AuthVersion, *, expires_at: datetime | None, has_refresh_token: bool
) -> datetime | None:
    """When to refresh: before expiry, and at least every keepalive_seconds while a refresh token exists.

    Some providers expire refresh tokens that go unused, so a long-lived (or non-expiring) access
    token must not let its refresh token die. No expiry and no refresh token: never on a timer.
    """
    candidates = []
    if expires_at is not None:
        candidates.append(expires_at - timedelta(seconds=auth_version.refresh_lead_seconds))
    if has_refresh_token and auth_version.keepalive_seconds:
        candidates.append(timezone.now() + timedelta(seconds=auth_version.keepalive_seconds))
    return min(candidates) if candidates else None


def _stored_field_values(
    auth_version: AuthVersion, field_values: Mapping[str, Any], *, has_refresh_token: bool
) -> dict[str, Any]:
    """Field values worth keeping: a password only while it is needed to get new tokens."""
    values = dict(field_values)
    refreshable = has_refresh_token and bool(auth_version.refresh_request)
    if auth_version.grant_type == GrantType.PASSWORD and refreshable:
        values.pop("password", None)
    return values


def _apply_tokens(connection: Connection, tokens: TokenSet, *, keep_refresh_token: bool) -> None:
    refresh_token = tokens.refresh_token
    if not refresh_token and keep_refresh_token:
        refresh_token = connection.refresh_token
    connection.access_token = tokens.access_token
    connection.refresh_token = refresh_token or None
    connection.token_response = tokens.raw or {}
    connection.token_type = tokens.token_type or "Bearer"
    connection.granted_scopes = list(tokens.scopes or [])
    connection.expires_at = tokens.expires_at
    connection.next_refresh_at = _next_refresh_at(
        connection.auth_version,
        expires_at=tokens.expires_at,
        has_refresh_token=bool(refresh_token),
    )


# Events


def record_event(
    *,
    tenant_id: Any,
    connection_id: Any,
    kind: str,
    detail: Mapping[str, Any] | None = None,
    tenant: Tenant | None = None,
) -> ConnectionEvent:
    """Append to a connection's audit log (detail must hold no secrets).

    Pass `tenant` when it is already loaded: the webhook listener reads it without a query.
    """
    event = ConnectionEvent.objects.create(
        connection_id=connection_id,
        connection_ref=connection_id,
        **({"tenant": tenant} if tenant is not None else {"tenant_id": tenant_id}),
        kind=kind,
        detail=dict(detail or {}),
    )
    logger.info("connection %s: %s", connection_id, kind)
    return event


def _event(connection: Connection, kind: str, **detail: Any) -> ConnectionEvent:
    return record_event(
        tenant_id=connection.tenant_id,
        connection_id=connection.id,
        kind=kind,
        detail=detail,
        tenant=connection.tenant if Connection.tenant.is_cached(connection) else None,
    )


def error_detail(exc: BaseException) -> dict[str, Any]:
    """Non-secret facts about a failure for an event."""
    detail: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, ProviderError):
        detail.update(
            {
                key: value
                for key, value in {
                    "status": exc.status,
                    "provider_error": exc.error,
                    "provider_error_description": exc.error_description,
                }.items()
                if value is not None
            }
        )
    return detail


# Connect


def _locked_connection(**lookup: Any) -> Connection | None:
    """The existing connection for this account, row-locked until the transaction ends."""
    return Connection.objects.select_for_update().filter(**lookup).first()


def _upsert(
    *,
    tenant: Tenant,
    auth_version: AuthVersion,
    identity: Identity,
    tokens: TokenSet,
    field_values: Mapping[str, Any],
    created_by: AbstractBaseUser | None,
    external_user_id: str,
) -> Connection:
    """Create the connection, or update the one for the same account (row locked, no duplicates)."""
    lookup = {
        "tenant": tenant,
        "plugin_id": auth_version.plugin_id,
        "unique_identifier": identity.unique_identifier,
    }
    stored_fields = _stored_field_values(
        auth_version, field_values, has_refresh_token=bool(tokens.refresh_token)
    )
    now = timezone.now()
    with transaction.atomic():
        connection = _locked_connection(**lookup)
        created = False
        if connection is None:
            connection = Connection(
                **lookup,
                auth_version=auth_version,
                created_by=created_by if getattr(created_by, "pk", None) else None,
                external_user_id=external_user_id,
            )
            _fill(connection, auth_version, identity, tokens, stored_fields, now)
            try:
                with transaction.atomic():
                    connection.save(force_insert=True)
                created = True
            except IntegrityError:
                # Another request connected the same account first: update that row instead.
                connection = Connection.objects.select_for_update().get(**lookup)
        if not created:
            connection.auth_version = auth_version
            if external_user_id:
                connection.external_user_id = external_user_id
            _fill(connection, auth_version, identity, tokens, stored_fields, now)
            connection.save()
        _event(
            connection,
            EventKind.CREATED if created else EventKind.RECONNECTED,
            auth_version=auth_version.version,
            grant_type=auth_version.grant_type,
            scopes=connection.granted_scopes,
        )
    return connection


def _fill(
    connection: Connection,
    auth_version: AuthVersion,
    identity: Identity,
    tokens: TokenSet,
    field_values: dict[str, Any],
    now: datetime,
) -> None:
    connection.auth_version = auth_version
    connection.label = identity.label
    connection.me = identity.me if isinstance(identity.me, dict) else {"data": identity.me}
    connection.field_values = field_values
    connection.status = ConnectionStatus.ACTIVE
    connection.failure_count = 0
    connection.last_error = ""
    connection.last_tested_at = now
    _apply_tokens(connection, tokens, keep_refresh_token=False)


def _finish_connect(
    *,
    tenant: Tenant,
    auth_version: AuthVersion,
    tokens: TokenSet,
    field_values: Mapping[str, Any],
    created_by: AbstractBaseUser | None,
    external_user_id: str,
    reconnect: Connection | None,
) -> Connection:
    context = template_context(
        auth_version,
        field_values=field_values,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token=tokens.raw,
    )
    identity = _identify(auth_version, context)
    if reconnect is not None and reconnect.unique_identifier != identity.unique_identifier:
        raise ConnectError(
            f"You signed in as {identity.label}, but this connection is for {reconnect.label}. "
            "Sign in with that account, or connect the other account as a new connection."
        )
    connection = _upsert(
        tenant=tenant,
        auth_version=auth_version,
        identity=identity,
        tokens=tokens,
        field_values=field_values,
        created_by=created_by,
        external_user_id=external_user_id,
    )
    logger.info(
        "connected %s account for tenant %s as connection %s",
        auth_version.plugin.slug,
        tenant.pk,
        connection.pk,
    )
    return connection


def _connect_failed(reconnect: Connection | None, exc: BaseException) -> None:
    """Record a failed connect on the connection being reconnected (nothing else changes)."""
    if reconnect is not None:
        _event(reconnect, EventKind.RECONNECT_FAILED, **error_detail(exc))
    logger.info("connect failed: %s", type(exc).__name__)


def _check_version(auth_version: AuthVersion, grant_type: str) -> None:
    if not auth_version.is_published:
        raise ConfigurationError(f"{auth_version} is not published: it cannot be connected.")
    if auth_version.grant_type != grant_type:
        raise ConfigurationError(f"{auth_version} does not use the {grant_type} grant.")


def connect_with_code(
    *,
    tenant: Tenant,
    auth_version: AuthVersion,
    code: str,
    redirect_uri: str,
    code_verifier: str | None = None,
    field_values: Mapping[str, Any] | None = None,
    created_by: AbstractBaseUser | None = None,
    external_user_id: str = "",
    reconnect: Connection | None = None,
) -> Connection:
    """Exchange an authorization code once, test the token, and create or update the connection."""
    field_values = dict(field_values or {})
    try:
        if auth_version.grant_type != GrantType.AUTHORIZATION_CODE:
            raise ConfigurationError(f"{auth_version} does not use the authorization code grant.")
        context = template_context(
            auth_version,
            field_values=field_values,
            code=code,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
        )
        tokens = _token_call(auth_version, "token", context)
        return _finish_connect(
            tenant=tenant,
            auth_version=auth_version,
            tokens=tokens,
            field_values=field_values,
            created_by=created_by,
            external_user_id=external_user_id,
            reconnect=reconnect,
        )
    except PlugsmithError as exc:
        _connect_failed(reconnect, exc)
        raise


def _connect_with_grant(
    *,
    grant_type: str,
    tenant: Tenant,
    auth_version: AuthVersion,
    field_values: Mapping[str, Any],
    created_by: AbstractBaseUser | None,
    external_user_id: str,
    reconnect: Connection | None,
) -> Connection:
    field_values = dict(field_values)
    try:
        _check_version(auth_version, grant_type)
        tokens = _token_call(
            auth_version, "token", template_context(auth_version, field_values=field_values)
        )
        return _finish_connect(
            tenant=tenant,
            auth_version=auth_version,
            tokens=tokens,
            field_values=field_values,
            created_by=created_by,
            external_user_id=external_user_id,
            reconnect=reconnect,
        )
    except PlugsmithError as exc:
        _connect_failed(reconnect, exc)
        raise


def connect_with_client_credentials(
    *,
    tenant: Tenant,
    auth_version: AuthVersion,
    field_values: Mapping[str, Any],
    created_by: AbstractBaseUser | None = None,
    external_user_id: str = "",
    reconnect: Connection | None = None,
) -> Connection:
    """Get a client-credentials token, test it, and create or update the connection."""
    return _connect_with_grant(
        grant_type=GrantType.CLIENT_CREDENTIALS,
        tenant=tenant,
        auth_version=auth_version,
        field_values=field_values,
        created_by=created_by,
        external_user_id=external_user_id,
        reconnect=reconnect,
    )


def connect_with_password(
    *,
    tenant: Tenant,
    auth_version: AuthVersion,
    field_values: Mapping[str, Any],
    created_by: AbstractBaseUser | None = None,
    external_user_id: str = "",
    reconnect: Connection | None = None,
) -> Connection:
    """Exchange a username and password for a token, test it, and create or update the connection."""
    return _connect_with_grant(
        grant_type=GrantType.PASSWORD,
        tenant=tenant,
        auth_version=auth_version,
        field_values=field_values,
        created_by=created_by,
        external_user_id=external_user_id,
        reconnect=reconnect,
    )


# Refresh, test, disconnect


def can_refresh(connection: Connection) -> bool:
    """True when a new token can be had without the user (refresh token or a repeatable grant)."""
    auth_version = connection.auth_version
    if connection.refresh_token and auth_version.refresh_request:
        return True
    return auth_version.grant_type in (GrantType.CLIENT_CREDENTIALS, GrantType.PASSWORD) and bool(
        auth_version.token_request
    )


REFRESHED_FIELDS = [
    "access_token",
    "refresh_token",
    "token_response",
    "token_type",
    "granted_scopes",
    "expires_at",
    "next_refresh_at",
    "field_values",
    "last_refreshed_at",
    "status",
    "failure_count",
    "last_error",
    "updated_at",
]


def refresh_request(connection: Connection) -> request_spec.BuiltRequest:
    """The request that gets a connection a new access token (no provider call is made).

    The refresh request when there is a refresh token; client credentials and password connections
    without one repeat their token request. InvalidGrant when the user must connect again.
    """
    auth_version = connection.auth_version
    if connection.refresh_token and auth_version.refresh_request:
        return build_token_request(auth_version, "refresh", _connection_context(connection))
    if auth_version.grant_type in (GrantType.CLIENT_CREDENTIALS, GrantType.PASSWORD):
        if auth_version.grant_type == GrantType.PASSWORD and not (
            connection.field_values or {}
        ).get("password"):
            raise InvalidGrant("The password is not stored: connect the account again.")
        context = template_context(auth_version, field_values=connection.field_values or {})
        return build_token_request(auth_version, "token", context)
    raise InvalidGrant(
        "The provider gave no refresh token: connect the account again to get a new token."
    )


def apply_refreshed_tokens(connection: Connection, tokens: TokenSet) -> None:
    """Set a refresh's result on the connection in memory (see store_refreshed to save it)."""
    _apply_tokens(connection, tokens, keep_refresh_token=True)
    connection.field_values = _stored_field_values(
        connection.auth_version,
        connection.field_values or {},
        has_refresh_token=bool(connection.refresh_token),
    )
    connection.last_refreshed_at = timezone.now()
    connection.status = ConnectionStatus.ACTIVE
    connection.failure_count = 0
    connection.last_error = ""


def _refreshed_event(connection: Connection, tokens: TokenSet) -> ConnectionEvent:
    # The loaded tenant when there is one: the webhook listener reads it without a query.
    tenant = connection.tenant if Connection.tenant.is_cached(connection) else None
    return ConnectionEvent(
        connection=connection,
        connection_ref=connection.id,
        **({"tenant": tenant} if tenant is not None else {"tenant_id": connection.tenant_id}),
        kind=EventKind.REFRESHED,
        detail={
            "expires_at": connection.expires_at.isoformat() if connection.expires_at else None,
            "rotated": bool(tokens.refresh_token),
        },
    )


def store_refreshed(refreshed: list[tuple[Connection, TokenSet]]) -> None:
    """Save many refreshed connections and their `refreshed` events: one UPDATE and one INSERT.

    Each event still goes through post_save (webhook deliveries), as record_event's do.
    """
    if not refreshed:
        return
    now = timezone.now()
    for connection, _tokens in refreshed:
        connection.updated_at = now
    bulk_update_by_pk([connection for connection, _tokens in refreshed], REFRESHED_FIELDS)
    events = ConnectionEvent.objects.bulk_create(
        [_refreshed_event(connection, tokens) for connection, tokens in refreshed]
    )
    for event in events:
        post_save.send(
            sender=ConnectionEvent, instance=event, created=True, update_fields=None,
            raw=False, using=event._state.db,
        )  # fmt: skip
    if logger.isEnabledFor(logging.INFO):
        for event in events:
            logger.info("connection %s: %s", event.connection_ref, event.kind)


def refresh_tokens(connection: Connection) -> Connection:
    """Get a new access token for a connection (locked by the caller) and store it.

    Raises the provider's error and leaves the connection unchanged on failure (the caller
    records it).
    """
    response = http_client.send(refresh_request(connection))
    tokens = tokens_from_response(connection.auth_version, response)
    apply_refreshed_tokens(connection, tokens)
    store_refreshed([(connection, tokens)])
    return connection


def _refresh_locked(connection: Connection) -> Connection:
    with locked_connection(connection.pk) as locked:
        return refresh_tokens(locked)


def _mark_needs_reauth(connection: Connection, exc: BaseException) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.NEEDS_REAUTH, last_error=str(exc)[:2000], updated_at=timezone.now()
    )
    connection.status = ConnectionStatus.NEEDS_REAUTH
    connection.last_error = str(exc)[:2000]
    _event(connection, EventKind.NEEDS_REAUTH, **error_detail(exc))


def _record_test_failure(connection: Connection, exc: BaseException) -> None:
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        last_error=str(exc)[:2000], last_tested_at=now, updated_at=now
    )
    connection.last_error = str(exc)[:2000]
    connection.last_tested_at = now
    _event(connection, EventKind.TEST_FAILED, **error_detail(exc))


def test_connection(*, connection: Connection) -> Connection:
    """Call the test API; on an expired-token status refresh once, then mark needs_reauth if still so."""
    if connection.status == ConnectionStatus.REVOKED or not connection.access_token:
        raise ConnectError("This connection is disconnected: connect the account again.")
    auth_version = connection.auth_version
    expired_statuses = {int(status) for status in auth_version.expired_token_statuses or []}
    try:
        response = _test_call(auth_version, _connection_context(connection))
        if response.status in expired_statuses and can_refresh(connection):
            try:
                refreshed = _refresh_locked(connection)
            except InvalidGrant as exc:
                _event(connection, EventKind.REFRESH_FAILED, **error_detail(exc))
                _mark_needs_reauth(connection, exc)
                raise
            except PlugsmithError as exc:
                _event(connection, EventKind.REFRESH_FAILED, **error_detail(exc))
                raise
            connection.refresh_from_db()
            connection.auth_version = refreshed.auth_version
            response = _test_call(auth_version, _connection_context(connection))
        if response.status in expired_statuses:
            exc = _test_error(response)
            _mark_needs_reauth(connection, exc)
            raise exc
        if response.status >= 400:
            raise _test_error(response)
        me = _me_from(response)
        label = templating.render(
            auth_version.connection_label or "", _connection_context(connection, me=me)
        ).strip()
    except PlugsmithError as exc:
        if connection.status != ConnectionStatus.NEEDS_REAUTH:
            _record_test_failure(connection, exc)
        raise
    connection.me = me if isinstance(me, dict) else {"data": me}
    connection.label = (label or connection.unique_identifier)[:MAX_LABEL_LENGTH]
    connection.last_tested_at = timezone.now()
    connection.last_error = ""
    connection.status = ConnectionStatus.ACTIVE
    connection.save(
        update_fields=["me", "label", "last_tested_at", "last_error", "status", "updated_at"]
    )
    _event(connection, EventKind.TESTED, status=response.status)
    return connection


def revoke_requests(connection: Connection) -> list[Any]:
    """The revoke calls to make: the refresh token, then the access token (deduplicated)."""
    built = []
    if connection.refresh_token:
        built.append(
            request_spec.build_request(
                connection.auth_version, "revoke", _connection_context(connection)
            )
        )
    if connection.access_token:
        built.append(
            request_spec.build_request(
                connection.auth_version,
                "revoke",
                _connection_context(connection, refresh_token=None),
            )
        )
    unique: dict[tuple[str, str, bytes | None], Any] = {}
    for request in built:
        unique.setdefault((request.method, request.url, request.body), request)
    return list(unique.values())


def revoke_tokens(connection: Connection) -> bool:
    """Revoke the connection's tokens at the provider, best effort; True when every call worked."""
    if not connection.auth_version.revoke_request:
        return False
    try:
        requests = revoke_requests(connection)
    except PlugsmithError as exc:
        _event(connection, EventKind.REVOKE_FAILED, **error_detail(exc))
        return False
    ok = bool(requests)
    for built in requests:
        try:
            response = http_client.send(built)
            if response.status >= 400:
                raise _revoke_error(response)
        except PlugsmithError as exc:
            ok = False
            _event(connection, EventKind.REVOKE_FAILED, **error_detail(exc))
    return ok


def _revoke_error(response: Any) -> ProviderError:
    return provider_error(response, "The revoke endpoint")


def disconnect(*, connection: Connection) -> Connection:
    """Revoke at the provider (best effort, never blocking), then mark revoked and drop the tokens."""
    revoked_at_provider = revoke_tokens(connection)
    secret_keys = {f.key for f in connection.auth_version.fields.all() if f.secret}
    secret_keys |= {"password", "client_secret"}
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        connection.status = ConnectionStatus.REVOKED
        connection.access_token = None
        connection.refresh_token = None
        connection.token_response = {}
        connection.expires_at = None
        connection.next_refresh_at = None
        connection.field_values = {
            key: value
            for key, value in (connection.field_values or {}).items()
            if key not in secret_keys
        }
        connection.save()
        _event(connection, EventKind.REVOKED, revoked_at_provider=revoked_at_provider)
    return connection
