"""Request specs (token, refresh, revoke, test) and the pure functions that turn them into requests.

A spec is `{method, url, headers, query, body, body_format: form|json, client_auth: body|basic|none}`
or a bare URL string. The RFC parameters of each call are filled in unless the spec sets the same
key; a key set to null (None) removes the default (e.g. `token_type_hint: null`, `Accept: null`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets as secrets_module
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from apps.plugins import templating
from apps.plugins.errors import ConfigurationError

__all__ = [
    "BuiltRequest",
    "RequestSpec",
    "build_authorization_url",
    "build_request",
    "effective_client",
    "mask_secrets",
    "normalize_spec",
    "pkce_pair",
    "validate_spec",
]

KINDS = ("token", "refresh", "revoke", "test")
GRANT_TYPES = ("authorization_code", "client_credentials", "password")
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
BODY_FORMATS = ("form", "json")
CLIENT_AUTH_MODES = ("body", "basic", "none")
SPEC_KEYS = frozenset({"method", "url", "headers", "query", "body", "body_format", "client_auth"})
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
MASK = "••••"
# Parameters the authorization request owns: authorization_params must not replace them.
_PROTECTED_AUTHORIZATION_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
    }
)


class AuthLike(Protocol):
    """The attributes of an auth version that building requests reads."""

    grant_type: str
    client_id: str | None
    client_secret: str | None
    scopes: list[str]
    scope_separator: str
    pkce: bool


@dataclass(frozen=True)
class RequestSpec:
    """A validated request spec; values are still templates."""

    url: str
    method: str = "POST"
    headers: Mapping[str, Any] = field(default_factory=dict)
    query: Mapping[str, Any] = field(default_factory=dict)
    body: Mapping[str, Any] = field(default_factory=dict)
    body_format: str = "form"
    client_auth: str = "body"


@dataclass(frozen=True)
class BuiltRequest:
    """A rendered request ready for http_client.send(); `secrets` lists what must never be shown."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    body: bytes | None = field(default=None, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def masked(self) -> BuiltRequest:
        """A copy with every secret replaced by `••••` and its last 4 characters (admin preview)."""
        body = None
        if self.body is not None:
            body = mask_secrets(self.body.decode("utf-8", "replace"), self.secrets).encode()
        return replace(
            self,
            url=mask_secrets(self.url, self.secrets),
            headers={
                name: mask_secrets(value, self.secrets) for name, value in self.headers.items()
            },
            body=body,
            secrets=(),
        )

    def __repr__(self) -> str:
        return f"BuiltRequest({self.method} {mask_secrets(self.url, self.secrets, keep_last=0)})"


def normalize_spec(raw: str | Mapping[str, Any] | None, *, kind: str = "token") -> RequestSpec:
    """Validate a raw spec (URL string or dict) and fill the defaults of its kind."""
    if kind not in KINDS:
        raise ConfigurationError(
            f"Unknown request kind {kind!r}: expected one of {', '.join(KINDS)}"
        )
    default_method = "GET" if kind == "test" else "POST"
    default_client_auth = "none" if kind == "test" else "body"
    if isinstance(raw, str):
        if not raw.strip():
            raise ConfigurationError(f"{kind}_request: url is required")
        return RequestSpec(url=raw.strip(), method=default_method, client_auth=default_client_auth)
    if not raw:
        raise ConfigurationError(f"{kind}_request is not configured")
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{kind}_request must be a URL or a mapping")
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise ConfigurationError(
            f"{kind}_request: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(SPEC_KEYS))})"
        )
    url = raw.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(f"{kind}_request: url is required")
    method = str(raw.get("method") or default_method).upper()
    if method not in METHODS:
        raise ConfigurationError(
            f"{kind}_request: method {method!r} is not one of {', '.join(sorted(METHODS))}"
        )
    body_format = raw.get("body_format") or "form"
    if body_format not in BODY_FORMATS:
        raise ConfigurationError(
            f"{kind}_request: body_format {body_format!r} is not one of {', '.join(BODY_FORMATS)}"
        )
    client_auth = raw.get("client_auth") or default_client_auth
    if client_auth not in CLIENT_AUTH_MODES:
        raise ConfigurationError(
            f"{kind}_request: client_auth {client_auth!r} is not one of "
            f"{', '.join(CLIENT_AUTH_MODES)}"
        )
    sections = {}
    for key in ("headers", "query", "body"):
        value = raw.get(key) or {}
        if not isinstance(value, Mapping):
            raise ConfigurationError(f"{kind}_request: {key} must be a mapping")
        sections[key] = dict(value)
    for key in ("headers", "query"):
        for name, value in sections[key].items():
            if isinstance(value, Mapping | list):
                raise ConfigurationError(f"{kind}_request: {key}.{name} must be a single value")
    return RequestSpec(
        url=url.strip(),
        method=method,
        body_format=body_format,
        client_auth=client_auth,
        **sections,
    )


def validate_spec(
    raw: str | Mapping[str, Any] | None, *, kind: str, field_keys: Iterable[str] = ()
) -> RequestSpec:
    """normalize_spec() plus template validation of every value (for the admin form)."""
    spec = normalize_spec(raw, kind=kind)
    keys = tuple(field_keys)
    for value in (spec.url, spec.headers, spec.query, spec.body):
        templating.validate_value(value, field_keys=keys)
    return spec


