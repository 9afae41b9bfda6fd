"""Fresh credentials for a tenant's service: the access token and the rendered request params.

This is a hot path: when the token is still valid it costs no query beyond loading the connection
(with its plugin and auth version) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apps.connections.models import Connection
from apps.connections.refresh import get_fresh_credentials
from apps.connections.services import template_context
from apps.plugins import templating
from apps.plugins.errors import ConfigurationError

SECTIONS = ("headers", "query", "body")
DEFAULT_HEADERS = {"Authorization": "Bearer {{ access_token }}"}


@dataclass(frozen=True)
class Credentials:
    """What a service needs to call the provider's API itself."""

    connection: Connection
    access_token: str
    token_type: str
    expires_at: datetime | None
    request_params: dict[str, dict[str, Any]] = field(repr=False)


def connection_context(connection: Connection) -> dict[str, Any]:
    """The template context of a connection's API calls (fields, client, tokens, token, me)."""
    return template_context(
        connection.auth_version,
        field_values=connection.field_values or {},
        access_token=connection.access_token,
        refresh_token=connection.refresh_token,
        token=connection.token_response or None,
        me=connection.me or None,
    )


def _merge_headers(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Case-insensitive merge; a header set to null removes the default."""
    merged = {
        name: value
        for name, value in defaults.items()
        if name.lower() not in {key.lower() for key in overrides}
    }
    merged.update({name: value for name, value in overrides.items() if value is not None})
    return merged


def request_params_for(
    connection: Connection, *, context: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The auth version's request_params {headers, query, body} rendered for this connection.

    Headers default to `Authorization: Bearer <access token>` unless request_params sets (or nulls)
    Authorization. Header and query values are strings; body values keep their JSON types.
    """
    raw = connection.auth_version.request_params or {}
    if not isinstance(raw, Mapping):
        raise ConfigurationError("request_params must be a mapping of headers, query and body.")
    sections: dict[str, Mapping[str, Any]] = {}
    for section in SECTIONS:
        value = raw.get(section) or {}
        if not isinstance(value, Mapping):
            raise ConfigurationError(f"request_params.{section} must be a mapping.")
        sections[section] = value
    ctx = context if context is not None else connection_context(connection)
    headers = templating.render_value(_merge_headers(DEFAULT_HEADERS, sections["headers"]), ctx)
    query = templating.render_value(
        {key: value for key, value in sections["query"].items() if value is not None}, ctx
    )
    body = templating.render_value(dict(sections["body"]), ctx)
    return {
        "headers": {name: _text(value) for name, value in headers.items()},
        "query": {name: _text(value) for name, value in query.items()},
        "body": body,
    }


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def credentials_get(*, connection: Connection, min_validity: int = 60) -> Credentials:
    """A token valid for at least `min_validity` seconds (refreshed if needed) and request params."""
    connection = get_fresh_credentials(connection=connection, min_validity=min_validity)
    return Credentials(
        connection=connection,
        access_token=connection.access_token or "",
        token_type=connection.token_type or "Bearer",
        expires_at=connection.expires_at,
        request_params=request_params_for(connection),
    )
