"""Whole-config validation of an auth version: at save (templates, types) and at publish (completeness)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from apps.plugins import templating
from apps.plugins.errors import ConfigurationError, TemplateError
from apps.plugins.models import AuthVersion, FieldType, GrantType, ScopeSeparator
from apps.plugins.request_spec import normalize_spec

REQUEST_FIELDS = ("token_request", "refresh_request", "revoke_request", "test_request")
TOKEN_RESPONSE_KEYS = {
    "access_token",
    "refresh_token",
    "expires_in",
    "expires_at",
    "token_type",
    "scope",
}
REQUEST_PARAM_KEYS = {"headers", "query", "body"}
FIELD_KEY_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
_TEMPLATE_START = ("{{", "${")

Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def check_url(value: str) -> str | None:
    """Why a configured URL (possibly a template) is not acceptable, or None when it is."""
    if value.startswith(_TEMPLATE_START):
        return (
            None  # the scheme comes from a template value; the HTTP client checks it at call time
        )
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.netloc:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme == "http" and host in LOOPBACK_HOSTS and settings.ALLOW_INSECURE_LOOPBACK:
        return None
    return f"{value!r} must be an https:// URL."


def url_covered(url: str, prefixes: Iterable[str]) -> bool:
    """True when one prefix covers `url`, on path-segment boundaries (templates compared literally)."""
    for prefix in prefixes:
        if url == prefix:
            return True
        if url.startswith(prefix) and (prefix.endswith("/") or url[len(prefix)] in "/?#"):
            return True
    return False


def _spec_url(raw: Any) -> str | None:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Mapping):
        url = raw.get("url")
        return url if isinstance(url, str) else None
    return None


def _check_template_tree(errors: Errors, field: str, value: Any, field_keys: set[str]) -> None:
    try:
        templating.validate_value(value, field_keys=field_keys)
    except TemplateError as exc:
        _add(errors, field, str(exc))


def _check_types(version: AuthVersion, errors: Errors) -> None:
    if version.grant_type not in GrantType.values:
        _add(errors, "grant_type", f"Unknown grant type {version.grant_type!r}.")
    if version.scope_separator not in ScopeSeparator.values:
        _add(errors, "scope_separator", 'Use " " (space) or "," (comma).')
    if not isinstance(version.scopes, list) or not all(
        isinstance(s, str) and s for s in version.scopes
    ):
        _add(errors, "scopes", "A list of non-empty strings.")
    if not isinstance(version.authorization_params, dict):
        _add(errors, "authorization_params", "A JSON object of parameter names to values.")
    if not isinstance(version.allowed_urls, list) or not all(
        isinstance(u, str) for u in version.allowed_urls
    ):
        _add(errors, "allowed_urls", "A list of URL prefixes.")
    else:
        for url in version.allowed_urls:
            if problem := check_url(url):
                _add(errors, "allowed_urls", problem)
    params = version.request_params
    if not isinstance(params, dict) or not set(params) <= REQUEST_PARAM_KEYS:
        _add(errors, "request_params", 'A JSON object with only "headers", "query" and "body".')
    elif not all(isinstance(part, dict) for part in params.values()):
        _add(errors, "request_params", "headers, query and body must each be a JSON object.")
    mapping = version.token_response
    if not isinstance(mapping, dict) or not set(mapping) <= TOKEN_RESPONSE_KEYS:
        _add(
            errors,
            "token_response",
            f"Keys must be among: {', '.join(sorted(TOKEN_RESPONSE_KEYS))}.",
        )
    elif not all(isinstance(path, str) and path for path in mapping.values()):
        _add(
            errors,
            "token_response",
            "Each value is a dotted path such as authed_user.access_token.",
        )
    statuses = version.expired_token_statuses
    if not isinstance(statuses, list) or not all(
        isinstance(s, int) and 400 <= s <= 599 for s in statuses
    ):
        _add(
            errors,
            "expired_token_statuses",
            "A list of HTTP error statuses, e.g. [401] or [401, 403].",
        )
    for name in REQUEST_FIELDS:
        raw = getattr(version, name)
        if raw in (None, "", {}):
            continue
        try:
            normalize_spec(raw, kind=name.removesuffix("_request"))
        except ConfigurationError as exc:
            _add(errors, name, str(exc))
            continue
        url = _spec_url(raw)
        if url and (problem := check_url(url)):
            _add(errors, name, problem)
    if version.authorization_url and (problem := check_url(version.authorization_url)):
        _add(errors, "authorization_url", problem)


def _check_templates(version: AuthVersion, errors: Errors, field_keys: set[str]) -> None:
    for name in (
        "authorization_url",
        "authorization_params",
        *REQUEST_FIELDS,
        "connection_label",
        "unique_identifier",
        "allowed_urls",
        "request_params",
    ):
        value = getattr(version, name)
        if value not in (None, "") and name not in errors:
            _check_template_tree(errors, name, value, field_keys)


def _check_complete(version: AuthVersion, errors: Errors, field_keys: set[str]) -> None:
    """What a version needs before users can connect with it."""
    tenant_supplies_client = {"client_id", "client_secret"} <= field_keys
    if version.grant_type == GrantType.AUTHORIZATION_CODE and not version.authorization_url:
        _add(errors, "authorization_url", "Required for the authorization code grant.")
    if not version.token_request:
        _add(errors, "token_request", "Required: the access token API.")
    if not version.test_request:
        _add(errors, "test_request", "Required: the test (me) API that verifies a token.")
    if not version.connection_label:
        _add(errors, "connection_label", "Required, e.g. {{ me.name }}.")
    if not version.unique_identifier:
        _add(errors, "unique_identifier", "Required, e.g. {{ me.id }}.")
    if not version.allowed_urls:
        _add(errors, "allowed_urls", "Add at least the API base URL.")
    if not tenant_supplies_client:
        if not version.client_id:
            _add(
                errors,
                "client_id",
                "Required before publishing (or add client_id/client_secret fields).",
            )
        public_client = _client_auth(version.token_request) == "none"
        if not version.client_secret and not public_client:
            _add(
                errors,
                "client_secret",
                "Required before publishing (the token request authenticates the client).",
            )
    if version.grant_type == GrantType.PASSWORD and not {"username", "password"} <= field_keys:
        _add(
            errors,
            "grant_type",
            "The password grant needs fields with the keys username and password.",
        )
    allowed = version.allowed_urls if isinstance(version.allowed_urls, list) else []
    test_url = _spec_url(version.test_request)
    if test_url and "allowed_urls" not in errors and not url_covered(test_url, allowed):
        _add(errors, "allowed_urls", f"Must cover the test API URL {test_url}.")
    base = version.plugin.api_base_url if version.plugin_id else ""
    if base and "allowed_urls" not in errors and not url_covered(base, allowed):
        _add(errors, "allowed_urls", f"Must cover the plugin's API base URL {base}.")


def validate_fields(fields: Iterable[Mapping[str, Any]]) -> Errors:
    """Check AuthField definitions (key syntax, duplicates, select choices)."""
    errors: Errors = {}
    seen: set[str] = set()
    for field in fields:
        key = field.get("key", "")
        if not FIELD_KEY_RE.match(key or ""):
            _add(errors, "fields", f"Field key {key!r}: lowercase letters, digits and _ only.")
        if key in seen:
            _add(errors, "fields", f"Field key {key!r} is used twice.")
        seen.add(key)
        if field.get("type") not in FieldType.values:
            _add(errors, "fields", f"Field {key!r}: unknown type {field.get('type')!r}.")
        if field.get("type") == FieldType.SELECT and not field.get("choices"):
            _add(errors, "fields", f"Select field {key!r} needs choices.")
    return errors


def validate_auth_version(
    version: AuthVersion, *, field_keys: Iterable[str], for_publish: bool
) -> Errors:
    """Errors by model field name; empty when valid. Drafts may be incomplete, published ones not."""
    keys = set(field_keys)
    errors: Errors = {}
    _check_types(version, errors)
    _check_templates(version, errors, keys)
    if for_publish:
        _check_complete(version, errors, keys)
    return errors


def raise_for_errors(errors: Errors) -> None:
    """Raise a field-keyed ValidationError when there are errors."""
    if errors:
        raise ValidationError(errors)


def _client_auth(raw: Any) -> str:
    if isinstance(raw, Mapping):
        return str(raw.get("client_auth") or "body")
    return "body"