def effective_client(
    auth: AuthLike, fields: Mapping[str, Any] | None
) -> tuple[str | None, str | None]:
    """Client id and secret: a tenant's client_id/client_secret fields win outside the code flow."""
    client_id, client_secret = auth.client_id or None, auth.client_secret or None
    if auth.grant_type != "authorization_code" and fields:
        client_id = fields.get("client_id") or client_id
        client_secret = fields.get("client_secret") or client_secret
    return client_id, client_secret


def build_request(
    auth: Any,
    kind: str,
    context: Mapping[str, Any],
    *,
    secret_values: Iterable[str] = (),
) -> BuiltRequest:
    """Render the auth version's spec of `kind` with the RFC defaults into a BuiltRequest.

    `secret_values` names extra secrets (e.g. values of fields marked secret) to redact.
    """
    if kind not in KINDS:
        raise ConfigurationError(
            f"Unknown request kind {kind!r}: expected one of {', '.join(KINDS)}"
        )
    if auth.grant_type not in GRANT_TYPES:
        raise ConfigurationError(f"Unknown grant_type {auth.grant_type!r}")
    spec = normalize_spec(getattr(auth, f"{kind}_request", None), kind=kind)
    ctx = _effective_context(auth, context)
    client = ctx.get("client", {})

    body_defaults = _rfc_params(auth, kind, ctx)
    header_defaults: dict[str, Any] = {"Accept": JSON_CONTENT_TYPE}
    if kind == "test":
        header_defaults["Authorization"] = "Bearer {{ access_token }}"
    basic_credential = None
    if spec.client_auth == "body" or (spec.client_auth == "none" and kind in ("token", "refresh")):
        body_defaults["client_id"] = "{{ client.id }}"
        if spec.client_auth == "body" and client.get("secret"):
            body_defaults["client_secret"] = "{{ client.secret }}"
    elif spec.client_auth == "basic":
        if not client.get("id") or not client.get("secret"):
            raise ConfigurationError(
                f"{kind}_request: client_auth basic needs a client id and a client secret"
            )
        basic_credential = _basic_credential(client["id"], client["secret"])
        header_defaults["Authorization"] = f"Basic {basic_credential}"

    body = templating.render_value(_merge(body_defaults, spec.body), ctx)
    if kind == "revoke":
        _align_token_type_hint(body, spec.body, ctx)
    headers = templating.render_value(_merge_headers(header_defaults, spec.headers), ctx)
    query = templating.render_value(_merge({}, spec.query), ctx)
    url = _with_query(templating.render(spec.url, ctx), query, removed=_nulls(spec.query))

    content = _encode_body(body, spec.body_format, kind)
    if content is not None and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = (
            FORM_CONTENT_TYPE if spec.body_format == "form" else JSON_CONTENT_TYPE
        )
    headers = {name: _scalar_text(value) for name, value in headers.items()}

    fields = ctx.get("fields", {})
    secret_candidates = [
        client.get("secret"),
        ctx.get("access_token"),
        ctx.get("refresh_token"),
        ctx.get("code"),
        ctx.get("code_verifier"),
        fields.get("password"),
        fields.get("client_secret"),
        basic_credential,
        *secret_values,
    ]
    return BuiltRequest(
        method=spec.method,
        url=url,
        headers=headers,
        body=content,
        secrets=_secret_variants(secret_candidates),
    )


def build_authorization_url(
    auth: Any,
    *,
    redirect_uri: str,
    state: str,
    code_challenge: str | None = None,
    context: Mapping[str, Any],
) -> str:
    """The provider's authorization URL with response_type=code, client_id, scope, state and PKCE."""
    template = getattr(auth, "authorization_url", None)
    if not template:
        raise ConfigurationError("authorization_url is not configured")
    if not auth.client_id:
        raise ConfigurationError("client_id is not configured")
    ctx = _effective_context(auth, context)
    params: dict[str, Any] = {
        "response_type": "code",
        "client_id": auth.client_id,
        "redirect_uri": redirect_uri,
    }
    if auth.scopes:
        params["scope"] = _scope_text(auth)
    params["state"] = state
    if code_challenge:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    extra = getattr(auth, "authorization_params", None) or {}
    protected = sorted(_PROTECTED_AUTHORIZATION_PARAMS & set(extra))
    if protected:
        raise ConfigurationError(
            f"authorization_params may not set {protected[0]!r}: Plugsmith sends it itself"
        )
    params = _merge(params, templating.render_value(extra, ctx))
    return _with_query(templating.render(template, ctx), params, removed=_nulls(extra))


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE (code_verifier, S256 code_challenge) pair (RFC 7636)."""
    verifier = secrets_module.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def mask_secrets(text: str, secrets: Iterable[str], *, keep_last: int = 4) -> str:
    """Replace every secret in `text` with `••••` plus its last `keep_last` characters."""
    pattern = _secret_pattern(tuple(secrets))
    if pattern is None or not text:
        return text

    def masked(match: re.Match[str]) -> str:
        value = match.group(0)
        # Short secrets are hidden entirely: their last 4 characters would be most of them.
        if keep_last and len(value) >= 3 * keep_last:
            return MASK + value[-keep_last:]
        return MASK

    return pattern.sub(masked, text)


@lru_cache(maxsize=512)
def _secret_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    values = sorted({value for value in secrets if value}, key=len, reverse=True)
    if not values:
        return None
    return re.compile("|".join(re.escape(value) for value in values))


def _secret_variants(candidates: Iterable[Any]) -> tuple[str, ...]:
    """Each secret plus the encoded forms it takes in a URL, form or JSON body."""
    found: dict[str, None] = {}
    for candidate in candidates:
        if not candidate or not isinstance(candidate, str):
            continue
        for variant in (
            candidate,
            quote_plus(candidate),
            quote(candidate, safe=""),
            json.dumps(candidate)[1:-1],
        ):
            found[variant] = None
    return tuple(found)


def _effective_context(auth: Any, context: Mapping[str, Any]) -> dict[str, Any]:
    ctx = dict(context)
    client_id, client_secret = effective_client(auth, ctx.get("fields"))
    client = {
        key: value for key, value in {"id": client_id, "secret": client_secret}.items() if value
    }
    ctx["client"] = {**ctx.get("client", {}), **client}
    if "scopes" not in ctx and auth.scopes:
        ctx["scopes"] = _scope_text(auth)
    ctx.setdefault("fields", {})
    return ctx


def _scope_text(auth: Any) -> str:
    return (getattr(auth, "scope_separator", None) or " ").join(auth.scopes)


def _rfc_params(auth: Any, kind: str, ctx: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters RFC 6749 / 7009 define for this call, as templates over the context."""
    if kind == "token":
        if auth.grant_type == "authorization_code":
            params = {
                "grant_type": "authorization_code",
                "code": "{{ code }}",
                "redirect_uri": "{{ redirect_uri }}",
            }
            if auth.pkce:
                params["code_verifier"] = "{{ code_verifier }}"
            return params
        params = {"grant_type": auth.grant_type}
        if auth.grant_type == "password":
            params["username"] = "{{ fields.username }}"
            params["password"] = "{{ fields.password }}"
        if auth.scopes:
            params["scope"] = "{{ scopes }}"
        return params
    if kind == "refresh":
        return {"grant_type": "refresh_token", "refresh_token": "{{ refresh_token }}"}
    if kind == "revoke":
        # RFC 7009: revoking the refresh token also ends its access tokens, so prefer it.
        hint = "refresh_token" if ctx.get("refresh_token") else "access_token"
        return {"token": "{{ " + hint + " }}", "token_type_hint": hint}
    return {}


def _align_token_type_hint(
    body: dict[str, Any], spec_body: Mapping[str, Any], ctx: Mapping[str, Any]
) -> None:
    """Keep token_type_hint true to the token actually sent when the spec only changed the token."""
    if "token_type_hint" in spec_body:
        return
    token = body.get("token")
    if token is None:
        body.pop("token_type_hint", None)
    elif ctx.get("refresh_token") and token == ctx.get("refresh_token"):
        body["token_type_hint"] = "refresh_token"
    elif ctx.get("access_token") and token == ctx.get("access_token"):
        body["token_type_hint"] = "access_token"
    else:
        body.pop("token_type_hint", None)


def _merge(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _merge_headers(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    for name, value in overrides.items():
        for existing in [key for key in merged if key.lower() == name.lower()]:
            del merged[existing]
        if value is not None:
            merged[name] = value
    return merged


def _nulls(mapping: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(key for key, value in mapping.items() if value is None)


def _with_query(
    url: str, params: Mapping[str, Any], *, removed: frozenset[str] = frozenset()
) -> str:
    """Merge params onto the URL's own query; params replace same-named keys, None removes."""
    if not params and not removed:
        return url
    parts = urlsplit(url)
    replaced = set(params) | removed
    pairs = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in replaced
    ]
    for key, value in params.items():
        if isinstance(value, list | tuple):
            pairs.extend((key, _scalar_text(item)) for item in value)
        else:
            pairs.append((key, _scalar_text(value)))
    return urlunsplit(parts._replace(query=urlencode(pairs, quote_via=quote)))


def _encode_body(body: Mapping[str, Any], body_format: str, kind: str) -> bytes | None:
    if not body:
        return None
    if body_format == "json":
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    pairs = []
    for key, value in body.items():
        if isinstance(value, Mapping):
            raise ConfigurationError(
                f"{kind}_request: body.{key} is nested, which a form body cannot carry "
                "(use body_format: json)"
            )
        if isinstance(value, list | tuple):
            pairs.extend((key, _scalar_text(item)) for item in value)
        else:
            pairs.append((key, _scalar_text(value)))
    return urlencode(pairs).encode("ascii")


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _basic_credential(client_id: str, client_secret: str) -> str:
    """RFC 6749 2.3.1: form-urlencode id and secret before joining them for HTTP Basic."""
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return base64.b64encode(raw.encode()).decode("ascii")
